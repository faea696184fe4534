"""The real SageMaker Python SDK v2, unchanged, against ``pipelines serve``.

Offline set-up, and the only AWS calls the SDK makes besides SageMaker:
- telemetry is opted out through ``sagemaker_config`` (otherwise ``Pipeline.create/start`` call
  STS GetCallerIdentity and an S3 telemetry URL, both outside this machine);
- the session's ``default_bucket`` is named, so no STS call is needed to derive one; the S3 calls
  it makes (ListBuckets/HeadBucket/CreateBucket, code uploads) go to our S3 endpoint through
  ``AWS_ENDPOINT_URL_S3``; schedules go to our Scheduler subset through
  ``AWS_ENDPOINT_URL_SCHEDULER``. Nothing is answered by moto: no call leaves the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from sagemaker.lambda_helper import Lambda
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionGreaterThan
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
from sagemaker.workflow.parameters import ParameterFloat
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.triggers import PipelineSchedule

from tests.api.conftest import ROLE, Served, secret_of

TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


@pytest.fixture
def session(served: Served, monkeypatch: pytest.MonkeyPatch) -> PipelineSession:
    for service in ("S3", "SCHEDULER", "SAGEMAKER"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", served.url)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    boto_session = boto3.Session(
        aws_access_key_id="AKIDOWNER", aws_secret_access_key=secret_of("AKIDOWNER"), region_name="us-east-1"
    )
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=served.client("sagemaker"),
        default_bucket="sdk-bucket",
        sagemaker_config=TELEMETRY_OFF,
    )


def example_pipeline(session: PipelineSession, name: str = "sdk-demo") -> Pipeline:
    threshold = ParameterFloat(name="Threshold", default_value=0.5)
    double = LambdaStep(
        name="Double",
        lambda_func=Lambda(
            function_arn="arn:aws:lambda:us-east-1:000000000000:function:double", session=session
        ),
        inputs={"value": 21},
        outputs=[LambdaOutput(output_name="doubled", output_type=LambdaOutputTypeEnum.Integer)],
    )
    check = ConditionStep(
        name="Check",
        conditions=[ConditionGreaterThan(left=threshold, right=0.3)],
        if_steps=[double],
        else_steps=[FailStep(name="TooLow", error_message="too low")],
    )
    return Pipeline(name=name, parameters=[threshold], steps=[check], sagemaker_session=session)


def test_sdk_create_upsert_start_describe_steps_wait(session: PipelineSession) -> None:
    pipeline = example_pipeline(session)
    created = pipeline.create(role_arn=ROLE, description="from the SDK")
    assert created["PipelineArn"].endswith(":pipeline/sdk-demo")
    upserted = pipeline.upsert(role_arn=ROLE, description="again", tags=[{"Key": "team", "Value": "ml"}])
    assert upserted["PipelineArn"] == created["PipelineArn"]
    assert pipeline.describe()["PipelineDescription"] == "again"

    execution = pipeline.start(parameters={"Threshold": 0.9})
    execution.wait(delay=1, max_attempts=60)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    steps = {s["StepName"]: s for s in execution.list_steps()}
    assert steps["Check"]["Metadata"]["Condition"]["Outcome"] == "True"
    assert {"Name": "doubled", "Value": "42"} in steps["Double"]["Metadata"]["Lambda"]["OutputParameters"]

    failing = pipeline.start(parameters={"Threshold": 0.1})
    with pytest.raises(Exception, match="Failed"):
        failing.wait(delay=1, max_attempts=60)
    assert (
        failing.describe()["FailureReason"]
        == "Step failure: One or multiple steps failed. Failed steps: TooLow."
    )


def test_sdk_triggers_against_the_scheduler_subset(session: PipelineSession, served: Served) -> None:
    pipeline = example_pipeline(session, "sdk-sched")
    pipeline.create(role_arn=ROLE)
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    arns = pipeline.put_triggers(
        [PipelineSchedule(name="nightly", cron="15 10 ? * 6L 2030-2031", start_date=start)], role_arn=ROLE
    )
    assert arns == ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly"]
    described = pipeline.describe_trigger("nightly")
    assert described["Schedule_Expression"] == "cron(15 10 ? * 6L 2030-2031)"
    assert (
        described["Schedule_State"] == "ENABLED"
        and described["Schedule_Start_Date"] == "2030-01-01T00:00:00Z"
    )
    # upsert path: the SDK calls UpdateSchedule first
    pipeline.put_triggers(
        [PipelineSchedule(name="nightly", rate=(2, "hours"), start_date=start)], role_arn=ROLE
    )
    assert pipeline.describe_trigger("nightly")["Schedule_Expression"] == "rate(2 hours)"
    pipeline.delete_triggers(["nightly"])
    pipeline.delete_triggers(["nightly"])  # missing: the SDK only warns
    scheduler = served.client("scheduler")
    assert scheduler.list_schedules()["Schedules"] == []


def test_sdk_uploads_through_the_s3_endpoint(session: PipelineSession, served: Served, tmp_path: Any) -> None:
    from sagemaker.s3 import S3Downloader, S3Uploader

    code = tmp_path / "train.py"
    code.write_text("print('hello')\n")
    uri = S3Uploader.upload(str(code), f"s3://{session.default_bucket()}/code", sagemaker_session=session)
    assert uri == "s3://sdk-bucket/code/train.py"
    assert (served.config.object_root / "sdk-bucket" / "code" / "train.py").read_text() == "print('hello')\n"
    assert S3Downloader.read_file(uri, sagemaker_session=session) == "print('hello')\n"
