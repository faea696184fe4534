"""DeletePipeline racing registrations in the cloud runtime (DynamoDB store, real EventBridge
rules and Scheduler schedules in moto), through the API with real boto3 clients: a rule target
or a schedule written after the delete's cleanup is undone by its own second check of the
pipeline, and one arriving while the pipeline is Deleting is refused; nothing is left starting
the deleted pipeline. The delete is made to run inside the registration, between its check of the
pipeline and its write (a hook, not a sleep)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.crash_points import before_record_delete, right_after
from tests.deploy.conftest import RULE_PREFIX, SCHEDULE_GROUP, Cloud
from tests.deploy.test_cloud_scheduler import schedule_request
from tests.deploy.test_event_triggers import TEMPLATE, register


def delete_inside(cloud: Cloud, monkeypatch: pytest.MonkeyPatch, owner: Any, method: str, arn: str) -> None:
    """``owner.<method>`` (a registration's check of its target) runs DeletePipeline of ``arn``
    right after it returns, while the pipeline exists."""

    def delete() -> None:
        if cloud.store.get_pipeline(arn) is not None:
            cloud.clients().sagemaker.delete_pipeline(PipelineName=arn.rpartition("/")[2])

    right_after(monkeypatch, owner, method, delete)


def register_rule_target(cloud: Cloud, arn: str) -> None:
    register(cloud, arn, {"InputData": TEMPLATE}, name="late")


def register_schedule(cloud: Cloud, arn: str) -> None:
    cloud.clients().scheduler.create_schedule(**schedule_request(arn, name="late"))


def rule_targets_left(cloud: Cloud) -> list[Any]:
    return list(cloud.real("events").list_targets_by_rule(Rule=f"{RULE_PREFIX}late")["Targets"])


def schedules_left(cloud: Cloud) -> list[Any]:
    return list(cloud.real("scheduler").list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"])


@pytest.mark.parametrize(
    ("service", "check", "registration", "left"),
    [
        ("rules", "_real_target", register_rule_target, rule_targets_left),
        ("scheduler", "_request", register_schedule, schedules_left),
    ],
    ids=["rule target", "schedule"],
)
def test_a_registration_written_after_the_cleanup_is_undone(
    cloud: Cloud,
    monkeypatch: pytest.MonkeyPatch,
    service: str,
    check: str,
    registration: Callable[[Cloud, str], None],
    left: Callable[[Cloud], list[Any]],
) -> None:
    arn = cloud.create_pipeline("doomed")
    delete_inside(cloud, monkeypatch, getattr(cloud.services, service), check, arn)
    with pytest.raises(ClientError) as refused:
        registration(cloud, arn)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "being deleted" in refused.value.response["Error"]["Message"]
    assert left(cloud) == []


def test_registrations_while_the_pipeline_is_deleting_are_refused(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = cloud.create_pipeline("doomed")
    seen: dict[str, str] = {}

    def register_meanwhile() -> None:
        for what, registration in (("rule target", register_rule_target), ("schedule", register_schedule)):
            try:
                registration(cloud, arn)
                seen[what] = "ok"
            except ClientError as error:
                seen[what] = str(error.response["Error"]["Code"])

    before_record_delete(monkeypatch, cloud.store, register_meanwhile)
    assert cloud.clients().sagemaker.delete_pipeline(PipelineName="doomed")["PipelineArn"] == arn
    assert seen == {"rule target": "ValidationException", "schedule": "ValidationException"}
    assert rule_targets_left(cloud) == [] and schedules_left(cloud) == []


def test_a_rule_target_retargeted_at_a_pipeline_deleted_meanwhile_is_put_back(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = cloud.create_pipeline("kept")
    arn = cloud.create_pipeline("doomed")
    register(cloud, kept, {"InputData": TEMPLATE}, name="uploads")
    assert cloud.services.rules is not None
    delete_inside(cloud, monkeypatch, cloud.services.rules, "_real_target", arn)
    with pytest.raises(ClientError) as refused:
        register(cloud, arn, {"InputData": TEMPLATE}, name="uploads")  # the same target Id, now at doomed
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    targets = cloud.clients().events.list_targets_by_rule(Rule="uploads")["Targets"]
    assert [(t["Id"], t["Arn"]) for t in targets] == [("pipeline", kept)]


def test_a_schedule_retargeted_at_a_pipeline_deleted_meanwhile_is_put_back(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = cloud.create_pipeline("kept")
    arn = cloud.create_pipeline("doomed")
    scheduler = cloud.clients().scheduler
    scheduler.create_schedule(**schedule_request(kept, name="nightly"))
    assert cloud.services.scheduler is not None
    delete_inside(cloud, monkeypatch, cloud.services.scheduler, "_request", arn)
    with pytest.raises(ClientError) as refused:
        scheduler.update_schedule(**schedule_request(arn, name="nightly"))
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert scheduler.get_schedule(Name="nightly")["Target"]["Arn"] == kept
