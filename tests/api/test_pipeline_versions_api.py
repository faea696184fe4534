"""The newest pipeline API members through real boto3 against a strict ``pipelines serve``:
PipelineVersionAliases (create, move, resolve on Describe/Start/List), UpdatePipelineVersion,
RoleArn on Start and ManagedBy."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import ROLE, Served, condition_definition


def code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def wait_done(sm: Any, arn: str) -> None:
    deadline = time.monotonic() + 30
    while sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Executing":
        assert time.monotonic() < deadline
        time.sleep(0.1)


@pytest.fixture
def sm(served: Served) -> Any:
    client = served.client("sagemaker")
    client.create_pipeline(
        PipelineName="demo",
        PipelineDefinition=condition_definition(),
        RoleArn=ROLE,
        PipelineVersionAliases=["prod", "stable"],
    )
    return client


def test_aliases_name_versions_and_move(sm: Any) -> None:
    assert sm.describe_pipeline(PipelineName="demo")["PipelineVersionAliases"] == ["prod", "stable"]
    # a new version takes the aliases its update names; the others stay where they were
    updated = sm.update_pipeline(
        PipelineName="demo",
        PipelineDefinition=condition_definition(with_lambda=True),
        PipelineVersionAliases=["canary"],
    )
    assert updated["PipelineVersionId"] == 2
    described = sm.describe_pipeline(PipelineName="demo", PipelineVersionAlias="prod")
    assert described["PipelineDefinition"] == condition_definition()
    assert described["PipelineVersionAliases"] == ["prod", "stable"]
    assert sm.describe_pipeline(PipelineName="demo")["PipelineVersionAliases"] == ["canary"]

    arn = sm.describe_pipeline(PipelineName="demo")["PipelineArn"]
    sm.update_pipeline_version(
        PipelineArn=arn,
        PipelineVersionId=2,
        PipelineVersionDisplayName="two",
        PipelineVersionDescription="with the lambda",
        PipelineVersionAliasOperations={"Add": ["prod"], "Remove": ["canary"]},
    )
    versions = {
        v["PipelineVersionId"]: v
        for v in sm.list_pipeline_versions(PipelineName="demo")["PipelineVersionSummaries"]
    }
    assert versions[2]["PipelineVersionAliases"] == ["prod"]
    assert (versions[2]["PipelineVersionDisplayName"], versions[2]["PipelineVersionDescription"]) == (
        "two",
        "with the lambda",
    )
    assert versions[1]["PipelineVersionAliases"] == ["stable"]
    assert (
        sm.describe_pipeline(PipelineName="demo", PipelineVersionId=2)["PipelineVersionDisplayName"] == "two"
    )


def test_start_and_list_resolve_aliases(sm: Any) -> None:
    sm.update_pipeline(PipelineName="demo", PipelineDefinition=condition_definition(with_lambda=True))
    old = sm.start_pipeline_execution(PipelineName="demo", PipelineVersionAlias="stable")[
        "PipelineExecutionArn"
    ]
    new = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    wait_done(sm, old)
    wait_done(sm, new)
    described = sm.describe_pipeline_execution(PipelineExecutionArn=old)
    assert (described["PipelineVersionId"], described["PipelineVersionAliases"]) == (1, ["prod", "stable"])
    assert described["RoleArn"] == ROLE
    listed = sm.list_pipeline_executions(PipelineName="demo", PipelineVersionAlias="prod")
    assert [e["PipelineExecutionArn"] for e in listed["PipelineExecutionSummaries"]] == [old]
    assert listed["PipelineExecutionSummaries"][0]["PipelineVersionAliases"] == ["prod", "stable"]
    assert len(sm.list_pipeline_executions(PipelineName="demo")["PipelineExecutionSummaries"]) == 2
    page = sm.list_pipeline_executions(PipelineName="demo", PipelineVersionAlias="prod", MaxResults=1)
    assert "NextToken" not in page


def test_alias_errors_and_role_arn_on_start(sm: Any, served: Served) -> None:
    arn = sm.describe_pipeline(PipelineName="demo")["PipelineArn"]
    assert (
        code(lambda: sm.describe_pipeline(PipelineName="demo", PipelineVersionAlias="nope"))
        == "ResourceNotFound"
    )
    assert code(lambda: sm.list_pipeline_executions(PipelineName="demo", PipelineVersionAlias="nope")) == (
        "ResourceNotFound"
    )
    assert (
        code(
            lambda: sm.start_pipeline_execution(
                PipelineName="demo", PipelineVersionId=1, PipelineVersionAlias="prod"
            )
        )
        == "ValidationException"
    )
    with pytest.raises(ClientError, match="because its executions use the pipeline's role"):
        sm.start_pipeline_execution(PipelineName="demo", RoleArn=ROLE)
    assert code(lambda: sm.update_pipeline(PipelineName="demo", PipelineVersionAliases=["123"])) == (
        "ValidationException"
    )
    assert (
        code(
            lambda: sm.update_pipeline_version(
                PipelineArn=arn, PipelineVersionId=1, PipelineVersionAliasOperations={"Remove": ["missing"]}
            )
        )
        == "ValidationException"
    )
    assert (
        code(lambda: sm.update_pipeline_version(PipelineArn=arn, PipelineVersionId=9)) == "ResourceNotFound"
    )
    eleven = [f"a{i}" for i in range(11)]
    assert (
        code(
            lambda: sm.update_pipeline_version(
                PipelineArn=arn, PipelineVersionId=1, PipelineVersionAliasOperations={"Add": eleven[:9]}
            )
        )
        == "ValidationException"
    )  # prod + stable + 9 > 10
    other = served.client("sagemaker", "AKIDREADER")
    assert (
        code(lambda: other.update_pipeline_version(PipelineArn=arn, PipelineVersionId=1))
        == "AccessDeniedException"
    )
    # nothing changed
    assert sm.describe_pipeline(PipelineName="demo")["PipelineVersionAliases"] == ["prod", "stable"]


def test_managed_by(sm: Any) -> None:
    assert [p["PipelineName"] for p in sm.list_pipelines(ManagedBy="CUSTOMER")["PipelineSummaries"]] == [
        "demo"
    ]
    assert sm.list_pipelines(ManagedBy="AWS")["PipelineSummaries"] == []
