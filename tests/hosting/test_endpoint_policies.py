"""InvokeEndpoint through `pipelines serve` under a `[policies]` IAM policy file: authorized as
``sagemaker:InvokeEndpoint`` on the endpoint's ARN, as the service authorizes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from pipelines.api.embedded import build_embedded_api
from pipelines.hosting import EndpointHost
from pipelines.objects.local import LocalObjectStore
from pipelines.registry import ModelRegistry

from tests.api.conftest import make_config
from tests.hosting.models import SKLEARN_IMAGE, model_request, sklearn_model_data

RUNNER = "222222222222"  # AKIDRUNNER in tests.api.conftest


def test_invoke_endpoint_is_authorized_on_the_endpoint_arn(tmp_path: Path) -> None:
    policy = tmp_path / "team-b.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sagemaker:InvokeEndpoint",
                        "Resource": f"arn:aws:sagemaker:*:{RUNNER}:endpoint/prod-*",
                    }
                ],
            }
        )
    )
    config = make_config(tmp_path).model_copy(update={"policies": {RUNNER: policy}})
    LocalObjectStore(config.object_root).put("s3://models/m/model.tar.gz", sklearn_model_data())
    ModelRegistry.from_config(config).create_model(
        model_request("m", SKLEARN_IMAGE, "s3://models/m/model.tar.gz")
    )
    api = build_embedded_api(config, strict_shapes=True)
    server = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
    try:
        host: EndpointHost = api.endpoints
        host.create_endpoint_config(
            {"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "v", "ModelName": "m"}]}
        )
        for name in ("prod-a", "dev-a"):
            host.create_endpoint({"EndpointName": name, "EndpointConfigName": "c"})
            assert host.wait(name)["EndpointStatus"] == "InService"
        from tests.api.conftest import Served

        runtime = Served(api, server, config).client("sagemaker-runtime", "AKIDRUNNER")
        allowed = runtime.invoke_endpoint(
            EndpointName="prod-a", Body=b"[[1, 2]]", ContentType="application/json"
        )
        assert json.loads(allowed["Body"].read()) == pytest.approx([8.0])
        with pytest.raises(ClientError) as refused:
            runtime.invoke_endpoint(EndpointName="dev-a", Body=b"[[1, 2]]", ContentType="application/json")
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "endpoint/dev-a" in refused.value.response["Error"]["Message"]
    finally:
        server.stop()
