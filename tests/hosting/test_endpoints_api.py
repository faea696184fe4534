"""Endpoints through ``pipelines serve``: boto3's sagemaker (control plane) and sagemaker-runtime
(InvokeEndpoint) clients, and the SageMaker SDK's Predictor, unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import urllib3
from botocore.exceptions import ClientError
from pipelines.api.embedded import build_embedded_api
from pipelines.api.server import ApiServer
from pipelines.config import Config
from pipelines.objects.local import LocalObjectStore

from tests.hosting.models import (
    BROKEN_INFERENCE,
    SKLEARN_IMAGE,
    XGBOOST_IMAGE,
    model_request,
    sklearn_model_data,
    xgboost_model_data,
)
from tests.hosting.serving import local_client

if TYPE_CHECKING:
    from sagemaker.session import Session


class Local:
    def __init__(self, config: Config, server: ApiServer) -> None:
        self.config = config
        self.server = server

    def client(self, service: str) -> Any:
        return local_client(service, self.server.url)

    def put(self, uri: str, data: bytes) -> str:
        LocalObjectStore(self.config.object_root).put(uri, data)
        return uri


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    config = Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects", base_dir=tmp_path)
    api = build_embedded_api(config, strict_shapes=True)
    server = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
    try:
        yield Local(config, server)
    finally:
        server.stop()


@pytest.fixture
def sdk_session(local: Local, monkeypatch: pytest.MonkeyPatch) -> Session:
    """The SDK's own Session, its clients sent to the server by the endpoint variables."""
    from sagemaker.session import Session

    for variable in ("SAGEMAKER", "SAGEMAKER_RUNTIME", "S3", "STS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{variable}", local.server.url)
    return Session(
        boto_session=boto3.Session(
            aws_access_key_id="AKIDLOCAL", aws_secret_access_key="unused", region_name="us-east-1"
        ),
        default_bucket="sdk-bucket",
    )


def await_status(sagemaker: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in ("Creating", "Updating", "SystemUpdating"):
            return dict(described)
        assert time.monotonic() < deadline, f"endpoint {name} still {described['EndpointStatus']}"
        time.sleep(0.1)


def deploy(local: Local, name: str, image: str, model_data: bytes, **env: str) -> dict[str, Any]:
    sagemaker = local.client("sagemaker")
    url = local.put(f"s3://models/{name}/model.tar.gz", model_data)
    sagemaker.create_model(**model_request(f"{name}-model", image, url, **env))
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    created = sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    assert created["EndpointArn"].endswith(f":endpoint/{name}")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] in ("Creating", "InService")
    return await_status(sagemaker, name)


def test_boto3_deploys_and_invokes_a_sklearn_endpoint(local: Local) -> None:
    described = deploy(local, "sk", SKLEARN_IMAGE, sklearn_model_data())
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "sk-config"
    [variant] = described["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["DeployedImages"][0]["SpecifiedImage"] == SKLEARN_IMAGE
    runtime = local.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(
        EndpointName="sk", Body=b"1,2\n3,4", ContentType="text/csv", Accept="application/json"
    )
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "AllTraffic"
    assert json.loads(answer["Body"].read()) == pytest.approx([8.0, 14.0])
    config = local.client("sagemaker").describe_endpoint_config(EndpointConfigName="sk-config")
    assert config["ProductionVariants"][0]["ModelName"] == "sk-model"
    listed = local.client("sagemaker").list_endpoints(StatusEquals="InService")["Endpoints"]
    assert [e["EndpointName"] for e in listed] == ["sk"]


def test_the_sdk_predictor_works_unchanged(local: Local, sdk_session: Session) -> None:
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.predictor import Predictor
    from sagemaker.serializers import CSVSerializer

    deploy(local, "sdk", SKLEARN_IMAGE, sklearn_model_data())
    predictor = Predictor("sdk", sdk_session, serializer=CSVSerializer(), deserializer=JSONDeserializer())
    assert predictor.predict([[0, 1], [2, 2]]) == pytest.approx([5.0, 9.0])


def test_xgboost_endpoint_in_algorithm_mode(local: Local) -> None:
    deploy(local, "xgb", XGBOOST_IMAGE, xgboost_model_data())
    answer = local.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="xgb", Body=b"2,4", ContentType="text/csv"
    )
    assert float(answer["Body"].read().decode().strip()) == pytest.approx(13.0, abs=0.5)


def test_a_model_that_cannot_load_fails_the_endpoint_with_its_reason(local: Local) -> None:
    described = deploy(local, "broken", SKLEARN_IMAGE, sklearn_model_data(BROKEN_INFERENCE))
    assert described["EndpointStatus"] == "Failed"
    assert "RuntimeError: weights are corrupt" in described["FailureReason"]
    with pytest.raises(ClientError) as refused:
        local.client("sagemaker-runtime").invoke_endpoint(EndpointName="broken", Body=b"[[1, 2]]")
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert "Failed" in refused.value.response["Error"]["Message"]


