"""Model and RegisterModel runners: registry records and Describe*-shaped properties."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.registry import ModelRegistry
from pipelines.runners.base import StepFailed
from pipelines.runners.model import ModelRunner
from pipelines.runners.register_model import RegisterModelRunner
from pipelines.runners.registry import default_registry

CONTAINER = {"Image": "123.dkr.ecr.us-east-1.amazonaws.com/xgb:1", "ModelDataUrl": "s3://b/model.tar.gz"}
MODEL_STEP = {
    "Name": "CreateModel",
    "Type": "Model",
    "Arguments": {"ExecutionRoleArn": "arn:aws:iam::1:role/r", "PrimaryContainer": CONTAINER},
}
REGISTER_STEP = {
    "Name": "Register",
    "Type": "RegisterModel",
    "Arguments": {
        "ModelPackageGroupName": "Churn",
        "InferenceSpecification": {"Containers": [CONTAINER], "SupportedContentTypes": ["text/csv"]},
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://b/e"}}
        },
    },
}


def test_model_step_records_the_model_under_the_job_name(make_request, ctx) -> None:
    result = ModelRunner().run(make_request(MODEL_STEP, job_name="pipelines-abc-CreateModel-x1-0"), ctx)
    assert result.properties["ModelName"] == "pipelines-abc-CreateModel-x1-0"
    assert result.properties["PrimaryContainer"] == CONTAINER
    assert result.properties["ExecutionRoleArn"] == "arn:aws:iam::1:role/r"
    assert "CreationTime" in result.properties
    assert result.metadata == {"Model": {"Arn": result.properties["ModelArn"]}}
    stored = ModelRegistry.from_config(ctx.config).describe_model("pipelines-abc-CreateModel-x1-0")
    assert stored == result.properties


def test_model_step_rerun_of_an_attempt_reuses_its_model(make_request, ctx) -> None:
    request = make_request(MODEL_STEP, job_name="job-1")
    first = ModelRunner().run(request, ctx)
    assert ModelRunner().run(request, ctx).properties == first.properties


def test_bad_create_model_request_fails_not_retryable(make_request, ctx) -> None:
    step = {**MODEL_STEP, "Arguments": {"PrimaryContainer": {"Image": 5}}}
    with pytest.raises(StepFailed) as failure:
        ModelRunner().run(make_request(step), ctx)
    assert failure.value.error_code == "ValidationException"
    assert "PrimaryContainer.Image" in failure.value.message


def test_register_model_creates_group_and_versions(make_request, ctx) -> None:
    first = RegisterModelRunner().run(make_request(REGISTER_STEP, job_name="job-a"), ctx)
    second = RegisterModelRunner().run(make_request(REGISTER_STEP, job_name="job-b"), ctx)
    assert first.properties["ModelPackageVersion"] == 1
    assert second.properties["ModelPackageVersion"] == 2
    assert first.properties["ModelApprovalStatus"] == "PendingManualApproval"
    assert first.properties["ModelPackageGroupName"] == "Churn"
    assert first.properties["ModelMetrics"] == REGISTER_STEP["Arguments"]["ModelMetrics"]
    assert second.metadata == {"RegisterModel": {"Arn": second.properties["ModelPackageArn"]}}
    registry = ModelRegistry.from_config(ctx.config)
    assert [p["ModelPackageVersion"] for p in registry.list_model_packages("Churn")] == [2, 1]


def test_register_model_rerun_of_an_attempt_is_one_version(make_request, ctx) -> None:
    request = make_request(REGISTER_STEP, job_name="job-a")
    RegisterModelRunner().run(request, ctx)
    RegisterModelRunner().run(request, ctx)
    assert len(ModelRegistry.from_config(ctx.config).list_model_packages("Churn")) == 1


def test_register_model_approval_status_from_arguments(make_request, ctx) -> None:
    args: dict[str, Any] = {**REGISTER_STEP["Arguments"], "ModelApprovalStatus": "Approved"}
    result = RegisterModelRunner().run(make_request(REGISTER_STEP, arguments=args), ctx)
    assert result.properties["ModelApprovalStatus"] == "Approved"
    bad = {**args, "ModelApprovalStatus": "approved"}
    with pytest.raises(StepFailed, match="ModelApprovalStatus 'approved'"):
        RegisterModelRunner().run(make_request(REGISTER_STEP, arguments=bad, job_name="job-z"), ctx)


def test_default_registry_has_these_runners() -> None:
    registry = default_registry()
    assert {"Lambda", "Callback", "Model", "RegisterModel"} <= registry.step_types()
