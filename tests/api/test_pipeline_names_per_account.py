"""Pipeline names are per account, as in the service: two accounts may each have a pipeline of
the same name, and one never learns another's names from "already exists" or sees, changes,
runs or reuses the cache of the other's pipeline by naming it. Real boto3 clients, one per
account (access keys mapped by ``[accounts]``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import OWNER, ROLE, Served
from tests.api.test_sagemaker_api import wait_done

OTHER = "222222222222"


def definition(message: str) -> str:
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": message}}],
        }
    )


@pytest.fixture
def clients(served: Served) -> tuple[Any, Any]:
    return served.client("sagemaker"), served.client("sagemaker", "AKIDRUNNER")


def test_two_accounts_each_have_a_pipeline_of_the_same_name(clients: tuple[Any, Any]) -> None:
    mine, theirs = clients
    mine_arn = mine.create_pipeline(
        PipelineName="Churn", PipelineDefinition=definition("mine"), RoleArn=ROLE
    )["PipelineArn"]
    # not "already exists": the name is free in the other account
    theirs_arn = theirs.create_pipeline(
        PipelineName="Churn", PipelineDefinition=definition("theirs"), RoleArn=ROLE
    )["PipelineArn"]
    assert mine_arn.endswith(f":{OWNER}:pipeline/Churn") and theirs_arn.endswith(f":{OTHER}:pipeline/Churn")
    # within one account the name is taken, whatever its case
    with pytest.raises(theirs.exceptions.ClientError, match="already exists"):
        theirs.create_pipeline(PipelineName="CHURN", PipelineDefinition=definition("x"), RoleArn=ROLE)

    assert "mine" in mine.describe_pipeline(PipelineName="Churn")["PipelineDefinition"]
    assert "theirs" in theirs.describe_pipeline(PipelineName="Churn")["PipelineDefinition"]
    assert [p["PipelineArn"] for p in theirs.list_pipelines()["PipelineSummaries"]] == [theirs_arn]

    theirs.update_pipeline(PipelineName="Churn", PipelineDefinition=definition("theirs v2"))
    versions = mine.list_pipeline_versions(PipelineName="Churn")["PipelineVersionSummaries"]
    assert [v["PipelineVersionId"] for v in versions] == [1]

    run = theirs.start_pipeline_execution(PipelineName="Churn")["PipelineExecutionArn"]
    assert run.startswith(theirs_arn + "/execution/")
    assert wait_done(theirs, run)["PipelineExecutionStatus"] == "Failed"
    (step,) = theirs.list_pipeline_execution_steps(PipelineExecutionArn=run)["PipelineExecutionSteps"]
    assert step["FailureReason"] == "theirs v2"  # their latest definition ran, not mine
    assert mine.list_pipeline_executions(PipelineName="Churn")["PipelineExecutionSummaries"] == []

    theirs.delete_pipeline(PipelineName="Churn")
    assert mine.describe_pipeline(PipelineName="Churn")["PipelineArn"] == mine_arn
    with pytest.raises(theirs.exceptions.ResourceNotFound):
        theirs.describe_pipeline(PipelineName="Churn")


def test_another_accounts_pipeline_is_not_found_by_name(clients: tuple[Any, Any]) -> None:
    mine, theirs = clients
    mine.create_pipeline(PipelineName="private", PipelineDefinition=definition("mine"), RoleArn=ROLE)
    for call in (
        lambda: theirs.describe_pipeline(PipelineName="private"),
        lambda: theirs.start_pipeline_execution(PipelineName="private"),
        lambda: theirs.delete_pipeline(PipelineName="private"),
    ):
        with pytest.raises(theirs.exceptions.ResourceNotFound):
            call()
