"""The shared scenario table (tests/cloud/scenarios.py) on the deployed stack: the same
definitions, job outcomes, functions and interactions that the embedded runtime and the in-process
cloud runtime must agree on (tests/cloud/test_parity.py), here driven as a team drives a
deployment: every call through API Gateway with a boto3 SageMaker client, Callback steps answered
from the SQS message with SendPipelineExecutionStepSuccess/Failure, the engine and the user's
functions in their own Python 3.12 processes, the StepRunner in Step Functions.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pipelines.store.base import StepRecord

from tests.cloud.drivers import ScriptedMotoJobs, step_of_job
from tests.cloud.scenarios import SCENARIOS, RunOutcome, Scenario, function_arn, outcome_of, queue_url
from tests.rehearsal.harness import Rehearsal, add_user_function, wait_until

# What the brief asks the deployment to show: a Lambda step, a Callback answered through SQS,
# stop (a waiting callback, a running job, a retry backoff), retry, and retry policies; and a
# ForEach whose iterations run on their body step's route, one of them rerun by a retry.
REHEARSED = (
    "lambda_outputs_feed_a_condition",
    "a_lambda_error_fails_the_step",
    "callback_success_feeds_the_next_step",
    "callback_failure_fails_the_step",
    "stop_while_a_callback_waits",
    "stop_during_a_running_job",
    "stop_during_a_retry_backoff",
    "retry_pipeline_execution_reruns_only_what_failed",
    "capacity_errors_then_success_under_a_retry_policy",
    "throttling_is_retried_by_default",
    "for_each_retry_reruns_only_the_failed_iteration",
)


def _token() -> str:
    return uuid.uuid4().hex


class RehearsalDriver:
    """:class:`tests.cloud.scenarios.Driver` on the deployed stack, through its API."""

    def __init__(self, rehearsal: Rehearsal, scenario: Scenario, functions_dir: Path) -> None:
        self.rehearsal = rehearsal
        self.scenario = scenario
        self.pipeline = "rehearsal-" + scenario.name.replace("_", "-")
        self.sagemaker = rehearsal.sagemaker()
        for name, source in scenario.functions.items():
            if name not in rehearsal.lambdas.functions:
                assert add_user_function(rehearsal, name, source, functions_dir) == function_arn(name)
        sqs = rehearsal.aws("sqs")
        for queue in scenario.queues:
            assert sqs.create_queue(QueueName=queue)["QueueUrl"] == queue_url(queue)
            self._drain(sqs, queue_url(queue))
        rehearsal.moto.jobs.decide = ScriptedMotoJobs(scenario, rehearsal.moto.jobs).decide
        rehearsal.moto.blocking_waits = scenario.long_backoff
        request: dict[str, Any] = {
            "PipelineName": self.pipeline,
            "PipelineDefinition": json.dumps(scenario.definition),
            "RoleArn": rehearsal.output("SamplePipelineRoleArn"),
            "ClientRequestToken": _token(),
        }
        if scenario.parallelism is not None:
            request["ParallelismConfiguration"] = {"MaxParallelExecutionSteps": scenario.parallelism}
        self.sagemaker.create_pipeline(**request)

    @staticmethod
    def _drain(sqs: Any, url: str) -> None:
        """Leave no message of an earlier scenario (PurgeQueue allows one call a minute)."""
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30"})

    def start(self, **kwargs: Any) -> str:
        request: dict[str, Any] = {"PipelineName": self.pipeline, "ClientRequestToken": _token()}
        if kwargs.get("parameters"):
            request["PipelineParameters"] = [{"Name": k, "Value": v} for k, v in kwargs["parameters"].items()]
        if kwargs.get("selective"):
            request["SelectiveExecutionConfig"] = {
                "SourcePipelineExecutionArn": kwargs["selective"]["source"],
                "SelectedSteps": [{"StepName": s} for s in kwargs["selective"]["steps"]],
            }
        return str(self.sagemaker.start_pipeline_execution(**request)["PipelineExecutionArn"])

    def wait(self, execution_arn: str) -> None:
        self.rehearsal.wait_execution(execution_arn)

    def wait_step(self, execution_arn: str, step: str, ready: Callable[[StepRecord], bool]) -> StepRecord:
        def present() -> StepRecord | None:
            record = self.steps(execution_arn).get(step)
            return record if record is not None and ready(record) else None

        found: StepRecord = wait_until(present, what=f"step {step}")
        return found

    def wait_job_running(self, execution_arn: str, step: str) -> None:
        def running() -> bool:
            held = [step_of_job(name)[0] for name in list(self.rehearsal.moto.jobs.held)]
            record = self.steps(execution_arn).get(step)
            return step in held and record is not None and record.status == "Executing"

        wait_until(running, what=f"job of {step} running")

    def callback_success(self, execution_arn: str, step: str, outputs: dict[str, Any]) -> None:
        self.sagemaker.send_pipeline_execution_step_success(
            CallbackToken=self._token_of(execution_arn, step),
            OutputParameters=[{"Name": k, "Value": str(v)} for k, v in outputs.items()],
            ClientRequestToken=_token(),
        )

    def callback_failure(self, execution_arn: str, step: str, reason: str) -> None:
        self.sagemaker.send_pipeline_execution_step_failure(
            CallbackToken=self._token_of(execution_arn, step),
            FailureReason=reason,
            ClientRequestToken=_token(),
        )

    def _token_of(self, execution_arn: str, step: str) -> str:
        token = self.steps(execution_arn)[step].callback_token
        assert token is not None
        return token

    def stop(self, execution_arn: str) -> None:
        self.sagemaker.stop_pipeline_execution(
            PipelineExecutionArn=execution_arn, ClientRequestToken=_token()
        )

    def retry(self, execution_arn: str) -> None:
        self.sagemaker.retry_pipeline_execution(
            PipelineExecutionArn=execution_arn, ClientRequestToken=_token()
        )

    def messages(self, queue: str) -> list[dict[str, Any]]:
        sqs = self.rehearsal.aws("sqs")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue_url(queue), MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            found.extend(json.loads(m["Body"]) for m in batch)

    def steps(self, execution_arn: str) -> dict[str, StepRecord]:
        return self.rehearsal.steps(execution_arn)


def described_outcome(driver: RehearsalDriver, arn: str) -> RunOutcome:
    """The final statuses and reasons as the API reports them (DescribePipelineExecution and
    ListPipelineExecutionSteps), in the scenario table's form."""
    execution = driver.sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    record = driver.rehearsal.store().get_execution(arn.rsplit("/", 1)[-1])
    assert record is not None
    from_store = outcome_of(driver, arn, record)
    assert execution["PipelineExecutionStatus"] == from_store.status
    assert execution.get("FailureReason") == from_store.failure_reason
    listed = driver.sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)[
        "PipelineExecutionSteps"
    ]
    assert {s["StepName"]: (s["StepStatus"], s.get("FailureReason")) for s in listed} == {
        name: (step.status, step.failure_reason) for name, step in from_store.steps.items()
    }
    return from_store


@pytest.mark.parametrize("name", REHEARSED)
def test_the_deployment_plays_the_shared_scenario(
    rehearsal: Rehearsal, functions_dir: Path, name: str
) -> None:
    scenario = next(s for s in SCENARIOS if s.name == name)
    driver = RehearsalDriver(rehearsal, scenario, functions_dir)
    try:
        arns = scenario.drive(driver)
        if scenario.check is not None:
            scenario.check(driver, arns)
        assert [described_outcome(driver, arn) for arn in arns] == scenario.expected
    finally:
        rehearsal.moto.jobs.decide = None
        rehearsal.moto.blocking_waits = False