def test_container_errors_are_model_errors_and_unknown_endpoints_validation_errors(local: Local) -> None:
    deploy(local, "sk", SKLEARN_IMAGE, sklearn_model_data())
    runtime = local.client("sagemaker-runtime")
    with pytest.raises(ClientError) as model_error:
        runtime.invoke_endpoint(EndpointName="sk", Body=b"\x89PNG", ContentType="image/png")
    error = model_error.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 415
    with pytest.raises(ClientError) as unknown:
        runtime.invoke_endpoint(EndpointName="nope", Body=b"[[1, 2]]")
    assert unknown.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as described:
        local.client("sagemaker").describe_endpoint(EndpointName="nope")
    assert described.value.response["Error"]["Code"] == "ValidationException"  # EndpointDeleted's cue


def test_s3_path_style_keys_under_an_endpoints_bucket_stay_s3(local: Local) -> None:
    s3 = local.client("s3")
    s3.create_bucket(Bucket="endpoints")
    s3.put_object(Bucket="endpoints", Key="sk/invocations", Body=b"data")
    upload = s3.create_multipart_upload(Bucket="endpoints", Key="sk/invocations")
    assert upload["UploadId"]
    assert s3.get_object(Bucket="endpoints", Key="sk/invocations")["Body"].read() == b"data"


def test_update_switches_models_and_delete_ends_the_endpoint(local: Local) -> None:
    deploy(local, "ep", SKLEARN_IMAGE, sklearn_model_data())
    sagemaker = local.client("sagemaker")
    url = local.put("s3://models/ep2/model.tar.gz", xgboost_model_data())
    sagemaker.create_model(**model_request("ep2-model", XGBOOST_IMAGE, url))
    sagemaker.create_endpoint_config(
        EndpointConfigName="ep2-config",
        ProductionVariants=[{"VariantName": "Blue", "ModelName": "ep2-model", "InitialInstanceCount": 1}],
    )
    sagemaker.update_endpoint(EndpointName="ep", EndpointConfigName="ep2-config")
    described = await_status(sagemaker, "ep")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "ep2-config"
    runtime = local.client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName="ep", Body=b"2,4", ContentType="text/csv")
    assert answer["InvokedProductionVariant"] == "Blue"
    # the service lets a config in use go (the SDK's delete_endpoint() deletes it first)
    sagemaker.delete_endpoint_config(EndpointConfigName="ep2-config")
    assert runtime.invoke_endpoint(EndpointName="ep", Body=b"2,4", ContentType="text/csv")["Body"].read()
    sagemaker.delete_endpoint(EndpointName="ep")
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint(EndpointName="ep")


def test_the_sdk_model_deploy_creates_a_working_endpoint(local: Local, sdk_session: Session) -> None:
    from sagemaker.deserializers import JSONDeserializer
    from sagemaker.model import Model
    from sagemaker.serializers import JSONSerializer

    url = local.put("s3://models/deployed/model.tar.gz", sklearn_model_data())
    model = Model(
        image_uri=SKLEARN_IMAGE,
        model_data=url,
        role="arn:aws:iam::000000000000:role/pipelines",
        sagemaker_session=sdk_session,
        predictor_cls=None,
    )
    # wait=False: the SDK's own wait sleeps 30 s before its first DescribeEndpoint
    model.deploy(initial_instance_count=1, instance_type="ml.m5.large", endpoint_name="deployed", wait=False)
    assert await_status(local.client("sagemaker"), "deployed")["EndpointStatus"] == "InService"
    from sagemaker.predictor import Predictor

    predictor = Predictor(
        "deployed", sdk_session, serializer=JSONSerializer(), deserializer=JSONDeserializer()
    )
    assert predictor.predict([[1, 2]]) == pytest.approx([8.0])
    predictor.delete_endpoint()
    assert local.client("sagemaker").list_endpoints()["Endpoints"] == []


