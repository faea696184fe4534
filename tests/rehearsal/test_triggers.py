"""Executions nobody starts by hand: a schedule firing the trigger function, an S3 upload and a
model-drift alarm event matching a rule. Each starts exactly one execution with the parameters
its trigger maps, and a redelivery (Scheduler and EventBridge deliver at least once) starts none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipelines.deploy.clients import api_clients, sign_session_for_execute_api
from pipelines.triggers import model_monitor_drift
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.triggers import PipelineSchedule

from tests.rehearsal.harness import Rehearsal, add_user_function, wait_until
from tests.rehearsal.test_definition_s3 import TELEMETRY_OFF

ECHO = """
def handler(event, context):
    return {"seen": event["input"]}
"""


def echo_definition(function_arn: str) -> dict[str, Any]:
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputData", "Type": "String", "DefaultValue": "none"}],
        "Steps": [
            {
                "Name": "Echo",
                "Type": "Lambda",
                "FunctionArn": function_arn,
                "Arguments": {"input": {"Get": "Parameters.InputData"}},
                "OutputParameters": [{"OutputName": "seen", "OutputType": "String"}],
            }
        ],
    }


@pytest.fixture(scope="module")
def echo_arn(rehearsal: Rehearsal, functions_dir: Path) -> str:
    return add_user_function(rehearsal, "echo", ECHO, functions_dir)


def create(rehearsal: Rehearsal, name: str, function_arn: str) -> str:
    created = rehearsal.sagemaker().create_pipeline(
        PipelineName=name,
        PipelineDefinition=json.dumps(echo_definition(function_arn)),
        RoleArn=rehearsal.output("SamplePipelineRoleArn"),
    )
    return str(created["PipelineArn"])


def executions(rehearsal: Rehearsal, pipeline: str) -> list[dict[str, Any]]:
    listed = rehearsal.sagemaker().list_pipeline_executions(PipelineName=pipeline)
    return list(listed["PipelineExecutionSummaries"])


def parameters_of(rehearsal: Rehearsal, execution_arn: str) -> dict[str, str]:
    listed = rehearsal.sagemaker().list_pipeline_parameters_for_execution(PipelineExecutionArn=execution_arn)
    return {p["Name"]: p["Value"] for p in listed["PipelineParameters"]}


def test_a_schedule_made_with_the_sdk_fires_the_trigger(
    rehearsal: Rehearsal, echo_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(rehearsal, "scheduled", echo_arn)
    owner = rehearsal.owner_session()
    sign_session_for_execute_api(owner, rehearsal.region)
    with monkeypatch.context() as sdk_env:  # docs/deploy.md: the SDK's Scheduler calls go to the API
        sdk_env.setenv("AWS_ENDPOINT_URL_SCHEDULER", rehearsal.api_url())
        session = PipelineSession(
            boto_session=owner, sagemaker_client=rehearsal.sagemaker(), sagemaker_config=TELEMETRY_OFF
        )
        pipeline = Pipeline(name="scheduled", sagemaker_session=session)
        (schedule_arn,) = pipeline.put_triggers(
            [PipelineSchedule(name="nightly-echo", cron="0 3 * * ? *")],
            role_arn=rehearsal.output("SamplePipelineRoleArn"),
        )
    group = rehearsal.output("ScheduleGroup")
    assert schedule_arn.endswith(f":schedule/{group}/nightly-echo")

    fired = rehearsal.fire_schedule("nightly-echo", group, "2031-01-01T03:00:00Z")
    assert fired.error is None, fired.error
    arn = fired.payload["PipelineExecutionArn"]
    assert rehearsal.wait_execution(arn)["PipelineExecutionStatus"] == "Succeeded"
    assert parameters_of(rehearsal, arn) == {"InputData": "none"}

    again = rehearsal.fire_schedule("nightly-echo", group, "2031-01-01T03:00:00Z", attempt=2)
    assert again.error is None and again.payload["PipelineExecutionArn"] == arn
    assert [e["PipelineExecutionArn"] for e in executions(rehearsal, "scheduled")] == [arn]


def test_an_upload_to_the_example_bucket_starts_the_example_pipeline(rehearsal: Rehearsal) -> None:
    """The example stack's rule (``Pipeline.on_s3_object_created``), as synthesized."""
    bucket = rehearsal.output("ExampleBucket")
    pipeline = rehearsal.output("ExamplePipelineArn").rsplit("/", 1)[-1]
    trigger = rehearsal.function_name("TriggerFunction")
    before = len(rehearsal.deliveries_to(trigger))
    rehearsal.aws("s3").put_object(Bucket=bucket, Key="incoming/validation-1.csv", Body=b"a,b\n1,2\n")
    rehearsal.aws("s3").put_object(Bucket=bucket, Key="elsewhere/ignored.csv", Body=b"a,b\n")

    started = wait_until(lambda: executions(rehearsal, pipeline), what="an execution of the example")
    (execution,) = started
    arn = execution["PipelineExecutionArn"]
    assert parameters_of(rehearsal, arn)["ValidationData"] == f"s3://{bucket}/incoming/validation-1.csv"
    (delivery,) = rehearsal.deliveries_to(trigger)[before:]
    redelivered = rehearsal.redeliver(delivery)
    assert redelivered.error is None and redelivered.payload["PipelineExecutionArn"] == arn
    rehearsal.wait_execution(arn)
    assert [e["PipelineExecutionArn"] for e in executions(rehearsal, pipeline)] == [arn]


