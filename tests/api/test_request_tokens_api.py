"""``pipelines serve`` and boto3's own retries: a RetryPipelineExecution or callback whose
engine call failed after writing its decision (HTTP 500) is retried by boto3 with the same
ClientRequestToken and answered as the first call, and the execution carries on."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from botocore.config import Config as BotoConfig

from tests.api.conftest import Served
from tests.api.test_sagemaker_api import callback_definition, create, wait_done, waiting_token
from tests.crash_points import Attempts, attempts_at, dies_once_after_writing


def retrying_client(served: Served, operation: str) -> tuple[Any, Attempts]:
    """A SageMaker client with boto3's default retries, and each attempt it made at ``operation``."""
    client = served.client("sagemaker", config=BotoConfig())
    return client, attempts_at(client, operation)


def steps_of(sm: Any, arn: str) -> list[dict[str, Any]]:
    return list(sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"])


def test_a_retry_that_failed_after_writing_is_answered_by_boto3s_own_retry(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm, attempts = retrying_client(served, "RetryPipelineExecution")
    create(sm, definition=callback_definition())
    arn = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    sm.send_pipeline_execution_step_failure(CallbackToken=waiting_token(sm, arn), FailureReason="first try")
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == "Failed"
    written = dies_once_after_writing(monkeypatch, served.api.runtime.engine, "retry")

    answer = sm.retry_pipeline_execution(PipelineExecutionArn=arn)

    assert attempts == [(500, "InternalFailure"), (200, "")]
    assert answer["PipelineExecutionArn"] == arn and len(written) == 1
    # the repeat took the execution over: the Callback step's second attempt waits
    deadline = time.monotonic() + 20
    while not any(s["AttemptCount"] == 2 and s["StepStatus"] == "Executing" for s in steps_of(sm, arn)):
        assert time.monotonic() < deadline, steps_of(sm, arn)
        time.sleep(0.05)
    (step,) = steps_of(sm, arn)
    sm.send_pipeline_execution_step_success(CallbackToken=step["Metadata"]["Callback"]["CallbackToken"])
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    assert [s["AttemptCount"] for s in steps_of(sm, arn)] == [2]  # retried once


@pytest.mark.parametrize("answer", ["success", "failure"])
def test_a_callback_that_failed_after_writing_is_answered_by_boto3s_own_retry(
    served: Served, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    operation = f"SendPipelineExecutionStep{answer.title()}"
    sm, attempts = retrying_client(served, operation)
    create(sm, definition=callback_definition())
    arn = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    token = waiting_token(sm, arn)
    written = dies_once_after_writing(monkeypatch, served.api.runtime.engine, f"callback_{answer}")

    if answer == "success":
        response = sm.send_pipeline_execution_step_success(
            CallbackToken=token, OutputParameters=[{"Name": "answer", "Value": "yes"}]
        )
    else:
        response = sm.send_pipeline_execution_step_failure(CallbackToken=token, FailureReason="said no")

    assert attempts == [(500, "InternalFailure"), (200, "")]
    assert response["PipelineExecutionArn"] == arn and len(written) == 1
    expected = "Succeeded" if answer == "success" else "Failed"
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == expected
    (step,) = steps_of(sm, arn)
    assert step["StepStatus"] == expected and step["AttemptCount"] == 1
    ended = written[0].steps["Wait"].ended_at
    assert ended is not None and abs(step["EndTime"] - ended) < timedelta(milliseconds=1)  # ended once


def test_a_repeated_request_with_its_token_returns_the_same_answer(served: Served) -> None:
    """Without any failure: a request sent twice with one ClientRequestToken gets the same ARN
    twice (Stop, Retry and both callbacks), and a new token gets the real refusal."""
    sm, _ = retrying_client(served, "StopPipelineExecution")
    create(sm, definition=callback_definition())
    arn = sm.start_pipeline_execution(PipelineName="demo")["PipelineExecutionArn"]
    token = waiting_token(sm, arn)
    stop = {"PipelineExecutionArn": arn, "ClientRequestToken": "stop-" + "0" * 35}
    assert sm.stop_pipeline_execution(**stop)["PipelineExecutionArn"] == arn
    failure = {"CallbackToken": token, "FailureReason": "withdrawn", "ClientRequestToken": "fail-" + "0" * 35}
    assert sm.send_pipeline_execution_step_failure(**failure)["PipelineExecutionArn"] == arn
    assert wait_done(sm, arn)["PipelineExecutionStatus"] == "Stopped"

    assert sm.stop_pipeline_execution(**stop)["PipelineExecutionArn"] == arn
    assert sm.send_pipeline_execution_step_failure(**failure)["PipelineExecutionArn"] == arn
    with pytest.raises(sm.exceptions.ConflictException):
        sm.stop_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="stop-" + "1" * 35)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.send_pipeline_execution_step_failure(**{**failure, "ClientRequestToken": "fail-" + "1" * 35})
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopped"
