"""Schedules through the API become real EventBridge Scheduler schedules targeting the trigger
Lambda (moto Scheduler); moto never fires them, so the firing is the trigger Lambda called
with the input Scheduler would send."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.triggers.targets import SCHEDULE_ARN_PLACEHOLDER, SCHEDULED_TIME_PLACEHOLDER

from tests.deploy.conftest import (
    OTHER,
    OWNER,
    ROLE,
    SCHEDULE_GROUP,
    SCHEDULER_ROLE_ARN,
    TRIGGER_FUNCTION_ARN,
    Cloud,
    LambdaContext,
    definition,
    load_handler,
)

START = datetime(2030, 1, 1, tzinfo=UTC)


def schedule_request(pipeline_arn: str, name: str = "nightly", **changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "Name": name,
        "ScheduleExpression": "cron(15 10 ? * 6L 2030-2031)",
        "ScheduleExpressionTimezone": "Europe/Paris",
        "StartDate": START,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": pipeline_arn,
            "RoleArn": ROLE,
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [{"Name": "InputData", "Value": "s3://d/x.csv"}]
            },
        },
    }
    request.update(changes)
    return request


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_a_schedule_becomes_a_real_schedule_targeting_the_trigger_lambda(cloud: Cloud) -> None:
    arn = cloud.create_pipeline("nightly-pipeline")
    scheduler = cloud.clients().scheduler
    created = scheduler.create_schedule(**schedule_request(arn))["ScheduleArn"]
    assert created.endswith(f":schedule/{SCHEDULE_GROUP}/nightly")

    real = cloud.real("scheduler").get_schedule(Name="nightly", GroupName=SCHEDULE_GROUP)
    assert real["ScheduleExpression"] == "cron(15 10 ? * 6L 2030-2031)"
    assert real["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert real["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert real["StartDate"] == START
    assert real["Target"]["Arn"] == TRIGGER_FUNCTION_ARN
    assert real["Target"]["RoleArn"] == SCHEDULER_ROLE_ARN
    sent = json.loads(real["Target"]["Input"])
    assert sent == {
        "kind": "schedule",
        "target": {
            "pipelineArn": arn,
            "account": OWNER,
            "trigger": f"schedule/{SCHEDULE_GROUP}/nightly",
            "parameters": {"InputData": "s3://d/x.csv"},
            "roleArn": ROLE,
        },
        "scheduleArn": SCHEDULE_ARN_PLACEHOLDER,
        "scheduledTime": SCHEDULED_TIME_PLACEHOLDER,
    }

    shown = scheduler.get_schedule(Name="nightly")  # the SDK's describe_trigger
    assert shown["Target"]["Arn"] == arn
    assert shown["Target"]["RoleArn"] == ROLE
    assert shown["Target"]["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "InputData", "Value": "s3://d/x.csv"}
    ]
    assert [s["Name"] for s in scheduler.list_schedules()["Schedules"]] == ["nightly"]


def test_the_sdk_upsert_updates_then_creates(cloud: Cloud) -> None:
    """put_triggers calls UpdateSchedule and creates on ResourceNotFoundException."""
    arn = cloud.create_pipeline("upsert", definition(required_input=False))
    scheduler = cloud.clients().scheduler
    request = {
        "Name": "upsert-schedule",
        "ScheduleExpression": "rate(5 minutes)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": arn, "SageMakerPipelineParameters": {}, "RoleArn": ROLE},
        "State": "ENABLED",
        "StartDate": datetime.now(UTC),
    }
    with pytest.raises(ClientError) as exc:
        scheduler.update_schedule(**request)
    assert code(exc) == "ResourceNotFoundException"
    scheduler.create_schedule(**request)
    scheduler.update_schedule(**dict(request, ScheduleExpression="rate(1 hour)", State="DISABLED"))
    real = cloud.real("scheduler").get_schedule(Name="upsert-schedule", GroupName=SCHEDULE_GROUP)
    assert (real["ScheduleExpression"], real["State"]) == ("rate(1 hour)", "DISABLED")
    with pytest.raises(ClientError) as exc:
        scheduler.create_schedule(**request)
    assert code(exc) == "ConflictException"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ScheduleExpression": "cron(0 12 * * *)"}, "cron needs 6 fields"),
        ({"ScheduleExpression": "rate(0 minutes)"}, "positive"),
        ({"ScheduleExpression": "every day"}, "Invalid Schedule Expression"),
        ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "ScheduleExpressionTimezone"),
        ({"EndDate": START - timedelta(days=1)}, "EndDate must be after StartDate"),
        ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "MaximumWindowInMinutes"),
        ({"Target": {"Arn": "PIPELINE", "RoleArn": ROLE}}, "InputData"),  # no default, no value
        (
            {"Target": {"Arn": "arn:aws:sagemaker:us-east-1:111111111111:pipeline/nope", "RoleArn": ROLE}},
            "no such pipeline",
        ),
        (
            {
                "Target": {
                    "Arn": "PIPELINE",
                    "RoleArn": ROLE,
                    "SageMakerPipelineParameters": {
                        "PipelineParameterList": [
                            {"Name": "InputData", "Value": "x"},
                            {"Name": "Nope", "Value": "1"},
                        ]
                    },
                }
            },
            "'Nope' is not declared",
        ),
        (
            {
                "Target": {
                    "Arn": "PIPELINE",
                    "RoleArn": ROLE,
                    "SageMakerPipelineParameters": {
                        "PipelineParameterList": [
                            {"Name": "InputData", "Value": "x"},
                            {"Name": "Threshold", "Value": "high"},
                        ]
                    },
                }
            },
            "is not a Float",
        ),
        ({"Target": {"Arn": "PIPELINE", "RoleArn": ROLE, "Input": "{}"}}, "Target.Input is not supported"),
        ({"KmsKeyArn": "arn:aws:kms:us-east-1:111111111111:key/k"}, "KmsKeyArn"),
        ({"GroupName": "elsewhere"}, "Schedule group elsewhere does not exist"),
    ],
)
def test_registration_refuses_what_would_fail_at_fire_time(
    cloud: Cloud, changes: dict[str, Any], message: str
) -> None:
    arn = cloud.create_pipeline("checked")
    if "Target" in changes and changes["Target"]["Arn"] == "PIPELINE":
        changes = dict(changes, Target=dict(changes["Target"], Arn=arn))
    with pytest.raises(ClientError) as exc:
        cloud.clients().scheduler.create_schedule(**schedule_request(arn, **changes))
    assert message in str(exc.value.response["Error"]["Message"])
    assert cloud.real("scheduler").list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"] == []


def test_accounts_see_only_their_own_schedules(cloud: Cloud) -> None:
    arn = cloud.create_pipeline("private")
    cloud.clients().scheduler.create_schedule(**schedule_request(arn))
    other = cloud.clients(OTHER).scheduler
    # another account acts only through its shares: it may not use the deployment's Scheduler at all,
    # and the refusal names no schedule or pipeline of the owner
    for call in (
        other.list_schedules,
        lambda: other.get_schedule(Name="nightly"),
        lambda: other.delete_schedule(Name="nightly"),
        lambda: other.create_schedule(**schedule_request(arn, Name="theirs")),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "AccessDeniedException"
        assert "private" not in exc.value.response["Error"]["Message"]
        assert "nightly" not in exc.value.response["Error"]["Message"]
    assert [s["Name"] for s in cloud.clients().scheduler.list_schedules()["Schedules"]] == ["nightly"]


def test_deleting_a_schedule_and_deleting_a_pipeline_deletes_its_schedules(cloud: Cloud) -> None:
    doomed = cloud.create_pipeline("doomed")
    kept = cloud.create_pipeline("kept")
    scheduler = cloud.clients().scheduler
    scheduler.create_schedule(**schedule_request(doomed, name="doomed-1"))
    scheduler.create_schedule(**schedule_request(doomed, name="doomed-2"))
    scheduler.create_schedule(**schedule_request(kept, name="kept-1"))
    scheduler.create_schedule(**schedule_request(kept, name="kept-2"))
    scheduler.delete_schedule(Name="kept-2")

    cloud.clients().sagemaker.delete_pipeline(PipelineName="doomed")

    names = [s["Name"] for s in cloud.real("scheduler").list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]]
    assert names == ["kept-1"]


def fired_input(cloud: Cloud, name: str, at: str) -> dict[str, Any]:
    """What Scheduler sends the trigger Lambda for the occurrence at ``at``."""
    real = cloud.real("scheduler").get_schedule(Name=name, GroupName=SCHEDULE_GROUP)
    text = (
        real["Target"]["Input"]
        .replace(SCHEDULE_ARN_PLACEHOLDER, real["Arn"])
        .replace(SCHEDULED_TIME_PLACEHOLDER, at)
    )
    return dict(json.loads(text))


def test_a_firing_starts_the_pipeline_once_per_occurrence(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = cloud.create_pipeline("fired")
    cloud.clients().scheduler.create_schedule(**schedule_request(arn))
    trigger = load_handler("trigger")
    monkeypatch.setattr(trigger, "cloud_starter", cloud.services.starter)

    first = trigger.handler(fired_input(cloud, "nightly", "2030-01-31T09:15:00Z"), LambdaContext())
    again = trigger.handler(
        fired_input(cloud, "nightly", "2030-01-31T09:15:00Z"), LambdaContext()
    )  # redelivery
    later = trigger.handler(fired_input(cloud, "nightly", "2030-02-28T09:15:00Z"), LambdaContext())

    assert first == again
    assert later != first
    sagemaker = cloud.clients().sagemaker
    executions = sagemaker.list_pipeline_executions(PipelineName="fired")["PipelineExecutionSummaries"]
    assert sorted(e["PipelineExecutionArn"] for e in executions) == sorted(
        [first["PipelineExecutionArn"], later["PipelineExecutionArn"]]
    )
    parameters = sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=first["PipelineExecutionArn"]
    )
    assert {p["Name"]: p["Value"] for p in parameters["PipelineParameters"]} == {
        "InputData": "s3://d/x.csv",
        "Threshold": "0.5",
    }
    finished = cloud.runtime.wait(first["PipelineExecutionArn"], timeout=20)
    assert finished.status == "Succeeded"
