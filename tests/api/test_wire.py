"""The AWS JSON 1.1 layer: dispatch, error mapping, and a fuzz of bad requests (always a 4xx
service-style error, never a 5xx, never a handler call)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipelines.api.server import ApiServer, Services, make_wsgi_app
from pipelines.api.wire import DEFAULT_MAX_BODY_BYTES, CallContext, HttpRequest, JsonService
from pipelines.errors import ResourceNotFound

TARGET = "SageMaker.DescribePipeline"
ARN = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p"


class Recorder:
    """Handlers that count their calls: a rejected request must never reach one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def handlers(self) -> dict[str, Any]:
        def describe(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            self.calls.append(("DescribePipeline", params))
            if params["PipelineName"] == "missing":
                raise ResourceNotFound("Pipeline 'missing' does not exist.")
            return {"PipelineArn": ARN, "PipelineName": params["PipelineName"], "CreationTime": 1700000000}

        def start(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            self.calls.append(("StartPipelineExecution", params))
            return {"PipelineExecutionArn": f"{ARN}/execution/abcdefghijkl"}

        def boom(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            raise RuntimeError("a bug")

        return {"DescribePipeline": describe, "StartPipelineExecution": start, "ListPipelines": boom}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    service = JsonService("sagemaker", recorder.handlers(), strict_shapes=True)
    services = Services(sagemaker=service, region="us-east-1", default_account="000000000000")
    with ApiServer(make_wsgi_app(services), port=0) as api:
        yield api.url, recorder


def post(
    url: str, body: bytes, headers: dict[str, str], path: str = "/"
) -> tuple[int, dict[str, Any] | None]:
    request = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


HEADERS = {"X-Amz-Target": TARGET, "Content-Type": "application/x-amz-json-1.1"}


def client(url: str, **config: Any) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        config=BotoConfig(retries={"total_max_attempts": 1}, **config),
    )


def test_boto3_call_round_trips_with_epoch_timestamps(server: tuple[str, Recorder]) -> None:
    url, _ = server
    answer = client(url).describe_pipeline(PipelineName="p")
    assert answer["PipelineArn"] == ARN
    assert answer["CreationTime"].timestamp() == 1700000000
    assert answer["ResponseMetadata"]["RequestId"]


def test_modelled_error_becomes_the_typed_boto3_exception(server: tuple[str, Recorder]) -> None:
    url, _ = server
    sm = client(url)
    with pytest.raises(sm.exceptions.ResourceNotFound) as caught:
        sm.describe_pipeline(PipelineName="missing")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "does not exist" in caught.value.response["Error"]["Message"]


def test_unexpected_fault_is_an_internal_failure_500(server: tuple[str, Recorder]) -> None:
    url, _ = server
    with pytest.raises(ClientError) as caught:
        client(url).list_pipelines()
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_server_side_validation_matches_the_service_wording(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    before = len(recorder.calls)
    sm = client(url, parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        sm.start_pipeline_execution(
            PipelineName="bad_name!",
            PipelineParameters=[{"Name": "x", "Value": 0.5}],
            ClientRequestToken="short",
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "3 validation errors detected" in error["Message"]
    assert (
        "'bad_name!' at 'PipelineName' failed to satisfy constraint: Member must satisfy regular"
        in error["Message"]
    )
    assert "Invalid length for parameter ClientRequestToken" in error["Message"]
    assert len(recorder.calls) == before


def test_a_missing_idempotency_token_is_generated_not_refused(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    status, body = post(
        url, b'{"PipelineName": "p"}', {**HEADERS, "X-Amz-Target": "SageMaker.StartPipelineExecution"}
    )
    assert status == 200, body
    name, params = recorder.calls[-1]
    assert name == "StartPipelineExecution" and len(params["ClientRequestToken"]) >= 32


def test_per_operation_path_is_accepted_and_must_match_the_target(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    body = b'{"PipelineName": "p"}'
    assert post(url, body, HEADERS, "/prod/DescribePipeline")[0] == 200
    assert post(url, body, HEADERS, "/prod/")[0] == 200
    before = len(recorder.calls)
    status, error = post(
        url, body, {**HEADERS, "X-Amz-Target": "SageMaker.DeletePipeline"}, "/prod/DescribePipeline"
    )
    assert status == 400 and error is not None
    assert error["__type"] == "ValidationException" and "must match" in error["message"]
    assert len(recorder.calls) == before


def test_boto3_per_operation_path_hook_reaches_the_operation(server: tuple[str, Recorder]) -> None:
    url, _ = server
    sm = client(url + "/prod/")

    def add_operation(model: Any, params: dict[str, Any], **_: Any) -> None:
        params["url"] = params["url"].rstrip("/") + "/" + model.name

    sm.meta.events.register("before-call.sagemaker", add_operation)
    assert sm.describe_pipeline(PipelineName="p")["PipelineName"] == "p"


BAD_REQUESTS = [
    pytest.param(b"{not json", HEADERS, "SerializationException", id="malformed-json"),
    pytest.param(b"[1, 2]", HEADERS, "SerializationException", id="array-body"),
    pytest.param(b'{"PipelineName": NaN}', HEADERS, "SerializationException", id="nan"),
    pytest.param(b"\xff\xfe", HEADERS, "SerializationException", id="not-utf8"),
    pytest.param(b"[" * 5000 + b"]" * 5000, HEADERS, "SerializationException", id="deep-nesting"),
    pytest.param(b'{"PipelineName": 5}', HEADERS, "ValidationException", id="wrong-type"),
    pytest.param(b'{"PipelineName": true}', HEADERS, "ValidationException", id="bool-for-string"),
    pytest.param(b"{}", HEADERS, "ValidationException", id="missing-required"),
    pytest.param(b'{"PipelineName": "p", "Bogus": 1}', HEADERS, "ValidationException", id="unknown-member"),
    pytest.param(b'{"PipelineName": "' + b"a" * 300 + b'"}', HEADERS, "ValidationException", id="too-long"),
    pytest.param(
        b'{"PipelineName": "p", "PipelineVersionId": true}', HEADERS, "ValidationException", id="bool-int"
    ),
    pytest.param(
        b'{"PipelineName": "p", "PipelineVersionId": 0}', HEADERS, "ValidationException", id="below-min"
    ),
    pytest.param(b"{}", {"X-Amz-Target": "SageMaker.Nope"}, "UnknownOperationException", id="unknown-op"),
    pytest.param(
        b"{}", {"X-Amz-Target": "Other.DescribePipeline"}, "UnknownOperationException", id="wrong-prefix"
    ),
    pytest.param(
        b"{}", {"X-Amz-Target": "SageMaker.CreateTrainingJob"}, "UnknownOperationException", id="unserved"
    ),
    pytest.param(
        b"{}", {"Content-Type": "application/x-amz-json-1.1"}, "UnknownOperationException", id="no-target"
    ),
    pytest.param(
        b"{}", {**HEADERS, "Content-Type": "text/plain"}, "SerializationException", id="content-type"
    ),
]


@pytest.mark.parametrize(("body", "headers", "code"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_service_error_and_touch_nothing(
    server: tuple[str, Recorder], body: bytes, headers: dict[str, str], code: str
) -> None:
    url, recorder = server
    before = len(recorder.calls)
    status, error = post(url, body, headers)
    assert 400 <= status < 500
    assert error is not None and error["__type"] == code
    assert len(recorder.calls) == before


def test_huge_body_is_refused_with_413(server: tuple[str, Recorder]) -> None:
    url, recorder = server
    before = len(recorder.calls)
    body = b'{"PipelineName": "' + b"a" * (DEFAULT_MAX_BODY_BYTES + 10) + b'"}'
    status, error = post(url, body, HEADERS)
    assert status == 413 and error is not None and error["__type"] == "RequestEntityTooLargeException"
    assert len(recorder.calls) == before


def test_get_is_not_an_operation() -> None:
    service = JsonService("sagemaker", Recorder().handlers())
    answer = service.handle(
        HttpRequest("GET", "/", {"X-Amz-Target": TARGET}, b""), CallContext("0" * 12, "us-east-1")
    )
    assert answer.status == 400 and json.loads(answer.body)["__type"] == "UnknownOperationException"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_MEMBERS = st.sampled_from(["PipelineName", "PipelineVersionId", "PipelineVersionAlias", "Bogus", ""])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        _JSON.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(_MEMBERS, _JSON, max_size=3).map(lambda v: json.dumps(v).encode()),
    ),
    target=st.sampled_from([TARGET, "SageMaker.StartPipelineExecution", "SageMaker.X", "", "SageMaker."]),
)
def test_fuzzed_requests_never_get_a_5xx(body: bytes, target: str) -> None:
    recorder = Recorder()
    service = JsonService("sagemaker", recorder.handlers(), strict_shapes=True)
    headers = {"X-Amz-Target": target} if target else {}
    answer = service.handle(HttpRequest("POST", "/", headers, body), CallContext("0" * 12, "us-east-1"))
    document = json.loads(answer.body)
    if answer.status == 200:
        assert recorder.calls, "a success must come from a handler"
    else:
        assert 400 <= answer.status < 500, document
        assert isinstance(document["__type"], str) and isinstance(document["message"], str)
        assert not recorder.calls


def test_client_side_validation_still_applies_to_boto3(server: tuple[str, Recorder]) -> None:
    url, _ = server
    with pytest.raises(ParamValidationError):
        client(url).describe_pipeline(PipelineName=5)
