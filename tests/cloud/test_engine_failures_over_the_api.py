"""An engine Lambda that fails, seen by a real boto3 client of the deployed API.

The client is the one users make (``pipelines.api.client.client(..., cloud=True)``, boto3's
default retry settings) and its requests reach the api Lambda's endpoint as API Gateway proxy
events (tests/deploy/gateway.py); the endpoint's runtime is the ``EngineClient`` that invokes
the engine function in moto. A failed engine invocation is a server fault: HTTP 500
``InternalFailure``, which boto3 retries by itself; the start it retries must not run twice.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda_simple.models import LambdaSimpleBackend
from pipelines import aws
from pipelines.api.client import client as api_client
from pipelines.api.ops import Operations, sagemaker_handlers
from pipelines.api.wire import JsonService
from pipelines.deploy.apigateway import CloudEndpoint
from pipelines.engine import Engine
from pipelines.events import PublishFailed
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runtime.engine_client import EngineClient

from tests.cloud import moto_patches
from tests.cloud.drivers import step_of_job
from tests.cloud.harness import ACCOUNT, ENGINE_FUNCTION, REGION, Cloud, wait_until
from tests.cloud.moto_patches import Complete, Failed, JobOutcome
from tests.cloud.scenarios import CAPACITY, callback_step, pipeline, processing
from tests.crash_points import Attempts, attempts_at, dies_once_after_writing
from tests.deploy.gateway import API_URL, Gateway


class Throttled(LambdaClientError):
    """Lambda Invoke's answer at the concurrency limit."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


def sagemaker_client(
    cloud: Cloud,
    config: BotoConfig | None = None,
    runtime: EngineClient | None = None,
    operation: str = "StartPipelineExecution",
) -> tuple[Any, Attempts]:
    """A user's SageMaker client of the deployment, and the (HTTP status, error code) of each
    attempt it makes at ``operation``, retries included."""
    operations = Operations(
        store=cloud.store, runtime=runtime or cloud.api, objects=S3ObjectStore(cloud.s3), region=REGION
    )
    endpoint = CloudEndpoint(
        sagemaker=JsonService("sagemaker", sagemaker_handlers(operations)), region=REGION
    )
    session = boto3.Session(aws_access_key_id="AKIDUSER", aws_secret_access_key="secret", region_name=REGION)
    client = Gateway(endpoint, account_id=ACCOUNT).attach(
        api_client(API_URL, REGION, cloud=True, session=session, config=config)
    )
    return client, attempts_at(client, operation)


def engine_starts(cloud: Cloud) -> int:
    return sum(
        1
        for name, event in cloud.moto.invocations
        if name == ENGINE_FUNCTION and event.get("action") == "StartExecution"
    )


