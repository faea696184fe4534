"""The real SageMaker Python SDK v2 builds a job pipeline whose code it uploads itself, and
``pipelines serve`` runs it: a ProcessingStep with ``code=`` a local script, a PropertyFile the
script writes, a ConditionStep on ``JsonGet`` of it, and a FailStep on the else branch.

Offline set-up, and every AWS call the SDK makes (the test records each request botocore
sends and asserts it went to the server):
- telemetry is opted out through ``sagemaker_config`` (otherwise ``Pipeline.create/start``
  call STS GetCallerIdentity and an S3 telemetry URL outside this machine);
- the role is given, so no IAM/STS lookup derives one; the image URI comes from the SDK's
  bundled ``image_uris`` JSON, no network;
- the session's ``default_bucket`` is named, so no STS call derives one. Its probe (S3
  ListBuckets; HeadBucket answered 404 as the bucket is new; CreateBucket) and the PutObjects
  of the script (``s3://<bucket>/<pipeline>/code/<sha256>/summarize.py``) and of the local
  input file (``s3://<bucket>/<pipeline>/<step>/input/numbers/numbers.csv``), repeated on
  every ``definition()``, go to our S3 endpoint through ``AWS_ENDPOINT_URL_S3``;
- the SageMaker calls (CreatePipeline, its ``already exists`` refusal, UpdatePipeline,
  StartPipelineExecution, DescribePipelineExecution for ``wait``/``describe``,
  ListPipelineExecutionSteps) go to our SageMaker API. Nothing is answered by moto.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import WaiterError
from sagemaker.processing import ProcessingInput, ProcessingOutput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.steps import CacheConfig, ProcessingStep

from tests.api.conftest import ROLE, Served, secret_of
from tests.api.test_sdk import TELEMETRY_OFF

BUCKET = "sdk-jobs-bucket"
PIPELINE = "sdk-jobs"
STEP = "Summarize"

SUMMARIZE = textwrap.dedent(
    """
    import argparse, json, pathlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, required=True)
    scale = parser.parse_args().scale
    numbers = [int(line) for line in pathlib.Path("/opt/ml/processing/input/numbers/numbers.csv").read_text().split()]
    report = pathlib.Path("/opt/ml/processing/report")
    report.mkdir(parents=True, exist_ok=True)
    summary = {"summary": {"total": sum(numbers) * scale, "count": len(numbers)}}
    (report / "report.json").write_text(json.dumps(summary))
    print("summarized", summary)
    """
)


@dataclass
class SentRequests:
    """Every request botocore sent for the SDK, as (service.operation, host:port)."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: Any, event_name: str, **_: Any) -> None:
        operation = event_name.removeprefix("before-send.")
        self.sent.append((operation, urlsplit(request.url).netloc))

    def operations(self) -> set[str]:
        return {operation for operation, _ in self.sent}

    def hosts(self) -> set[str]:
        return {host for _, host in self.sent}


@pytest.fixture
def sent() -> SentRequests:
    return SentRequests()


@pytest.fixture
def session(served: Served, sent: SentRequests, monkeypatch: pytest.MonkeyPatch) -> PipelineSession:
    for service in ("S3", "SAGEMAKER", "CLOUDWATCH_LOGS", "STS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", served.url)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    boto_session = boto3.Session(
        aws_access_key_id="AKIDOWNER", aws_secret_access_key=secret_of("AKIDOWNER"), region_name="us-east-1"
    )
    boto_session.events.register("before-send", sent)
    sagemaker_client = boto_session.client(
        "sagemaker", config=BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=sagemaker_client,
        default_bucket=BUCKET,
        sagemaker_config=TELEMETRY_OFF,
    )


