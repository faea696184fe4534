"""The Pipeline construct's custom resource against the deployment's API (moto behind the
API Gateway harness): create, update (new versions, tags, shares, schedules), rename, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.api.ops.pipelines import CLOUDFORMATION_STACK_TAG
from pipelines.deploy.resource import SPEC_PROPERTY, PipelineResource, PipelineSpec, ScheduleSpec, ShareSpec

from tests.deploy.conftest import (
    OTHER,
    OWNER,
    ROLE,
    SCHEDULE_GROUP,
    Cloud,
    LambdaContext,
    definition,
    load_handler,
)


def spec(name: str = "infra-pipeline", **changes: Any) -> PipelineSpec:
    values: dict[str, Any] = {
        "PipelineName": name,
        "PipelineDefinition": definition(required_input=False),
        "RoleArn": ROLE,
        "PipelineDescription": "from CDK",
        "Tags": {"team": "ml", "stage": "dev"},
        "Shares": [ShareSpec(Name="readers", Accounts=[OTHER])],
        "Schedules": [
            ScheduleSpec(Name=f"{name}-nightly", ScheduleExpression="cron(0 3 * * ? *)", RoleArn=ROLE)
        ],
    }
    values.update(changes)
    return PipelineSpec(**values)


def event(
    kind: str, new: PipelineSpec, old: PipelineSpec | None = None, physical: str | None = None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "RequestType": kind,
        "RequestId": f"req-{kind}",
        "ResourceProperties": {"ServiceToken": "arn:x", SPEC_PROPERTY: new.to_property()},
    }
    if old is not None:
        request["OldResourceProperties"] = {"ServiceToken": "arn:x", SPEC_PROPERTY: old.to_property()}
    if physical is not None:
        request["PhysicalResourceId"] = physical
    return request


def schedules(cloud: Cloud) -> dict[str, str]:
    listed = cloud.real("scheduler").list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]
    return {s["Name"]: s["State"] for s in listed}


def shares(cloud: Cloud) -> dict[str, list[str]]:
    ram = cloud.clients().ram
    active = ram.get_resource_shares(resourceOwner="SELF", resourceShareStatus="ACTIVE")["resourceShares"]
    return {s["name"]: s["resourceShareArn"] for s in active}


def test_create_registers_the_pipeline_with_tags_shares_and_schedules(cloud: Cloud) -> None:
    resource = PipelineResource(cloud.clients())
    created = resource.on_event(event("Create", spec()))
    arn = created["PhysicalResourceId"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{OWNER}:pipeline/infra-pipeline"
    assert created["Data"] == {"PipelineArn": arn, "PipelineName": "infra-pipeline", "PipelineVersionId": "1"}
    sagemaker = cloud.clients().sagemaker
    assert sagemaker.describe_pipeline(PipelineName="infra-pipeline")["PipelineDescription"] == "from CDK"
    assert {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]} == {
        "team": "ml",
        "stage": "dev",
    }
    assert schedules(cloud) == {"infra-pipeline-nightly": "ENABLED"}
    assert list(shares(cloud)) == ["pipeline-infra-pipeline-readers"]
    invitations = cloud.clients(OTHER).ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert [i["resourceShareName"] for i in invitations] == ["pipeline-infra-pipeline-readers"]
    # a retried Create (same request) is answered from the first one
    assert resource.on_event(event("Create", spec()))["PhysicalResourceId"] == arn


def test_update_publishes_a_new_version_and_reconciles_the_rest(cloud: Cloud) -> None:
    resource = PipelineResource(cloud.clients())
    before = spec()
    arn = resource.on_event(event("Create", before))["PhysicalResourceId"]
    changed_definition = json.loads(before.definition)
    changed_definition["Parameters"][1]["DefaultValue"] = 0.9
    after = spec(
        PipelineDefinition=json.dumps(changed_definition),
        Tags={"team": "ml-platform"},
        Shares=[
            ShareSpec(
                Name="runners", Accounts=[OTHER], Permission="AWSRAMPermissionSageMakerPipelineAllowExecution"
            )
        ],
        Schedules=[
            ScheduleSpec(
                Name="infra-pipeline-nightly",
                ScheduleExpression="cron(0 4 * * ? *)",
                State="DISABLED",
                RoleArn=ROLE,
            ),
            ScheduleSpec(Name="infra-pipeline-hourly", ScheduleExpression="rate(1 hour)", RoleArn=ROLE),
        ],
    )
    updated = resource.on_event(event("Update", after, before, arn))
    assert updated["PhysicalResourceId"] == arn
    assert updated["Data"]["PipelineVersionId"] == "2"
    sagemaker = cloud.clients().sagemaker
    versions = sagemaker.list_pipeline_versions(PipelineName="infra-pipeline")["PipelineVersionSummaries"]
    assert sorted(v["PipelineVersionId"] for v in versions) == [1, 2]
    assert {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]} == {
        "team": "ml-platform"
    }
    assert schedules(cloud) == {"infra-pipeline-nightly": "DISABLED", "infra-pipeline-hourly": "ENABLED"}
    assert list(shares(cloud)) == ["pipeline-infra-pipeline-runners"]
    # the same properties again: no new version
    again = resource.on_event(event("Update", after, after, arn))
    assert again["Data"]["PipelineVersionId"] == "2"


def test_a_new_name_replaces_the_pipeline(cloud: Cloud) -> None:
    resource = PipelineResource(cloud.clients())
    before = spec()
    old_arn = resource.on_event(event("Create", before))["PhysicalResourceId"]
    after = spec(
        "renamed",
        Schedules=[
            ScheduleSpec(Name="infra-pipeline-nightly", ScheduleExpression="rate(1 day)", RoleArn=ROLE)
        ],
    )
    new_arn = resource.on_event(event("Update", after, before, old_arn))["PhysicalResourceId"]
    assert new_arn.endswith("pipeline/renamed")
    resource.on_event(event("Delete", before, physical=old_arn))  # CloudFormation's cleanup of the old one
    names = [p["PipelineName"] for p in cloud.clients().sagemaker.list_pipelines()["PipelineSummaries"]]
    assert names == ["renamed"]
    assert schedules(cloud) == {"infra-pipeline-nightly": "ENABLED"}  # reused by the new pipeline


def test_delete_removes_everything_and_tolerates_what_is_gone(cloud: Cloud) -> None:
    resource = PipelineResource(cloud.clients())
    arn = resource.on_event(event("Create", spec()))["PhysicalResourceId"]
    resource.on_event(event("Delete", spec(), physical=arn))
    assert cloud.clients().sagemaker.list_pipelines()["PipelineSummaries"] == []
    assert schedules(cloud) == {}
    assert shares(cloud) == {}
    resource.on_event(event("Delete", spec(), physical=arn))  # already gone: still a success
    resource.on_event(event("Delete", spec(), physical="create-failed-before-any-arn"))


def test_the_provider_lambda_calls_the_api_at_api_url(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_handler("pipeline_resource")
    monkeypatch.setenv("API_URL", "https://abc123.execute-api.us-east-1.amazonaws.com/dev/")
    seen: list[str] = []

    def clients(url: str, region: str) -> Any:
        seen.append(url)
        return cloud.clients()

    monkeypatch.setattr(module, "api_clients", clients)
    answer = module.handler(event("Create", spec()), LambdaContext())
    assert seen == ["https://abc123.execute-api.us-east-1.amazonaws.com/dev/"]
    assert answer["Data"]["PipelineName"] == "infra-pipeline"


STACK = "arn:aws:cloudformation:us-east-1:111111111111:stack/team-ml/0f1e2d3c"


def test_a_pipeline_a_stack_declares_is_deleted_only_by_that_stack(cloud: Cloud) -> None:
    resource = PipelineResource(cloud.clients())
    arn = resource.on_event({**event("Create", spec()), "StackId": STACK})["PhysicalResourceId"]
    sagemaker = cloud.clients().sagemaker
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "ml", "stage": "dev", CLOUDFORMATION_STACK_TAG: STACK}

    with pytest.raises(ClientError) as refused:
        sagemaker.delete_pipeline(PipelineName="infra-pipeline", ClientRequestToken="by-hand-" + "0" * 32)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert f"managed by CloudFormation stack {STACK}" in refused.value.response["Error"]["Message"]
    assert [p["PipelineName"] for p in sagemaker.list_pipelines()["PipelineSummaries"]] == ["infra-pipeline"]

    resource.on_event({**event("Delete", spec(), physical=arn), "StackId": STACK})
    assert sagemaker.list_pipelines()["PipelineSummaries"] == []


def test_an_update_marks_a_pipeline_created_before_the_stack_tag(cloud: Cloud) -> None:
    resource = PipelineResource(cloud.clients())
    arn = resource.on_event(event("Create", spec()))["PhysicalResourceId"]  # no StackId: an older create
    resource.on_event({**event("Update", spec(), spec(), arn), "StackId": STACK})
    tags = {t["Key"]: t["Value"] for t in cloud.clients().sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags[CLOUDFORMATION_STACK_TAG] == STACK
