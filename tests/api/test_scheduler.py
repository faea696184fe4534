"""The Scheduler subset through boto3's ``scheduler`` client, and local firing on a fake clock."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.api.ram import permission_arn
from pipelines.api.schedule_expressions import parse_schedule_expression
from pipelines.engine import FakeClock

from tests.api.conftest import ROLE, Served, condition_definition

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def schedule(arn: str, expression: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": "every5",
        "ScheduleExpression": expression,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": arn, "RoleArn": ROLE, "SageMakerPipelineParameters": {}},
        "StartDate": START,
        **extra,
    }


def executions(served: Served) -> list[dict[str, Any]]:
    return served.client("sagemaker").list_pipeline_executions(PipelineName="demo")[
        "PipelineExecutionSummaries"
    ]


@pytest.fixture
def clocked(serve: Callable[..., Served]) -> tuple[Served, FakeClock, str]:
    clock = FakeClock(START)
    served = serve(clock=clock)
    arn = served.client("sagemaker").create_pipeline(
        PipelineName="demo", PipelineDefinition=condition_definition(), RoleArn=ROLE
    )["PipelineArn"]
    return served, clock, arn


def test_rate_schedule_fires_once_per_occurrence_without_backfill(
    clocked: tuple[Served, FakeClock, str],
) -> None:
    served, clock, arn = clocked
    scheduler = served.client("scheduler")
    scheduler.create_schedule(**schedule(arn, "rate(5 minutes)"))
    # the first occurrence is the StartDate itself (sagemaker-python-sdk
    # tests/integ/sagemaker/workflow/test_triggers.py::test_pipeline_scheduler_using_training_step)
    (first,) = served.api.scheduler.fire_due()
    assert first.startswith(arn + "/execution/")
    assert served.api.scheduler.fire_due() == []  # the same occurrence never fires twice
    clock.advance(5 * 60)
    assert len(served.api.scheduler.fire_due()) == 1
    clock.advance(17 * 60)  # three missed occurrences: one start, as after an outage
    assert len(served.api.scheduler.fire_due()) == 1
    assert len(executions(served)) == 3
    assert served.api.scheduler.next_due() == START + dt.timedelta(minutes=25)


def test_schedule_crud_shapes_and_errors(clocked: tuple[Served, FakeClock, str]) -> None:
    served, _clock, arn = clocked
    scheduler = served.client("scheduler")
    created = scheduler.create_schedule(
        **schedule(arn, "cron(15 10 ? * 6L 2030-2031)", ScheduleExpressionTimezone="Europe/Paris")
    )
    assert created["ScheduleArn"] == "arn:aws:scheduler:us-east-1:000000000000:schedule/default/every5"
    with pytest.raises(scheduler.exceptions.ConflictException):
        scheduler.create_schedule(**schedule(arn, "rate(1 hour)"))
    got = scheduler.get_schedule(Name="every5")
    assert got["ScheduleExpressionTimezone"] == "Europe/Paris" and got["State"] == "ENABLED"
    assert got["Target"]["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    # last Friday of January 2030 at 10:15 Paris time is 09:15 UTC
    assert served.api.scheduler.next_due() == dt.datetime(2030, 1, 25, 9, 15, tzinfo=dt.UTC)
    scheduler.update_schedule(**schedule(arn, "rate(1 day)", State="DISABLED"))
    assert scheduler.get_schedule(Name="every5")["State"] == "DISABLED"
    assert served.api.scheduler.next_due() is None
    listed = scheduler.list_schedules(NamePrefix="every")["Schedules"]
    assert [s["Target"]["Arn"] for s in listed] == [arn]
    scheduler.delete_schedule(Name="every5")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="every5")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.update_schedule(**schedule(arn, "rate(1 day)"))
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="every5", GroupName="other")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"ScheduleExpression": "cron(0 12 * * * *)"}, "day-of-week"),
        ({"ScheduleExpression": "cron(* * * * *)"}, "6 fields"),
        ({"ScheduleExpression": "rate(0 minutes)"}, "positive"),
        ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "Timezone"),
        ({"EndDate": START - dt.timedelta(days=1)}, "EndDate"),
        ({"KmsKeyArn": "arn:aws:kms:us-east-1:000000000000:key/k"}, "KmsKeyArn"),
    ],
)
def test_invalid_schedules_are_validation_errors(
    clocked: tuple[Served, FakeClock, str], change: dict[str, Any], fragment: str
) -> None:
    served, _clock, arn = clocked
    with pytest.raises(ClientError) as caught:
        served.client("scheduler").create_schedule(**{**schedule(arn, "rate(1 hour)"), **change})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in caught.value.response["Error"]["Message"]


def test_targets_must_be_our_pipelines_with_every_parameter_valued(
    clocked: tuple[Served, FakeClock, str],
) -> None:
    served, _clock, arn = clocked
    scheduler = served.client("scheduler")
    with pytest.raises(ClientError) as caught:
        scheduler.create_schedule(
            **schedule("arn:aws:lambda:us-east-1:000000000000:function:f", "rate(1 hour)")
        )
    assert "not a pipeline" in caught.value.response["Error"]["Message"]
    definition = json.loads(condition_definition())
    definition["Parameters"] = [{"Name": "Threshold", "Type": "Float"}]
    sm = served.client("sagemaker")
    no_default = sm.create_pipeline(
        PipelineName="nodefault", PipelineDefinition=json.dumps(definition), RoleArn=ROLE
    )["PipelineArn"]
    with pytest.raises(ClientError) as caught:
        scheduler.create_schedule(**schedule(no_default, "rate(1 hour)"))
    assert "Threshold" in caught.value.response["Error"]["Message"]
    valued = schedule(no_default, "rate(1 hour)")
    valued["Target"]["SageMakerPipelineParameters"] = {
        "PipelineParameterList": [{"Name": "Threshold", "Value": "0.9"}]
    }
    scheduler.create_schedule(**valued)


def test_at_schedule_deletes_itself_after_completion(clocked: tuple[Served, FakeClock, str]) -> None:
    served, clock, arn = clocked
    scheduler = served.client("scheduler")
    scheduler.create_schedule(**schedule(arn, "at(2030-01-01T01:00:00)", ActionAfterCompletion="DELETE"))
    clock.advance(3600)
    assert len(served.api.scheduler.fire_due()) == 1
    assert scheduler.list_schedules()["Schedules"] == []


def test_deleting_the_pipeline_deletes_its_schedules(clocked: tuple[Served, FakeClock, str]) -> None:
    served, _clock, arn = clocked
    scheduler = served.client("scheduler")
    scheduler.create_schedule(**schedule(arn, "rate(1 hour)"))
    served.client("sagemaker").delete_pipeline(PipelineName="demo")
    assert scheduler.list_schedules()["Schedules"] == []


def test_the_server_thread_fires_on_its_clock(serve: Callable[..., Served]) -> None:
    clock = FakeClock(START)
    served = serve(clock=clock, run_scheduler=True)
    arn = served.client("sagemaker").create_pipeline(
        PipelineName="demo", PipelineDefinition=condition_definition(), RoleArn=ROLE
    )["PipelineArn"]
    later = START + dt.timedelta(minutes=10)  # a rate schedule's first occurrence is its StartDate
    served.client("scheduler").create_schedule(**schedule(arn, "rate(10 minutes)", StartDate=later))
    deadline = time.monotonic() + 20
    while not executions(served) and time.monotonic() < deadline:
        time.sleep(0.05)  # the thread sleeps on the fake clock, so ten minutes pass at once
    assert executions(served), "the scheduler thread never fired"
    assert clock.now() >= START + dt.timedelta(minutes=10)


@pytest.mark.parametrize(
    ("expression", "zone", "expected"),
    [
        ("cron(15 10 ? * 6L 2022-2023)", None, dt.datetime(2022, 1, 28, 10, 15, tzinfo=dt.UTC)),
        ("cron(0 9 * * ? *)", "America/New_York", dt.datetime(2022, 1, 1, 14, 0, tzinfo=dt.UTC)),
        ("cron(0 10 15W * ? *)", None, dt.datetime(2022, 1, 14, 10, 0, tzinfo=dt.UTC)),
        ("cron(0 9 ? * 2#1 *)", None, dt.datetime(2022, 1, 3, 9, 0, tzinfo=dt.UTC)),
        ("rate(1 day)", None, dt.datetime(2022, 1, 2, tzinfo=dt.UTC)),
        ("at(2022-03-01T10:00:00)", "Europe/Paris", dt.datetime(2022, 3, 1, 9, 0, tzinfo=dt.UTC)),
    ],
)
def test_expression_occurrences(expression: str, zone: str | None, expected: dt.datetime) -> None:
    origin = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    assert parse_schedule_expression(expression, zone).next_after(origin, origin) == expected


def test_cron_past_its_last_year_never_fires_again() -> None:
    origin = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert parse_schedule_expression("cron(15 10 ? * 6L 2022-2023)").next_after(origin, origin) is None


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ([{"Name": "Nope", "Value": "1"}], "'Nope' is not declared"),
        ([{"Name": "Threshold", "Value": "high"}], "is not a Float"),
    ],
)
def test_parameters_are_checked_as_the_cloud_scheduler_checks_them(
    clocked: tuple[Served, FakeClock, str], parameters: list[dict[str, str]], fragment: str
) -> None:
    served, _clock, arn = clocked
    request = schedule(arn, "rate(1 hour)")
    request["Target"]["SageMakerPipelineParameters"] = {"PipelineParameterList": parameters}
    with pytest.raises(ClientError) as caught:
        served.client("scheduler").create_schedule(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in caught.value.response["Error"]["Message"]


def test_other_accounts_schedule_only_pipelines_shared_for_execution(
    clocked: tuple[Served, FakeClock, str],
) -> None:
    served, clock, arn = clocked
    with pytest.raises(ClientError) as caught:
        served.client("scheduler", "AKIDRUNNER").create_schedule(**schedule(arn, "rate(5 minutes)"))
    assert "account 222222222222 may not start it" in caught.value.response["Error"]["Message"]
    served.client("ram").create_resource_share(
        name="run",
        resourceArns=[arn],
        principals=["222222222222"],
        permissionArns=[permission_arn("AWSRAMPermissionSageMakerPipelineAllowExecution")],
    )
    runner_ram = served.client("ram", "AKIDRUNNER")
    (invitation,) = runner_ram.get_resource_share_invitations()["resourceShareInvitations"]
    runner_ram.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )
    created = served.client("scheduler", "AKIDRUNNER").create_schedule(**schedule(arn, "rate(5 minutes)"))
    assert ":222222222222:schedule/default/every5" in created["ScheduleArn"]
    clock.advance(5 * 60)
    (started,) = served.api.scheduler.fire_due()
    assert started.startswith(arn + "/execution/")


def test_the_sdk_triggers_start_more_than_three_executions_in_three_minutes(
    clocked: tuple[Served, FakeClock, str],
) -> None:
    """sagemaker-python-sdk tests/integ/sagemaker/workflow/test_triggers.py::
    test_pipeline_scheduler_using_training_step: ``put_triggers`` with at (now + 2 min), rate(2
    minutes) and cron(0/2 * ? * * *), all with StartDate now; after 3 minutes more than 3
    executions exist. On a fake clock, ticked each second as the server's thread polls."""
    served, clock, arn = clocked
    clock.advance(30)  # mid-minute, so the cron's first even minute is 90 s away
    now = clock.now()
    scheduler = served.client("scheduler")
    at = (now + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S")
    for name, expression in (
        ("at", f"at({at})"),
        ("rate", "rate(2 minutes)"),
        ("cron", "cron(0/2 * ? * * *)"),
    ):
        scheduler.create_schedule(**{**schedule(arn, expression, StartDate=now), "Name": name})
    started = served.api.scheduler.fire_due()
    for _ in range(180):
        clock.advance(1)
        started += served.api.scheduler.fire_due()
    assert len(started) > 3
    assert len(executions(served)) == len(started) == 4  # rate at 0 s and 120 s, cron at 90 s, at at 120 s