def summarize_pipeline(session: PipelineSession, code_dir: Path) -> Pipeline:
    """Summarize numbers.csv (scaled by a parameter) into report.json, then branch on its total."""
    (code_dir / "summarize.py").write_text(SUMMARIZE)
    (code_dir / "numbers.csv").write_text("3\n4\n5\n")
    scale = ParameterInteger(name="Scale", default_value=2)
    max_total = ParameterFloat(name="MaxTotal", default_value=100.0)
    processor = SKLearnProcessor(
        framework_version="1.2-1",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        base_job_name="summarize",
        role=ROLE,
        sagemaker_session=session,
    )
    report = PropertyFile(name="Report", output_name="report", path="report.json")
    summarize = ProcessingStep(
        name=STEP,
        step_args=processor.run(
            code=str(code_dir / "summarize.py"),
            inputs=[
                ProcessingInput(
                    source=str(code_dir / "numbers.csv"),
                    destination="/opt/ml/processing/input/numbers",
                    input_name="numbers",
                )
            ],
            outputs=[ProcessingOutput(output_name="report", source="/opt/ml/processing/report")],
            arguments=["--scale", scale.to_string()],
        ),
        property_files=[report],
        cache_config=CacheConfig(enable_caching=True, expire_after="P1D"),
    )
    total = JsonGet(step_name=STEP, property_file=report, json_path="summary.total")
    check = ConditionStep(
        name="CheckTotal",
        conditions=[
            ConditionLessThanOrEqualTo(
                left=total,  # type: ignore[arg-type]  # the SDK's hint omits JsonGet, which its docs use here
                right=max_total,
            )
        ],
        if_steps=[],
        else_steps=[FailStep(name="TotalTooHigh", error_message=Join(on=" ", values=["total >", max_total]))],
    )
    return Pipeline(
        name=PIPELINE, parameters=[scale, max_total], steps=[summarize, check], sagemaker_session=session
    )


def _steps(execution: Any) -> dict[str, dict[str, Any]]:
    return {step["StepName"]: step for step in execution.list_steps()}


def test_sdk_uploads_code_and_the_server_runs_the_processing_job(
    session: PipelineSession, served: Served, sent: SentRequests, tmp_path: Path
) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    pipeline = summarize_pipeline(session, code_dir)
    pipeline.upsert(role_arn=ROLE)  # CreatePipeline
    arn = pipeline.upsert(role_arn=ROLE)["PipelineArn"]  # "already exists" -> UpdatePipeline
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:pipeline/{PIPELINE}"

    # the SDK put the script and the input file into the object root through our S3 endpoint
    bucket = served.config.object_root / BUCKET
    uploaded_code = list((bucket / PIPELINE / "code").glob("*/summarize.py"))
    assert [p.read_text() for p in uploaded_code] == [SUMMARIZE]
    assert (bucket / PIPELINE / STEP / "input" / "numbers" / "numbers.csv").read_text() == "3\n4\n5\n"

    execution = pipeline.start(parameters={"Scale": 3})
    execution.wait(delay=1, max_attempts=40)
    assert execution.describe()["PipelineExecutionStatus"] == "Succeeded"
    steps = _steps(execution)
    assert {name: s["StepStatus"] for name, s in steps.items()} == {
        STEP: "Succeeded",
        "CheckTotal": "Succeeded",
    }
    assert steps["CheckTotal"]["Metadata"]["Condition"]["Outcome"] == "True"
    job_arn = steps[STEP]["Metadata"]["ProcessingJob"]["Arn"]
    assert job_arn.startswith("arn:aws:sagemaker:us-east-1:000000000000:processing-job/")

    # the script really ran, with the parameter as its argument: its output is in the object root
    execution_id = execution.arn.rsplit("/", 1)[-1]
    report = bucket / PIPELINE / execution_id / STEP / "output" / "report" / "report.json"
    assert json.loads(report.read_text()) == {"summary": {"total": 36, "count": 3}}

    # same job arguments (cache hit), a lower bar: the else branch fails with the Fail step's message
    failing = pipeline.start(parameters={"Scale": 3, "MaxTotal": 30})
    with pytest.raises(WaiterError, match="Failed"):
        failing.wait(delay=1, max_attempts=40)
    assert (
        failing.describe()["FailureReason"]
        == "Step failure: One or multiple steps failed. Failed steps: TotalTooHigh."
    )
    steps = _steps(failing)
    assert {name: s["StepStatus"] for name, s in steps.items()} == {
        STEP: "Succeeded",
        "CheckTotal": "Succeeded",
        "TotalTooHigh": "Failed",
    }
    assert steps[STEP]["CacheHitResult"] == {"SourcePipelineExecutionArn": execution.arn}
    assert steps["CheckTotal"]["Metadata"]["Condition"]["Outcome"] == "False"
    assert steps["TotalTooHigh"]["FailureReason"] == "total > 30.0"

    # no request left for anywhere but the server, and only these operations were made
    assert sent.hosts() == {urlsplit(served.url).netloc}
    assert sent.operations() == {
        "s3.ListBuckets",
        "s3.HeadBucket",
        "s3.CreateBucket",
        "s3.PutObject",
        "sagemaker.CreatePipeline",
        "sagemaker.UpdatePipeline",
        "sagemaker.StartPipelineExecution",
        "sagemaker.DescribePipelineExecution",
        "sagemaker.ListPipelineExecutionSteps",
    }
