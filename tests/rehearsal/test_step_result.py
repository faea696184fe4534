"""``execution.result()`` for ``@step`` functions against the deployed stack, as a user runs it:
the SageMaker SDK builds the pipeline (its function pickles go to the account's bucket), the
deployed API starts it, the StepRunner creates each training job in SageMaker, and the SDK reads
each step's value back (DescribeTrainingJob through the deployed API, which forwards it to
SageMaker for the pipeline's own jobs; then the results object from S3).

moto's SageMaker runs no container, so each created job stands in for one by running the
SageMaker SDK's own container entry (``sagemaker.remote_function.invoke_function``: load the
function and its arguments from S3, resolve upstream results, call it, store the result or the
error) with the job's resolved ContainerArguments, then completing or failing the job as the
container's exit would."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from sagemaker import Session
from sagemaker.remote_function import errors as remote_function_errors
from sagemaker.remote_function import invoke_function
from sagemaker.remote_function.errors import RemoteFunctionError
from sagemaker.workflow.function_step import step
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession

from tests.cloud.moto_patches import Failed, Hold, JobControl, JobOutcome
from tests.rehearsal.harness import Rehearsal, wait_until

TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/python-runtime:3.11"


class RemoteFunctionContainer:
    """What SageMaker's container does with a ``@step`` training job, on moto's S3. The SDK's
    error handler writes the reason to ``/opt/ml/output/failure``, which SageMaker turns into the
    job's FailureReason; here it is captured per job thread instead of written on the host."""

    def __init__(self, jobs: JobControl, session: boto3.Session) -> None:
        self.jobs = jobs
        self.session = session
        self.ran: list[str] = []
        self._failure = threading.local()

    def record_failure(self, reason: str) -> None:
        self._failure.reason = reason

    def decide(self, kind: str, job_name: str, request: dict[str, Any]) -> JobOutcome:
        assert kind == "Training", f"only @step jobs here, got {kind} {job_name}"
        arguments = [str(a) for a in request["algorithm_specification"]["ContainerArguments"]]
        threading.Thread(target=self._run, args=(job_name, arguments), daemon=True).start()
        return Hold()

    def _run(self, job_name: str, arguments: list[str]) -> None:
        wait_until(lambda: job_name in self.jobs.held, what=f"{job_name} created")
        outcome: JobOutcome | None = Failed("the stand-in container crashed")
        try:
            args = invoke_function._parse_args(arguments)
            context = invoke_function._load_pipeline_context(args)
            sagemaker_session = Session(boto_session=self.session, sagemaker_config=TELEMETRY_OFF)
            try:
                invoke_function._execute_remote_function(
                    sagemaker_session, args.s3_base_uri, None, None, context
                )
                outcome = None
            except Exception as error:  # the container's handler stores the error for result()
                base = f"{args.s3_base_uri}/{context.execution_id}/{context.step_name}"
                exit_code = invoke_function.handle_error(error, sagemaker_session, base, None)
                outcome = Failed(f"AlgorithmError: {self._failure.reason}, exit code: {exit_code}")
            self.ran.append(context.step_name)
        finally:
            self.jobs.release(job_name, outcome)


@pytest.fixture
def container(rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch) -> Any:
    stand_in = RemoteFunctionContainer(rehearsal.moto.jobs, rehearsal.owner_session())
    monkeypatch.setattr(remote_function_errors, "_write_failure_reason_file", stand_in.record_failure)
    rehearsal.moto.jobs.decide = stand_in.decide
    try:
        yield stand_in
    finally:
        rehearsal.moto.jobs.decide = None


def session_for(rehearsal: Rehearsal) -> PipelineSession:
    owner = rehearsal.owner_session()
    bucket = f"sagemaker-{rehearsal.region}-{rehearsal.account}"
    return PipelineSession(
        boto_session=owner,
        sagemaker_client=rehearsal.sagemaker(),
        sagemaker_config=TELEMETRY_OFF,
        default_bucket=bucket,
    )


def test_step_results_are_read_back_through_the_deployed_api(
    rehearsal: Rehearsal, container: RemoteFunctionContainer
) -> None:
    session = session_for(rehearsal)
    role = rehearsal.output("SamplePipelineRoleArn")
    settings: dict[str, Any] = {"role": role, "image_uri": IMAGE, "instance_type": "ml.m5.large"}

    @step(name="generate", **settings)
    def generate() -> tuple[int, int]:
        return 3, 4

    @step(name="add", **settings)
    def add(a: int, b: int) -> int:
        return a + b

    pair = generate()
    pipeline = Pipeline(name="step-results", steps=[add(pair[0], pair[1])], sagemaker_session=session)
    pipeline.create(role_arn=role)
    execution = pipeline.start()
    described = rehearsal.wait_execution(execution.arn)
    assert described["PipelineExecutionStatus"] == "Succeeded", [
        (s["StepName"], s.get("FailureReason")) for s in execution.list_steps()
    ]
    assert sorted(container.ran) == ["add", "generate"]
    assert execution.result("add") == 7
    assert execution.result("generate") == (3, 4)


def test_a_failed_step_result_is_refused(rehearsal: Rehearsal, container: RemoteFunctionContainer) -> None:
    session = session_for(rehearsal)
    role = rehearsal.output("SamplePipelineRoleArn")

    @step(name="divide", role=role, image_uri=IMAGE, instance_type="ml.m5.large")
    def divide(x: float, y: float) -> float:
        return x / y

    pipeline = Pipeline(name="step-result-failed", steps=[divide(1, 0)], sagemaker_session=session)
    pipeline.create(role_arn=role)
    execution = pipeline.start()
    described = rehearsal.wait_execution(execution.arn)
    assert described["PipelineExecutionStatus"] == "Failed", described
    (listed,) = execution.list_steps()
    assert "ZeroDivisionError('division by zero')" in listed["FailureReason"]
    with pytest.raises(RemoteFunctionError, match="step divide is not in Completed status"):
        execution.result("divide")
