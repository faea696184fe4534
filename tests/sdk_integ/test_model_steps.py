"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_model_steps.py``
``test_pytorch_training_model_registration_and_creation_without_custom_inference`` and
``..._with_custom_inference``: the properties of model steps read by a Fail step. The SDK's
tests first train a PyTorch model; here the model artifact is uploaded (the facts concern the
model steps, not the training).

Facts: a registered model's ``ModelPackageName`` (the SDK pops the name it was given) and a
created model's ``ModelName`` carry the step names (``pytorch-register``, ``pytorch-model``);
a registered version's ``ModelApprovalStatus`` defaults to ``PendingManualApproval``; the
steps list ``Metadata.RegisterModel`` and ``Metadata.Model``.
"""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any

import pytest
from sagemaker.model import Model
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.pipeline import Pipeline

from tests.sdk_integ.helpers import DeleteAtTeardown, create_start_and_wait


@pytest.fixture
def model_data(pipeline_session: Any) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        payload = b"weights"
        info = tarfile.TarInfo("model.pth")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    key = f"integ-test-data/model-steps/{int(time.time() * 1000)}/model.tar.gz"
    pipeline_session.boto_session.client("s3").put_object(
        Bucket=pipeline_session.default_bucket(), Key=key, Body=buffer.getvalue()
    )
    return f"s3://{pipeline_session.default_bucket()}/{key}"


@pytest.mark.parametrize(
    ("property_name", "expected"),
    [("ModelPackageName", "pytorch-register"), ("ModelApprovalStatus", "PendingManualApproval")],
)
def test_model_registration_and_creation_properties(
    pipeline_session: Any,
    role: str,
    pipeline_name: str,
    model_data: str,
    dummy_container_without_error: str,
    delete_at_teardown: DeleteAtTeardown,
    property_name: str,
    expected: str,
) -> None:
    """SDK: test_model_steps.py::test_pytorch_training_model_registration_and_creation_without_custom_inference
    (ModelPackageName) and ::..._with_custom_inference (ModelApprovalStatus)"""
    model = Model(
        image_uri=dummy_container_without_error,
        model_data=model_data,
        sagemaker_session=pipeline_session,
        role=role,
    )
    register_args: dict[str, Any] = {
        "content_types": ["*"],
        "response_types": ["application/json"],
        "inference_instances": ["ml.m5.xlarge"],
        "transform_instances": ["ml.m5.xlarge"],
        "description": "test-description",
    }
    if property_name == "ModelPackageName":
        register_args["model_package_name"] = "model-pkg-name-will-be-popped-out"
    else:
        register_args["model_package_group_name"] = f"{pipeline_name}TestModelPackageGroup"
    step_model_regis = ModelStep(name="pytorch-register-model", step_args=model.register(**register_args))
    step_model_create = ModelStep(
        name="pytorch-model",
        step_args=model.create(instance_type="ml.m5.large", accelerator_type="ml.eia1.medium"),
    )
    step_fail = FailStep(
        name="fail-step",
        error_message=Join(
            on=", ",
            values=[
                "Fail the execution on purpose to check model step properties",
                "register model",
                getattr(step_model_regis.properties, property_name),
                "create model",
                step_model_create.properties.ModelName,
            ],
        ),
    )
    pipeline = Pipeline(
        name=pipeline_name,
        steps=[step_model_regis, step_model_create, step_fail],
        sagemaker_session=pipeline_session,
    )
    _, execution_steps = create_start_and_wait(delete_at_teardown(pipeline), role, parameters={})
    for step in execution_steps:
        if step["StepName"] == "fail-step":
            assert step["StepStatus"] == "Failed"
            assert expected in step["FailureReason"]
            assert "pytorch-model" in step["FailureReason"]
            continue
        assert not step.get("FailureReason"), step["FailureReason"]
        assert step["StepStatus"] == "Succeeded"
        if "RegisterModel" in step["StepName"]:
            assert step["Metadata"]["RegisterModel"]
        if "CreateModel" in step["StepName"]:
            assert step["Metadata"]["Model"]
    assert len(execution_steps) == 3