def test_a_drift_alarm_matches_a_rule_made_through_the_api(rehearsal: Rehearsal, echo_arn: str) -> None:
    pipeline_arn = create(rehearsal, "on-drift", echo_arn)
    events = api_clients(rehearsal.api_url(), rehearsal.region, session=rehearsal.owner_session()).events
    events.put_rule(Name="churn-drift", EventPattern=json.dumps(model_monitor_drift(["churn-feature-drift"])))
    events.put_targets(
        Rule="churn-drift",
        Targets=[
            {
                "Id": "retrain",
                "Arn": pipeline_arn,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": "InputData", "Value": "$.detail.alarmName"}]
                },
            }
        ],
    )
    trigger = rehearsal.function_name("TriggerFunction")
    before = len(rehearsal.deliveries_to(trigger))
    # What CloudWatch puts on the default bus when the drift alarm goes into ALARM.
    alarm = {
        "alarmName": "churn-feature-drift",
        "state": {
            "value": "ALARM",
            "reason": "Threshold Crossed",
            "timestamp": "2031-01-01T00:00:00.000+0000",
        },
        "previousState": {"value": "OK", "timestamp": "2030-12-31T00:00:00.000+0000"},
        "configuration": {"metrics": []},
    }
    for name in ("churn-feature-drift", "another-alarm"):
        rehearsal.aws("events").put_events(
            Entries=[
                {
                    "Source": "aws.cloudwatch",
                    "DetailType": "CloudWatch Alarm State Change",
                    "Detail": json.dumps({**alarm, "alarmName": name}),
                }
            ]
        )
    started = wait_until(lambda: executions(rehearsal, "on-drift"), what="an execution started by the alarm")
    (execution,) = started
    arn = execution["PipelineExecutionArn"]
    assert rehearsal.wait_execution(arn)["PipelineExecutionStatus"] == "Succeeded"
    assert parameters_of(rehearsal, arn) == {"InputData": "churn-feature-drift"}
    (delivery,) = rehearsal.deliveries_to(trigger)[before:]
    redelivered = rehearsal.redeliver(delivery)
    assert redelivered.error is None and redelivered.payload["PipelineExecutionArn"] == arn
    assert [e["PipelineExecutionArn"] for e in executions(rehearsal, "on-drift")] == [arn]