def test_data_capture_writes_model_monitor_records(local: Local) -> None:
    sagemaker = local.client("sagemaker")
    url = local.put("s3://models/cap/model.tar.gz", sklearn_model_data())
    sagemaker.create_model(**model_request("cap-model", SKLEARN_IMAGE, url))
    sagemaker.create_endpoint_config(
        EndpointConfigName="cap-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "cap-model", "InitialInstanceCount": 1}
        ],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://monitoring/capture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
        },
    )
    sagemaker.create_endpoint(EndpointName="cap", EndpointConfigName="cap-config")
    assert await_status(sagemaker, "cap")["EndpointStatus"] == "InService"
    runtime = local.client("sagemaker-runtime")
    for row in (b"1,2", b"3,4"):
        runtime.invoke_endpoint(
            EndpointName="cap", Body=row, ContentType="text/csv", Accept="text/csv", InferenceId=row.decode()
        )
    s3 = local.client("s3")
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="monitoring", Prefix="capture/cap/AllTraffic/")["Contents"]
    ]
    assert len(keys) == 2 and all(k.endswith(".jsonl") for k in keys)
    records = [json.loads(s3.get_object(Bucket="monitoring", Key=k)["Body"].read()) for k in keys]
    inputs = sorted(r["captureData"]["endpointInput"]["data"] for r in records)
    assert inputs == ["1,2", "3,4"]
    first = next(r for r in records if r["captureData"]["endpointInput"]["data"] == "1,2")
    assert first["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "1,2",
        "encoding": "CSV",
    }
    assert float(first["captureData"]["endpointOutput"]["data"]) == pytest.approx(8.0)
    assert first["eventMetadata"]["inferenceId"] == "1,2"
    assert first["eventVersion"] == "0"


def test_browser_origin_invocations_are_refused(local: Local) -> None:
    deploy(local, "sk", SKLEARN_IMAGE, sklearn_model_data())
    url = f"{local.server.url}/endpoints/sk/invocations"
    from_page = urllib3.request(
        "POST",
        url,
        body=b"[[1, 2]]",
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"},
    )
    assert from_page.status == 403
    assert from_page.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    simple_form = urllib3.request("POST", url, body=b"1,2", headers={"Content-Type": "text/plain"})
    assert simple_form.status == 403  # what a page can send without a preflight
    unsigned_tool = urllib3.request(
        "POST", url, body=b"[[1, 2]]", headers={"Content-Type": "application/json"}
    )
    assert unsigned_tool.status == 200 and json.loads(unsigned_tool.data) == pytest.approx([8.0])


def test_two_variants_each_get_a_server_and_target_variant_picks_one(local: Local) -> None:
    sagemaker = local.client("sagemaker")
    sk_url = local.put("s3://models/a/model.tar.gz", sklearn_model_data())
    xgb_url = local.put("s3://models/b/model.tar.gz", xgboost_model_data())
    sagemaker.create_model(**model_request("a-model", SKLEARN_IMAGE, sk_url))
    sagemaker.create_model(**model_request("b-model", XGBOOST_IMAGE, xgb_url))
    sagemaker.create_endpoint_config(
        EndpointConfigName="ab",
        ProductionVariants=[
            {"VariantName": "A", "ModelName": "a-model", "InitialVariantWeight": 1.0},
            {"VariantName": "B", "ModelName": "b-model", "InitialVariantWeight": 0.0},
        ],
    )
    sagemaker.create_endpoint(EndpointName="ab", EndpointConfigName="ab")
    described = await_status(sagemaker, "ab")
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["A", "B"]
    runtime = local.client("sagemaker-runtime")
    for _ in range(5):  # B weighs 0: all traffic goes to A
        answer = runtime.invoke_endpoint(EndpointName="ab", Body=b"2,4", ContentType="text/csv")
        assert answer["InvokedProductionVariant"] == "A"
    targeted = runtime.invoke_endpoint(
        EndpointName="ab", Body=b"2,4", ContentType="text/csv", TargetVariant="B"
    )
    assert targeted["InvokedProductionVariant"] == "B"
    assert float(targeted["Body"].read().decode().strip()) == pytest.approx(13.0, abs=0.5)
    with pytest.raises(ClientError) as unknown:
        runtime.invoke_endpoint(EndpointName="ab", Body=b"2,4", ContentType="text/csv", TargetVariant="C")
    assert unknown.value.response["Error"]["Code"] == "ValidationError"


def test_an_invocation_brings_back_an_endpoint_whose_host_ended(local: Local) -> None:
    """What a `pipelines run` that deployed and ended while `pipelines serve` runs leaves behind."""
    from pipelines.hosting import EndpointHost

    url = local.put("s3://models/run/model.tar.gz", sklearn_model_data())
    local.client("sagemaker").create_model(**model_request("run-model", SKLEARN_IMAGE, url))
    run_host = EndpointHost(local.config)  # another host: the run's
    run_host.create_endpoint_config(
        {"EndpointConfigName": "run", "ProductionVariants": [{"VariantName": "v", "ModelName": "run-model"}]}
    )
    run_host.create_endpoint({"EndpointName": "run", "EndpointConfigName": "run"})
    assert run_host.wait("run")["EndpointStatus"] == "InService"
    run_host.close()  # the run ended: its model server stopped, the record stays
    answer = local.client("sagemaker-runtime").invoke_endpoint(
        EndpointName="run", Body=b"[[1, 2]]", ContentType="application/json"
    )
    assert json.loads(answer["Body"].read()) == pytest.approx([8.0])
    assert local.client("sagemaker").describe_endpoint(EndpointName="run")["EndpointStatus"] == "InService"
