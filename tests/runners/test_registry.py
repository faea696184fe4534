"""The local model registry: models, groups, versions, approval status, shared state file."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pipelines.registry import ModelRegistry, RegistryConflict, RegistryNotFound, RegistryValidationError

CONTAINER = {"Image": "123.dkr.ecr.us-east-1.amazonaws.com/xgb:1", "ModelDataUrl": "s3://b/model.tar.gz"}
INFERENCE = {
    "Containers": [CONTAINER],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "pipelines.sqlite", region="us-east-1", account_id="111122223333")


def test_versions_increment_per_group_and_default_to_pending(registry: ModelRegistry) -> None:
    first = registry.create_model_package(
        {"ModelPackageGroupName": "Churn", "InferenceSpecification": INFERENCE}, create_group=True
    )
    second = registry.create_model_package(
        {
            "ModelPackageGroupName": "Churn",
            "InferenceSpecification": INFERENCE,
            "ModelApprovalStatus": "Approved",
        }
    )
    other = registry.create_model_package({"ModelPackageGroupName": "Other"}, create_group=True)
    assert (first["ModelPackageVersion"], second["ModelPackageVersion"], other["ModelPackageVersion"]) == (
        1,
        2,
        1,
    )
    assert first["ModelPackageArn"] == "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn/1"
    assert first["ModelApprovalStatus"] == "PendingManualApproval"
    assert second["ModelApprovalStatus"] == "Approved"
    assert first["ModelPackageGroupName"] == "Churn"
    assert first["InferenceSpecification"] == INFERENCE
    assert first["ModelPackageStatus"] == "Completed"
    assert registry.describe_model_package(first["ModelPackageArn"]) == first
    assert [p["ModelPackageVersion"] for p in registry.list_model_packages("Churn")] == [2, 1]
    assert {g["ModelPackageGroupName"] for g in registry.list_model_package_groups()} == {"Churn", "Other"}


def test_missing_group_is_refused_unless_a_pipeline_creates_it(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryNotFound, match="does not exist"):
        registry.create_model_package({"ModelPackageGroupName": "Nope"})
    registry.create_model_package_group("Nope", "described")
    created = registry.create_model_package({"ModelPackageGroupName": "Nope"})
    assert created["ModelPackageVersion"] == 1
    assert registry.describe_model_package_group("Nope")["ModelPackageGroupDescription"] == "described"
    with pytest.raises(RegistryConflict):
        registry.create_model_package_group("Nope")


def test_request_is_checked_against_the_api_shape(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryValidationError, match="Unknown parameter"):
        registry.create_model_package({"ModelPackageGroupName": "G", "Bogus": 1}, create_group=True)
    with pytest.raises(RegistryValidationError, match="ModelApprovalStatus 'Maybe'"):
        registry.create_model_package(
            {"ModelPackageGroupName": "G", "ModelApprovalStatus": "Maybe"}, create_group=True
        )
    with pytest.raises(RegistryValidationError, match="exactly one of"):
        registry.create_model_package({"InferenceSpecification": INFERENCE})


def test_idempotency_key_returns_the_first_version(registry: ModelRegistry) -> None:
    request = {"ModelPackageGroupName": "G"}
    first = registry.create_model_package(request, create_group=True, idempotency_key="job-1")
    again = registry.create_model_package(request, create_group=True, idempotency_key="job-1")
    other = registry.create_model_package(request, create_group=True, idempotency_key="job-2")
    assert again == first
    assert other["ModelPackageVersion"] == 2


def test_approval_status_update(registry: ModelRegistry) -> None:
    package = registry.create_model_package({"ModelPackageGroupName": "G"}, create_group=True)
    updated = registry.update_approval_status(package["ModelPackageArn"], "Approved", "looks good")
    assert updated["ModelApprovalStatus"] == "Approved"
    assert registry.describe_model_package(package["ModelPackageArn"])["ApprovalDescription"] == "looks good"
    assert registry.list_model_packages("G")[0]["ModelApprovalStatus"] == "Approved"
    with pytest.raises(RegistryValidationError):
        registry.update_approval_status(package["ModelPackageArn"], "Sure")


def test_unversioned_package(registry: ModelRegistry) -> None:
    package = registry.create_model_package({"ModelPackageName": "standalone"})
    assert "ModelPackageVersion" not in package
    assert "ModelApprovalStatus" not in package
    assert registry.describe_model_package("standalone") == package


def test_models_describe_as_the_api_does(registry: ModelRegistry) -> None:
    model = registry.create_model(
        {
            "ModelName": "m-1",
            "PrimaryContainer": CONTAINER,
            "ExecutionRoleArn": "arn:aws:iam::1:role/r",
            "Tags": [],
        }
    )
    assert model["ModelArn"] == "arn:aws:sagemaker:us-east-1:111122223333:model/m-1"
    assert "Tags" not in model  # not a DescribeModel member
    assert registry.describe_model("m-1") == model
    assert [m["ModelName"] for m in registry.list_models()] == ["m-1"]
    with pytest.raises(RegistryConflict, match="already existing"):
        registry.create_model({"ModelName": "m-1", "PrimaryContainer": CONTAINER})
    with pytest.raises(RegistryNotFound):
        registry.describe_model("m-2")


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.sqlite"
    versions: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            registry = ModelRegistry(path, region="us-east-1", account_id="111122223333")
            for _ in range(5):
                versions.append(
                    registry.create_model_package({"ModelPackageGroupName": "G"}, create_group=True)[
                        "ModelPackageVersion"
                    ]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(versions) == list(range(1, 21))


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.sqlite"
    ModelRegistry(path, region="us-east-1", account_id="111122223333").create_model_package(
        {"ModelPackageGroupName": "G"}, create_group=True
    )
    reopened = ModelRegistry(path, region="us-east-1", account_id="111122223333")
    assert reopened.create_model_package({"ModelPackageGroupName": "G"})["ModelPackageVersion"] == 2
