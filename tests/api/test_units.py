"""Validation, response shaping, identity, the client helper's signing and routing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pipelines.api.client import client
from pipelines.api.identity import AuthenticationFailed, Authenticator, SignedRequest, signed_credential
from pipelines.api.shapes import ShapeMismatch, shape_output
from pipelines.api.validation import RequestValidationError, service_model, validate_input

from tests.api.conftest import Served

SAGEMAKER = service_model("sagemaker")


def operation(name: str) -> Any:
    return SAGEMAKER.operation_model(name)


def test_validator_adds_max_enum_and_full_match_patterns() -> None:
    with pytest.raises(RequestValidationError) as caught:
        validate_input(
            operation("ListPipelines"),
            {"SortBy": "Size", "MaxResults": 500, "PipelineNamePrefix": "x" * 300},
        )
    text = str(caught.value)
    assert "4 validation errors" in text  # the 300 x-es also break the name pattern
    assert "Member must satisfy enum value set: [Name, CreationTime]" in text
    assert "less than or equal to 100" in text
    with pytest.raises(RequestValidationError, match="regular expression"):
        validate_input(
            operation("DescribePipeline"), {"PipelineName": "ok-name!"}
        )  # a prefix match is not enough


def test_validator_drops_nulls_and_fills_tokens() -> None:
    params = validate_input(operation("DeletePipeline"), {"PipelineName": "p", "ClientRequestToken": None})
    assert params["PipelineName"] == "p" and len(params["ClientRequestToken"]) >= 32


def test_strict_shapes_catch_drift() -> None:
    output = operation("DescribePipeline").output_shape
    shaped = shape_output(
        output, {"PipelineName": "p", "CreationTime": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, strict=True
    )
    assert shaped == {"PipelineName": "p", "CreationTime": 1704067200.0}
    assert shape_output(output, {"Unknown": 1}) == {}  # lenient: dropped
    with pytest.raises(ShapeMismatch):
        shape_output(output, {"Unknown": 1}, strict=True)
    with pytest.raises(ShapeMismatch):
        shape_output(output, {"PipelineStatus": "Sleeping"}, strict=True)
    with pytest.raises(ShapeMismatch):
        shape_output(
            operation("DescribePipelineExecution").output_shape, {"PipelineVersionId": "1"}, strict=True
        )


def test_identity_from_sigv4_credential() -> None:
    header = "AWS4-HMAC-SHA256 Credential=AKIDB/20240101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=x"
    credential = signed_credential(header)
    assert credential is not None and credential.service == "sagemaker" and credential.access_key == "AKIDB"
    # [accounts] without secrets: the key labels the account; unknown keys are refused
    labels = Authenticator({"AKIDB": "222222222222"}, {}, "000000000000")
    signed = SignedRequest("POST", "/", "", {"authorization": header}, b"")
    assert labels.account_for(signed, "sagemaker") == "222222222222"
    assert labels.account_for(SignedRequest("POST", "/", "", {}, b""), "sagemaker") == "000000000000"
    unknown = SignedRequest("GET", "/b", "", {"authorization": header.replace("AKIDB", "AKIDX")}, b"")
    with pytest.raises(AuthenticationFailed) as caught:
        labels.account_for(unknown, "s3")
    assert (caught.value.code, caught.value.status) == ("InvalidAccessKeyId", 403)
    # no [accounts]: single-user, whatever the request says
    assert Authenticator({}, {}, "1" * 12).account_for(unknown, "s3") == "1" * 12


def test_cloud_client_signs_for_execute_api_on_per_operation_paths(
    single_user: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = single_user
    captured: list[AWSRequest] = []
    sm = client(
        served.url + "/prod/",
        "eu-west-1",
        cloud=True,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    sm.meta.events.register("before-send.sagemaker", lambda request, **_: captured.append(request))
    assert sm.list_pipelines()["PipelineSummaries"] == []
    (request,) = captured
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    assert request.url.endswith("/prod/ListPipelines")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    # the signature verifies with the execute-api scope (recomputed as API Gateway would)
    signed = headers["Authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    kept = {k: v for k, v in headers.items() if k.lower() in signed}
    replay = AWSRequest(method=request.method, url=request.url, data=request.body, headers=kept)
    # the replay signs at the request's own time (add_auth reads the clock, which may have ticked)
    signed_at = dt.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: signed_at)
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "execute-api", "eu-west-1").add_auth(replay)
    assert replay.headers["Authorization"] == headers["Authorization"]


def test_local_client_without_credentials_is_unsigned(
    single_user: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = single_user
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert client(served.url).list_pipelines()["PipelineSummaries"] == []
