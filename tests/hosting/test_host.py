"""The endpoint control plane in one process (pipelines.hosting.EndpointHost): hosts that close
and come back, deletes from another host, and an update whose new model cannot load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import urllib3
from pipelines.config import Config
from pipelines.hosting import EndpointHost, EndpointNotReady
from pipelines.objects.local import LocalObjectStore
from pipelines.registry import ModelRegistry

from tests.hosting.models import BROKEN_INFERENCE, SKLEARN_IMAGE, model_request, sklearn_model_data


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects", base_dir=tmp_path)
    objects = LocalObjectStore(config.object_root)
    objects.put("s3://models/good/model.tar.gz", sklearn_model_data())
    objects.put("s3://models/broken/model.tar.gz", sklearn_model_data(BROKEN_INFERENCE))
    registry = ModelRegistry.from_config(config)
    registry.create_model(model_request("good", SKLEARN_IMAGE, "s3://models/good/model.tar.gz"))
    registry.create_model(model_request("broken", SKLEARN_IMAGE, "s3://models/broken/model.tar.gz"))
    return config


def create(host: EndpointHost, name: str, model: str) -> None:
    host.create_endpoint_config(
        {
            "EndpointConfigName": f"{name}-{model}",
            "ProductionVariants": [{"VariantName": "v", "ModelName": model}],
        }
    )
    host.create_endpoint({"EndpointName": name, "EndpointConfigName": f"{name}-{model}"})


def predict(host: EndpointHost, name: str) -> list[float]:
    _, port = host.target(name)
    answer = urllib3.request(
        "POST",
        f"http://127.0.0.1:{port}/invocations",
        body=b"[[1, 1]]",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200, answer.data
    return list(json.loads(answer.data))


def test_a_closed_host_s_endpoints_come_back_with_the_next_host(config: Config) -> None:
    first = EndpointHost(config)
    create(first, "ep", "good")
    assert first.wait("ep")["EndpointStatus"] == "InService"
    _, port = first.target("ep")
    first.close()
    first.delete_endpoint_config("ep-good")  # allowed in use: the endpoint recorded its config
    lines: list[str] = []
    second = EndpointHost(config, log=lines.append)
    try:
        assert second.restore() == ["ep"]
        assert second.describe_endpoint("ep")["EndpointStatus"] in ("SystemUpdating", "InService")
        assert second.wait("ep")["EndpointStatus"] == "InService"
        # its old port again, unless another program took it in the meantime
        assert second.target("ep")[1] == port or any(f"port {port} is in use" in line for line in lines)
        assert predict(second, "ep") == pytest.approx([6.0])
        assert second.restore() == []  # hosted now: nothing to bring back
    finally:
        second.close()


def test_delete_from_another_host_ends_the_servers(config: Config) -> None:
    owner, other = EndpointHost(config), EndpointHost(config)
    try:
        create(owner, "ep", "good")
        owner.wait("ep")
        server = owner._servers["ep"][0]
        other.delete_endpoint("ep")
        assert server.wait_exited(30)
        with pytest.raises(Exception, match="Could not find endpoint"):
            owner.describe_endpoint("ep")
    finally:
        owner.close()
        other.close()


def test_an_update_to_a_model_that_cannot_load_keeps_the_old_variant_serving(config: Config) -> None:
    host = EndpointHost(config)
    try:
        create(host, "ep", "good")
        host.wait("ep")
        host.create_endpoint_config(
            {
                "EndpointConfigName": "ep-broken",
                "ProductionVariants": [{"VariantName": "v", "ModelName": "broken"}],
            }
        )
        assert (
            host.update_endpoint({"EndpointName": "ep", "EndpointConfigName": "ep-broken"})["EndpointStatus"]
            == "Updating"
        )
        described = host.wait("ep")
        assert described["EndpointStatus"] == "InService"
        assert described["EndpointConfigName"] == "ep-good"
        assert "weights are corrupt" in described["FailureReason"]
        assert predict(host, "ep") == pytest.approx([6.0])
        create(host, "dead", "broken")
        assert host.wait("dead")["EndpointStatus"] == "Failed"
        with pytest.raises(EndpointNotReady, match="Failed.*weights are corrupt"):
            host.target("dead")
    finally:
        host.close()


def test_unsupported_config_features_are_refused_with_the_reason(config: Config) -> None:
    host = EndpointHost(config)
    with pytest.raises(Exception, match="AsyncInferenceConfig"):
        host.create_endpoint_config(
            {
                "EndpointConfigName": "async",
                "ProductionVariants": [{"VariantName": "v", "ModelName": "good"}],
                "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://x/y"}},
            }
        )
    with pytest.raises(Exception, match="Could not find model"):
        host.create_endpoint_config(
            {
                "EndpointConfigName": "nomodel",
                "ProductionVariants": [{"VariantName": "v", "ModelName": "absent"}],
            }
        )
    host.close()