@pytest.mark.parametrize(
    "death",
    [
        MemoryError("the engine Lambda ran out of memory after writing the execution"),
        PublishFailed("could not put the status events: InternalFailure"),
    ],
    ids=["the invocation failed", "the engine answered its own error"],
)
def test_a_start_whose_engine_died_after_writing_is_finished_by_boto3s_own_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, death: Exception
) -> None:
    """The engine writes the execution (and the request's token) and fails before it launches
    anything, as an unhandled error or as an error of its own that is no fault of the caller's:
    the API answers 500, boto3 resends the same ClientRequestToken, and the replay returns the
    execution the first attempt wrote and launches what it owed. The user's one call returns
    one execution, whose steps each run once."""
    cloud.register(json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"]))))
    real_start = cloud.runtime.engine.start
    died: list[str] = []

    def die_after_writing(request: Any, **kwargs: Any) -> Any:
        outcome = real_start(request, **kwargs)
        if not died:
            died.append(outcome.execution.execution_arn)
            raise death
        return outcome

    monkeypatch.setattr(cloud.runtime.engine, "start", die_after_writing)
    client, attempts = sagemaker_client(cloud)

    arn = client.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"]
    final = cloud.wait(arn)

    assert attempts == [(500, "InternalFailure"), (200, "")]
    assert died == [arn] and engine_starts(cloud) == 2
    listed = client.list_pipeline_executions(PipelineName="p")["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in listed] == [arn]
    assert final.status == "Succeeded", final.failure_reason
    jobs = Counter(step_of_job(name)[0] for _kind, name in cloud.moto.jobs.created)
    assert jobs == Counter({"A": 1, "B": 1})


def test_a_throttled_engine_is_a_503_the_client_retries(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda refuses the engine's invocation (TooManyRequestsException, after the API's Lambda
    client gave up): 503 ServiceUnavailable, nothing written; boto3 retries and the start
    goes through once Lambda lets it."""
    cloud.register(json.dumps(pipeline(processing("A"))))
    real_invoke = LambdaSimpleBackend.invoke
    throttled: list[str] = []

    def throttle_once(self: LambdaSimpleBackend, function_name: str, *args: Any) -> Any:
        if function_name == ENGINE_FUNCTION and not throttled:
            throttled.append(function_name)
            raise Throttled()
        return real_invoke(self, function_name, *args)

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", throttle_once)
    no_retries = aws.client("lambda", REGION, config=BotoConfig(retries={"total_max_attempts": 1}))
    client, attempts = sagemaker_client(cloud, runtime=EngineClient(no_retries, ENGINE_FUNCTION))

    arn = client.start_pipeline_execution(PipelineName="p")["PipelineExecutionArn"]

    assert throttled and attempts == [(503, "ServiceUnavailable"), (200, "")]
    assert cloud.wait(arn).status == "Succeeded"
    listed = client.list_pipeline_executions(PipelineName="p")["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in listed] == [arn]


def test_an_engine_that_keeps_failing_is_a_500_the_client_sees_once_its_retries_are_spent(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never a 4xx that blames the caller: every attempt is answered 500 InternalFailure, the
    client retries as its retry mode says (standard: 3 attempts) and then raises the error,
    which names the operation and the engine's failure; nothing was started."""
    cloud.register(json.dumps(pipeline(processing("A"))))

    def unreachable(self: Engine, request: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the engine could not reach DynamoDB")

    monkeypatch.setattr(Engine, "start", unreachable)
    client, attempts = sagemaker_client(
        cloud, BotoConfig(retries={"mode": "standard", "total_max_attempts": 3})
    )

    with pytest.raises(ClientError) as caught:
        client.start_pipeline_execution(PipelineName="p")

    error = caught.value.response
    assert attempts == [(500, "InternalFailure")] * 3
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert error["ResponseMetadata"]["RetryAttempts"] == 2
    assert error["Error"]["Code"] == "InternalFailure"
    assert (
        "the engine failed on StartExecution: the engine could not reach DynamoDB"
        in error["Error"]["Message"]
    )
    assert engine_starts(cloud) == 3
    assert client.list_pipeline_executions(PipelineName="p")["PipelineExecutionSummaries"] == []


def test_a_rejected_start_stays_a_400_and_is_not_retried(cloud: Cloud) -> None:
    """The engine's own refusals are the caller's mistake: 400 with the engine's code, once."""
    cloud.register(json.dumps(pipeline(processing("A"))))
    client, attempts = sagemaker_client(cloud)

    with pytest.raises(ClientError) as caught:
        client.start_pipeline_execution(
            PipelineName="p", PipelineParameters=[{"Name": "Undeclared", "Value": "1"}]
        )

    assert attempts == [(400, "ValidationException")]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert engine_starts(cloud) == 1


def test_a_retry_whose_engine_died_after_writing_is_answered_by_boto3s_own_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RetryPipelineExecution's decision (run 2, Executing) is written with its ClientRequestToken
    and the engine dies: the API answers 500, boto3 resends the same token, and the repeat is
    answered with the same execution instead of a ConflictException (it is Executing now). The
    execution is retried once, and the repeat re-drives the run the first attempt never launched."""
    outcomes: list[JobOutcome] = [Failed(CAPACITY), Complete()]
    cloud.moto.jobs.decide = lambda kind, name, request: outcomes.pop(0)
    cloud.register(json.dumps(pipeline(processing("A"))))
    arn = cloud.start().execution_arn
    assert cloud.wait(arn).status == "Failed"
    written = dies_once_after_writing(monkeypatch, cloud.runtime.engine, "retry")
    client, attempts = sagemaker_client(cloud, operation="RetryPipelineExecution")

    answer = client.retry_pipeline_execution(PipelineExecutionArn=arn)

    assert attempts == [(500, "InternalFailure"), (200, "")]
    assert answer["PipelineExecutionArn"] == arn
    assert written[0].execution is not None and written[0].execution.run == 2
    final = cloud.wait(arn)
    assert final.status == "Succeeded", final.failure_reason
    assert final.run == 2  # retried once, not twice
    jobs = [step_of_job(name) for _kind, name in cloud.moto.jobs.created]
    assert [step for step, _attempt in jobs] == ["A", "A"]  # the failed run's job, then the retry's


def test_a_repeated_retry_with_another_token_is_still_refused(cloud: Cloud) -> None:
    """A different ClientRequestToken is a new request: retrying an Executing execution is a
    ConflictException (400, not retried), as before."""
    outcomes: list[JobOutcome] = [Failed(CAPACITY), Complete()]
    cloud.moto.jobs.decide = lambda kind, name, request: outcomes.pop(0)
    cloud.register(json.dumps(pipeline(processing("A"))))
    arn = cloud.start().execution_arn
    assert cloud.wait(arn).status == "Failed"
    client, attempts = sagemaker_client(cloud, operation="RetryPipelineExecution")
    client.retry_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="first-" + "0" * 34)
    assert cloud.wait(arn).status == "Succeeded"

    with pytest.raises(ClientError) as caught:
        client.retry_pipeline_execution(PipelineExecutionArn=arn, ClientRequestToken="second-" + "0" * 33)

    assert caught.value.response["Error"]["Code"] == "ConflictException"
    assert attempts == [(200, ""), (400, "ConflictException")]
    assert cloud.execution(arn).run == 2


@pytest.mark.parametrize("answer", ["success", "failure"])
def test_a_callback_whose_engine_died_after_writing_is_answered_by_boto3s_own_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """SendPipelineExecutionStepSuccess/Failure: the engine completes the Callback step (and
    spends its callback token) in a transaction with the request's ClientRequestToken, then
    dies. boto3's retry is answered with the execution's ARN, not "callback token not valid";
    the step is completed once, and the repeat carries out what the first attempt owed (the
    next step's job, or the release of the finished run)."""
    cloud.queue("approvals")
    cloud.register(
        json.dumps(
            pipeline(
                callback_step("Approve", "approvals", {}, {"verdict": "String"}),
                processing("Deploy", DependsOn=["Approve"]),
            )
        )
    )
    arn = cloud.start().execution_arn
    wait_until(
        lambda: cloud.steps(arn).get("Approve") is not None
        and cloud.steps(arn)["Approve"].waiting_for_callback
    )
    token = cloud.steps(arn)["Approve"].callback_token
    assert token is not None
    operation = f"SendPipelineExecutionStep{answer.title()}"
    written = dies_once_after_writing(monkeypatch, cloud.runtime.engine, f"callback_{answer}")
    client, attempts = sagemaker_client(cloud, operation=operation)

    if answer == "success":
        response = client.send_pipeline_execution_step_success(
            CallbackToken=token, OutputParameters=[{"Name": "verdict", "Value": "approved"}]
        )
    else:
        response = client.send_pipeline_execution_step_failure(CallbackToken=token, FailureReason="rejected")

    assert attempts == [(500, "InternalFailure"), (200, "")]
    assert response["PipelineExecutionArn"] == arn
    final = cloud.wait(arn)
    approve = cloud.steps(arn)["Approve"]
    first = written[0].steps["Approve"]
    assert (approve.status, approve.ended_at, approve.version) == (
        first.status,
        first.ended_at,
        first.version,
    )
    created = [step_of_job(name)[0] for _kind, name in cloud.moto.jobs.created]
    if answer == "success":
        assert approve.status == "Succeeded" and final.status == "Succeeded", final.failure_reason
        assert approve.metadata["Callback"]["OutputParameters"] == [{"Name": "verdict", "Value": "approved"}]
        assert created == ["Deploy"]
    else:
        assert approve.status == "Failed" and approve.failure_reason == "rejected"
        assert final.status == "Failed" and created == []


def test_a_spent_callback_token_with_another_client_token_is_still_refused(cloud: Cloud) -> None:
    """A second, different callback request for a completed step is refused, as before."""
    cloud.queue("approvals")
    cloud.register(json.dumps(pipeline(callback_step("Approve", "approvals", {}, {}))))
    arn = cloud.start().execution_arn
    wait_until(
        lambda: cloud.steps(arn).get("Approve") is not None
        and cloud.steps(arn)["Approve"].waiting_for_callback
    )
    token = cloud.steps(arn)["Approve"].callback_token
    client, attempts = sagemaker_client(cloud, operation="SendPipelineExecutionStepSuccess")
    client.send_pipeline_execution_step_success(CallbackToken=token, ClientRequestToken="a" * 40)
    assert cloud.wait(arn).status == "Succeeded"

    with pytest.raises(ClientError) as caught:
        client.send_pipeline_execution_step_success(CallbackToken=token, ClientRequestToken="b" * 40)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "is not valid" in caught.value.response["Error"]["Message"]
    assert attempts == [(200, ""), (400, caught.value.response["Error"]["Code"])]


def test_a_stop_whose_engine_died_after_writing_is_carried_out_by_boto3s_own_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine writes the stop (the step waiting out its hour-long retry backoff is Stopping)
    and dies before it stops the step's StepRunner. boto3's retry with the same
    ClientRequestToken is answered with the ARN and re-drives the stop the first attempt owed,
    so the execution ends Stopped now, not after the backoff or when the sweep finds it."""
    monkeypatch.setattr(moto_patches, "BLOCKING_WAIT_CAP_SECONDS", 600)  # the backoff really waits
    cloud.moto.blocking_waits = True
    outcomes: list[JobOutcome] = [Failed("InternalServerError: An internal error occurred.")]
    cloud.moto.jobs.decide = lambda kind, name, request: outcomes.pop(0)
    policy = {"ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"], "IntervalSeconds": 3600, "MaxAttempts": 2}
    cloud.register(json.dumps(pipeline(processing("Prep", RetryPolicies=[policy]))))
    arn = cloud.start().execution_arn
    wait_until(lambda: (step := cloud.steps(arn).get("Prep")) is not None and step.attempt == 2)
    written = dies_once_after_writing(monkeypatch, cloud.runtime.engine, "stop")
    client, attempts = sagemaker_client(cloud, operation="StopPipelineExecution")

    answer = client.stop_pipeline_execution(PipelineExecutionArn=arn)

    assert attempts == [(500, "InternalFailure"), (200, "")]
    assert answer["PipelineExecutionArn"] == arn
    stopping = written[0].execution
    assert stopping is not None and stopping.status == "Stopping"
    final = cloud.wait(arn, timeout=20.0)
    assert final.status == "Stopped" and final.run == 1
    prep = cloud.steps(arn)["Prep"]
    assert (prep.status, prep.attempt) == ("Stopped", 2)
    assert [step_of_job(name)[0] for _kind, name in cloud.moto.jobs.created] == ["Prep"]
