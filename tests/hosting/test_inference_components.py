"""Inference components on local endpoints through ``pipelines serve``: boto3 creates, updates,
lists and deletes them, InvokeEndpoint with ``InferenceComponentName`` reaches the component's
model, and the v3 SDK's InferenceComponent step (tests/fixtures/sdk_v3) deploys one in a
pipeline execution."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.cli.endpoint_commands import endpoints_listing
from pipelines.hosting import EndpointHost

from tests.hosting.models import BROKEN_INFERENCE, SKLEARN_IMAGE, model_request, sklearn_model_data
from tests.hosting.test_endpoints_api import Local, await_status, local  # noqa: F401 (fixture)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3" / "inference_component.json"
ROLE = "arn:aws:iam::000000000000:role/pipelines"


def component_endpoint(served: Local, name: str = "abalone-endpoint") -> None:
    """An endpoint made for inference components: its variant names no model."""
    sagemaker = served.client("sagemaker")
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    described = await_status(sagemaker, name)
    assert described["EndpointStatus"] == "InService"
    assert [v["VariantName"] for v in described["ProductionVariants"]] == ["AllTraffic"]


def model(served: Local, name: str, inference: str | None = None) -> str:
    data = sklearn_model_data() if inference is None else sklearn_model_data(inference)
    url = served.put(f"s3://models/{name}/model.tar.gz", data)
    served.client("sagemaker").create_model(**model_request(name, SKLEARN_IMAGE, url))
    return name


def await_component(sagemaker: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = sagemaker.describe_inference_component(InferenceComponentName=name)
        if described["InferenceComponentStatus"] not in ("Creating", "Updating"):
            return dict(described)
        assert (
            time.monotonic() < deadline
        ), f"inference component {name} still {described['InferenceComponentStatus']}"
        time.sleep(0.1)


def invoke(served: Local, component: str | None, endpoint: str = "abalone-endpoint") -> Any:
    extra = {"InferenceComponentName": component} if component else {}
    answer = served.client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint, Body=b"1,2\n3,4", ContentType="text/csv", Accept="application/json", **extra
    )
    return json.loads(answer["Body"].read())


def test_boto3_deploys_a_component_and_invocations_naming_it_reach_its_model(local: Local) -> None:  # noqa: F811
    sagemaker = local.client("sagemaker")
    component_endpoint(local)
    model(local, "abalone-model")
    created = sagemaker.create_inference_component(
        InferenceComponentName="abalone-component",
        EndpointName="abalone-endpoint",
        VariantName="AllTraffic",
        Specification={
            "ModelName": "abalone-model",
            "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
        },
        RuntimeConfig={"CopyCount": 1},
    )
    assert created["InferenceComponentArn"].endswith(":inference-component/abalone-component")

    described = await_component(sagemaker, "abalone-component")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["EndpointName"] == "abalone-endpoint"
    assert described["Specification"]["ModelName"] == "abalone-model"
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}
    assert invoke(local, "abalone-component") == pytest.approx([8.0, 14.0])
    listed = sagemaker.list_inference_components(EndpointNameEquals="abalone-endpoint")["InferenceComponents"]
    assert [c["InferenceComponentName"] for c in listed] == ["abalone-component"]
    host = EndpointHost(local.config)  # what `pipelines endpoints` lists
    try:
        (endpoint,) = endpoints_listing(host)
    finally:
        host.close()
    assert endpoint["InferenceComponents"] == {"abalone-component": "InService"}

    with pytest.raises(ClientError) as caught:
        invoke(local, None)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "InferenceComponentName" in caught.value.response["Error"]["Message"]

    sagemaker.delete_inference_component(InferenceComponentName="abalone-component")
    with pytest.raises(ClientError) as gone:
        invoke(local, "abalone-component")
    assert "Could not find inference component 'abalone-component'" in gone.value.response["Error"]["Message"]


def test_a_component_from_a_container_and_a_failed_update_that_keeps_the_old_model(
    local: Local,  # noqa: F811
) -> None:
    sagemaker = local.client("sagemaker")
    component_endpoint(local)
    url = local.put("s3://models/direct/model.tar.gz", sklearn_model_data())
    sagemaker.create_inference_component(
        InferenceComponentName="direct",
        EndpointName="abalone-endpoint",
        Specification={"Container": {"Image": SKLEARN_IMAGE, "ArtifactUrl": url}},
    )
    assert await_component(sagemaker, "direct")["InferenceComponentStatus"] == "InService"
    assert invoke(local, "direct") == pytest.approx([8.0, 14.0])

    model(local, "broken-model", BROKEN_INFERENCE)
    sagemaker.update_inference_component(
        InferenceComponentName="direct", Specification={"ModelName": "broken-model"}
    )
    after = await_component(sagemaker, "direct")
    assert after["InferenceComponentStatus"] == "InService"
    assert "the update did not take effect" in after["FailureReason"]
    assert "weights are corrupt" in after["FailureReason"]
    assert "Container" in after["Specification"]  # the old model is still the one described
    assert invoke(local, "direct") == pytest.approx([8.0, 14.0])


def test_a_component_on_a_missing_endpoint_is_refused(local: Local) -> None:  # noqa: F811
    model(local, "abalone-model")
    with pytest.raises(ClientError) as caught:
        local.client("sagemaker").create_inference_component(
            InferenceComponentName="c", EndpointName="nowhere", Specification={"ModelName": "abalone-model"}
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find endpoint 'nowhere'" in caught.value.response["Error"]["Message"]


def test_the_sdks_inference_component_step_deploys_then_updates_in_a_pipeline(local: Local) -> None:  # noqa: F811
    sagemaker = local.client("sagemaker")
    component_endpoint(local)
    model(local, "abalone-model")
    model(local, "abalone-model-v2")
    definition = json.loads(FIXTURE.read_text())
    definition["Steps"] = [s for s in definition["Steps"] if s["Type"] == "InferenceComponent"]
    sagemaker.create_pipeline(PipelineName="deploy", PipelineDefinition=json.dumps(definition), RoleArn=ROLE)

    for model_name in ("abalone-model", "abalone-model-v2"):
        arn = sagemaker.start_pipeline_execution(
            PipelineName="deploy", PipelineParameters=[{"Name": "ModelName", "Value": model_name}]
        )["PipelineExecutionArn"]
        deadline = time.monotonic() + 120
        while (
            status := sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)[
                "PipelineExecutionStatus"
            ]
        ) == "Executing":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        (step,) = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"]
        assert (status, step["StepStatus"]) == ("Succeeded", "Succeeded"), step.get("FailureReason")
        described = sagemaker.describe_inference_component(InferenceComponentName="abalone-component")
        assert step["Metadata"] == {"InferenceComponent": {"Arn": described["InferenceComponentArn"]}}
        assert described["Specification"]["ModelName"] == model_name
        assert described["InferenceComponentStatus"] == "InService"
        assert invoke(local, "abalone-component") == pytest.approx([8.0, 14.0])
