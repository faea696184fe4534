"""The api Lambda behind API Gateway: routing, identity, and the wire layer's answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.api.client import client as sagemaker_client
from pipelines.deploy.apigateway import handle_proxy_event
from pipelines.deploy.clients import sign_for_execute_api

from tests.deploy.conftest import OTHER, OWNER, REGION, ROLE, Cloud, LambdaContext, definition, load_handler
from tests.deploy.gateway import API_URL, Gateway


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_per_operation_paths_reach_the_operations(cloud: Cloud) -> None:
    sagemaker = cloud.sagemaker(cloud=True)  # execute-api signing, POST /<Operation>
    arn = sagemaker.create_pipeline(PipelineName="paths", PipelineDefinition=definition(), RoleArn=ROLE)[
        "PipelineArn"
    ]
    assert arn == f"arn:aws:sagemaker:us-east-1:{OWNER}:pipeline/paths"
    listed = sagemaker.list_pipelines()["PipelineSummaries"]
    assert [p["PipelineName"] for p in listed] == ["paths"]


def test_root_path_with_target_header_works_and_paths_are_checked(cloud: Cloud) -> None:
    gateway = Gateway(cloud.gateway.endpoint, account_id=OWNER)
    sagemaker = gateway.attach(sign_for_execute_api(sagemaker_client(API_URL, REGION), REGION))
    sagemaker.create_pipeline(PipelineName="root", PipelineDefinition=definition(), RoleArn=ROLE)
    assert gateway.events[-1]["path"] == "/"
    assert gateway.events[-1]["headers"]["X-Amz-Target"] == "SageMaker.CreatePipeline"
    # The same request on the path of another operation is refused: IAM scoped by path must hold.
    event = dict(gateway.events[-1], path="/DescribePipeline")
    response = handle_proxy_event(cloud.gateway.endpoint, event)[1]
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "ValidationException"


def test_unsigned_for_execute_api_is_refused_like_api_gateway(cloud: Cloud) -> None:
    stock = cloud.sagemaker(cloud=False)  # signs for "sagemaker", as boto3 does by default
    with pytest.raises(ClientError) as exc:
        stock.list_pipelines()
    assert code(exc) == "InvalidSignatureException"


def test_the_caller_account_comes_from_the_request_context(cloud: Cloud) -> None:
    arn = cloud.create_pipeline("mine", account=OWNER)
    other = cloud.clients(OTHER).sagemaker
    assert other.list_pipelines()["PipelineSummaries"] == []
    with pytest.raises(ClientError) as exc:
        other.describe_pipeline(PipelineName=arn)
    assert code(exc) == "AccessDeniedException"


def test_a_request_without_an_authenticated_account_is_refused(cloud: Cloud) -> None:
    anonymous = cloud.clients(account=None).sagemaker
    with pytest.raises(ClientError) as exc:
        anonymous.list_pipelines()
    assert code(exc) == "AccessDeniedException"


def test_unknown_rest_paths_are_refused(cloud: Cloud) -> None:
    event: dict[str, Any] = {
        "httpMethod": "GET",
        "path": "/nothing/here",
        "headers": {},
        "body": None,
        "requestContext": {"requestId": "r1", "identity": {"accountId": OWNER}},
    }
    response = handle_proxy_event(cloud.gateway.endpoint, event)[1]
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "UnknownOperationException"


def test_the_lambda_handler_answers_proxy_events(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_handler("api")
    monkeypatch.setattr(module, "cloud_endpoint", lambda: cloud.gateway.endpoint)
    gateway = Gateway(account_id=OWNER, handler=lambda event: module.handler(event, LambdaContext()))
    sagemaker = cloud.clients(gateway=gateway).sagemaker
    sagemaker.create_pipeline(PipelineName="via-lambda", PipelineDefinition=definition(), RoleArn=ROLE)
    assert sagemaker.describe_pipeline(PipelineName="via-lambda")["PipelineName"] == "via-lambda"
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(metrics) == 2  # one flush per invocation
    assert all(m["api"] == "SageMaker" and m["Requests"] == [1.0] for m in metrics)


@pytest.mark.parametrize("origin", [None, "https://d111111abcdef8.cloudfront.net"])
def test_answers_carry_cors_headers_for_the_console_origin_only(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, origin: str | None
) -> None:
    """With the web console deployed the stack sets CONSOLE_ORIGIN: answers (errors included)
    name exactly that origin; without it no CORS header is sent at all."""
    if origin is None:
        monkeypatch.delenv("CONSOLE_ORIGIN", raising=False)
    else:
        monkeypatch.setenv("CONSOLE_ORIGIN", origin)
    module = load_handler("api")
    monkeypatch.setattr(module, "cloud_endpoint", lambda: cloud.gateway.endpoint)
    gateway = Gateway(account_id=OWNER, handler=lambda event: module.handler(event, LambdaContext()))
    sagemaker = cloud.clients(gateway=gateway).sagemaker
    answered = sagemaker.list_pipelines()["ResponseMetadata"]["HTTPHeaders"]
    with pytest.raises(ClientError) as refused:
        sagemaker.describe_pipeline(PipelineName="missing")
    failed = refused.value.response["ResponseMetadata"]["HTTPHeaders"]
    for headers in (answered, failed):
        assert headers.get("access-control-allow-origin") == origin
        if origin is not None:
            assert "x-amzn-ErrorType" in headers["access-control-expose-headers"]


def test_a_signed_session_lets_the_sdk_build_its_own_clients(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the SageMaker SDK does for put_triggers: a scheduler client from the session,
    pointed at the API by AWS_ENDPOINT_URL_SCHEDULER."""
    import boto3
    from pipelines.deploy.clients import sign_session_for_execute_api

    monkeypatch.setenv("AWS_ENDPOINT_URL_SCHEDULER", API_URL)
    session = boto3.Session(region_name=REGION)
    sign_session_for_execute_api(session, REGION)
    scheduler = Gateway(cloud.gateway.endpoint, account_id=OWNER).attach(session.client("scheduler"))
    assert scheduler.list_schedules()["Schedules"] == []
