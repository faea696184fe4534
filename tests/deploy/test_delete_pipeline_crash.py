"""DeletePipeline that dies half-way in the api Lambda (DynamoDB store, real EventBridge
Scheduler schedules and EventBridge rules in moto, RAM shares in the state table): its retry, sent
to a fresh Lambda instance with the same ClientRequestToken (as boto3 resends it), leaves no
schedule and no rule target starting the deleted pipeline, and no share granting anything on its
name.

The call dies at the store's delete of the record, just after it (the record is gone) or just
before it: whatever ran before that point ran, nothing after it did, as when the Lambda is killed
there."""

from __future__ import annotations

import uuid

import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from pipelines.api.ram import permission_arn
from pipelines.deploy.clients import api_clients
from pipelines.deploy.wiring import build_cloud_services

from tests.crash_points import Moment, die_at_record_delete, retry_delete
from tests.deploy.conftest import OTHER, REGION, RULE_PREFIX, SCHEDULE_GROUP, Cloud
from tests.deploy.gateway import API_URL, Gateway
from tests.deploy.test_cloud_scheduler import schedule_request
from tests.deploy.test_event_triggers import TEMPLATE, register


def share_with_other(cloud: Cloud, *arns: str) -> None:
    cloud.clients().ram.create_resource_share(
        name="read",
        resourceArns=list(arns),
        principals=[OTHER],
        permissionArns=[permission_arn("AWSRAMDefaultPermissionSageMakerPipeline")],
    )
    ram = cloud.clients(OTHER).ram
    (invitation,) = ram.get_resource_share_invitations()["resourceShareInvitations"]
    ram.accept_resource_share_invitation(resourceShareInvitationArn=invitation["resourceShareInvitationArn"])


@pytest.mark.parametrize("moment", ["after", "before"])
def test_the_retry_of_a_delete_that_died_leaves_no_schedule_rule_target_or_share(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, moment: Moment
) -> None:
    arns = {name: cloud.create_pipeline(name) for name in ("doomed", "kept")}
    for name, arn in arns.items():
        cloud.clients().scheduler.create_schedule(**schedule_request(arn, name=f"{name}-nightly"))
        register(cloud, arn, {"InputData": TEMPLATE}, name=f"{name}-uploads")
    share_with_other(cloud, *arns.values())
    die_at_record_delete(monkeypatch, cloud.store, moment)
    token = str(uuid.uuid4())
    once = Gateway(cloud.gateway.endpoint).attach(
        api_clients(API_URL, REGION, config=BotoConfig(retries={"total_max_attempts": 1})).sagemaker
    )
    with pytest.raises(ClientError) as died:
        once.delete_pipeline(PipelineName="doomed", ClientRequestToken=token)
    assert died.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

    # the retry reaches a fresh Lambda instance: its own wiring over the same table and services
    fresh = build_cloud_services(cloud.settings, runtime=lambda *_: cloud.runtime)
    sm = cloud.clients(gateway=Gateway(fresh.endpoint())).sagemaker
    retry_delete(sm, "doomed", token, arns["doomed"], moment)

    real_schedules = cloud.real("scheduler").list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]
    assert [s["Name"] for s in real_schedules] == ["kept-nightly"]
    events = cloud.real("events")
    assert events.list_targets_by_rule(Rule=f"{RULE_PREFIX}doomed-uploads")["Targets"] == []
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=f"{RULE_PREFIX}kept-uploads")["Targets"]] == [
        "pipeline"
    ]
    # A pipeline made again under the name starts with no share of the old one's.
    assert cloud.create_pipeline("doomed") == arns["doomed"]
    other = cloud.clients(OTHER).sagemaker
    assert other.describe_pipeline(PipelineName=arns["kept"])["PipelineName"] == "kept"
    with pytest.raises(ClientError) as denied:
        other.describe_pipeline(PipelineName=arns["doomed"])
    assert denied.value.response["Error"]["Code"] in {"AccessDeniedException", "ResourceNotFound"}


def test_a_rule_deleted_while_the_pipeline_is_deleted_is_skipped(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clean-up lists the rules, then reads each one's targets: a rule its owner deletes in
    between is already clean, not an error that would keep the pipeline from being deleted."""
    arn = cloud.create_pipeline("doomed")
    register(cloud, arn, {"InputData": TEMPLATE}, name="vanishing")
    register(cloud, arn, {"InputData": TEMPLATE}, name="staying")
    assert cloud.services.rules is not None
    client = cloud.services.rules.client
    list_rules = client.list_rules

    def list_then_lose_one(**request: object) -> object:
        page = list_rules(**request)
        cloud.clients().events.remove_targets(Rule="vanishing", Ids=["pipeline"])
        cloud.clients().events.delete_rule(Name="vanishing")
        return page

    monkeypatch.setattr(client, "list_rules", list_then_lose_one)
    assert cloud.clients().sagemaker.delete_pipeline(PipelineName="doomed")["PipelineArn"] == arn
    events = cloud.real("events")
    assert [r["Name"] for r in events.list_rules(NamePrefix=RULE_PREFIX)["Rules"]] == [
        f"{RULE_PREFIX}staying"
    ]
    assert events.list_targets_by_rule(Rule=f"{RULE_PREFIX}staying")["Targets"] == []
