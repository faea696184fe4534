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
from pipelines.api.client import client as api_client
from pipelines.api.ops import Operations, sagemaker_handlers
from pipelines.api.wire import JsonService
from pipelines.deploy.apigateway import CloudEndpoint
from pipelines.engine import Engine
from pipelines.objects.s3 import S3ObjectStore

from tests.cloud.drivers import step_of_job
from tests.cloud.harness import ACCOUNT, ENGINE_FUNCTION, REGION, Cloud
from tests.cloud.scenarios import pipeline, processing
from tests.deploy.gateway import API_URL, Gateway

Attempts = list[tuple[int, str]]


def sagemaker_client(cloud: Cloud, config: BotoConfig | None = None) -> tuple[Any, Attempts]:
    """A user's SageMaker client of the deployment, and the (HTTP status, error code) of each
    attempt it makes at StartPipelineExecution, retries included."""
    endpoint = CloudEndpoint(
        sagemaker=JsonService(
            "sagemaker",
            sagemaker_handlers(
                Operations(
                    store=cloud.store, runtime=cloud.api, objects=S3ObjectStore(cloud.s3), region=REGION
                )
            ),
        ),
        region=REGION,
    )
    session = boto3.Session(aws_access_key_id="AKIDUSER", aws_secret_access_key="secret", region_name=REGION)
    client = Gateway(endpoint, account_id=ACCOUNT).attach(
        api_client(API_URL, REGION, cloud=True, session=session, config=config)
    )
    attempts: Attempts = []

    def record(response: Any, **_: Any) -> None:
        if response is not None:
            http, parsed = response
            attempts.append((http.status_code, parsed.get("Error", {}).get("Code", "")))

    client.meta.events.register("needs-retry.sagemaker.StartPipelineExecution", record)
    return client, attempts


def engine_starts(cloud: Cloud) -> int:
    return sum(
        1
        for name, event in cloud.moto.invocations
        if name == ENGINE_FUNCTION and event.get("action") == "StartExecution"
    )


def test_a_start_whose_engine_died_after_writing_is_finished_by_boto3s_own_retry(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine writes the execution (and the request's token) and dies before it launches
    anything: the API answers 500, boto3 resends the same ClientRequestToken, and the replay
    returns the execution the first attempt wrote and launches what it owed. The user's one
    call returns one execution, whose steps each run once."""
    cloud.register(json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"]))))
    real_start = cloud.runtime.engine.start
    died: list[str] = []

    def die_after_writing(request: Any, **kwargs: Any) -> Any:
        outcome = real_start(request, **kwargs)
        if not died:
            died.append(outcome.execution.execution_arn)
            raise MemoryError("the engine Lambda ran out of memory after writing the execution")
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
