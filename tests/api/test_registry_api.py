"""The model registry through real boto3 against a strict ``pipelines serve``: groups and
versions, approval with its "Model Package State Change" event, models, paging, errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.events import MODEL_PACKAGE_STATE_CHANGE, events_path, read_events
from pipelines.registry import ModelRegistry

from tests.api.conftest import ROLE, Served

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1"
INFERENCE = {
    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://models/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_groups_versions_and_approval(served: Served) -> None:
    sm = served.client("sagemaker")
    arn = sm.create_model_package_group(ModelPackageGroupName="churn", ModelPackageGroupDescription="d")[
        "ModelPackageGroupArn"
    ]
    assert arn == "arn:aws:sagemaker:us-east-1:000000000000:model-package-group/churn"
    assert (
        sm.describe_model_package_group(ModelPackageGroupName="churn")["ModelPackageGroupDescription"] == "d"
    )
    assert code(lambda: sm.create_model_package_group(ModelPackageGroupName="churn")) == "ValidationException"

    versions = [
        sm.create_model_package(ModelPackageGroupName="churn", InferenceSpecification=INFERENCE)[
            "ModelPackageArn"
        ]
        for _ in range(3)
    ]
    assert [v.rpartition("/")[2] for v in versions] == ["1", "2", "3"]
    listed = sm.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert [s["ModelPackageVersion"] for s in listed] == [3, 2, 1]
    assert {s["ModelApprovalStatus"] for s in listed} == {"PendingManualApproval"}
    first = sm.list_model_packages(ModelPackageGroupName="churn", MaxResults=2, SortOrder="Ascending")
    assert [s["ModelPackageVersion"] for s in first["ModelPackageSummaryList"]] == [1, 2]
    rest = sm.list_model_packages(
        ModelPackageGroupName="churn", MaxResults=2, SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [s["ModelPackageVersion"] for s in rest["ModelPackageSummaryList"]] == [3]

    sm.update_model_package(
        ModelPackageArn=versions[1], ModelApprovalStatus="Approved", ApprovalDescription="good AUC"
    )
    described = sm.describe_model_package(ModelPackageName=versions[1])
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "good AUC")
    approved = sm.list_model_packages(ModelPackageGroupName="churn", ModelApprovalStatus="Approved")
    assert [s["ModelPackageArn"] for s in approved["ModelPackageSummaryList"]] == [versions[1]]

    events = [
        e for e in read_events(events_path(served.config)) if e["detail-type"] == MODEL_PACKAGE_STATE_CHANGE
    ]
    assert len(events) == 1
    (event,) = events
    assert event["resources"] == [versions[1]]
    detail: Any = event["detail"]
    assert (detail["ModelApprovalStatus"], detail["ModelPackageVersion"]) == ("Approved", 2)
    assert "ModelApprovalStatus" in detail["UpdatedModelPackageFields"]

    # metadata only: no approval change, no event
    sm.update_model_package(ModelPackageArn=versions[1], CustomerMetadataProperties={"team": "risk"})
    assert sm.describe_model_package(ModelPackageName=versions[1])["CustomerMetadataProperties"] == {
        "team": "risk"
    }
    assert (
        len(
            [
                e
                for e in read_events(events_path(served.config))
                if e["detail-type"] == MODEL_PACKAGE_STATE_CHANGE
            ]
        )
        == 1
    )

    groups = sm.list_model_package_groups(NameContains="chu")["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["churn"]
    assert code(lambda: sm.delete_model_package_group(ModelPackageGroupName="churn")) == "ConflictException"
    for version in versions:
        sm.delete_model_package(ModelPackageName=version)
    sm.delete_model_package_group(ModelPackageGroupName="churn")
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_registry_errors(served: Served) -> None:
    sm = served.client("sagemaker")
    missing = "arn:aws:sagemaker:us-east-1:000000000000:model-package/none/1"
    assert (
        code(lambda: sm.describe_model_package_group(ModelPackageGroupName="none")) == "ValidationException"
    )
    assert code(lambda: sm.describe_model_package(ModelPackageName=missing)) == "ValidationException"
    assert code(lambda: sm.update_model_package(ModelPackageArn=missing, ModelApprovalStatus="Approved")) == (
        "ValidationException"
    )
    assert code(
        lambda: sm.create_model_package(ModelPackageGroupName="none", InferenceSpecification=INFERENCE)
    ) == ("ValidationException")
    assert code(lambda: sm.list_model_packages(ModelPackageGroupName="none")) == "ValidationException"
    assert code(lambda: sm.delete_model(ModelName="none")) == "ValidationException"
    assert code(lambda: sm.describe_model(ModelName="none")) == "ValidationException"


def test_models_written_by_steps_are_listed_and_deleted(served: Served) -> None:
    registry = ModelRegistry.from_config(served.config)
    for name in ("model-a", "model-b", "other"):
        registry.create_model(
            {"ModelName": name, "PrimaryContainer": {"Image": IMAGE}, "ExecutionRoleArn": ROLE}
        )
    sm = served.client("sagemaker")
    assert sm.describe_model(ModelName="model-a")["PrimaryContainer"]["Image"] == IMAGE
    named = sm.list_models(NameContains="model", SortBy="Name", SortOrder="Ascending")["Models"]
    assert [m["ModelName"] for m in named] == ["model-a", "model-b"]
    paged = [
        m["ModelName"]
        for page in sm.get_paginator("list_models").paginate(PaginationConfig={"PageSize": 2})
        for m in page["Models"]
    ]
    assert sorted(paged) == ["model-a", "model-b", "other"]
    sm.delete_model(ModelName="model-a")
    assert [m["ModelName"] for m in sm.list_models(SortBy="Name", SortOrder="Ascending")["Models"]] == [
        "model-b",
        "other",
    ]
