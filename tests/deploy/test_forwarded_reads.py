"""In the cloud, jobs, models and the registry are SageMaker's: the api Lambda forwards those
calls (moto stands in for SageMaker) for the resources our pipelines made, and only for the
deployment's own account."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.deploy.conftest import OTHER, OWNER, ROLE, Cloud

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1"


@pytest.fixture(autouse=True)
def _deployment_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's account (what STS tells the api Lambda) is the owner's."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OWNER)


def processing_job(real: Any, name: str) -> None:
    real.create_processing_job(
        ProcessingJobName=name,
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
        },
        AppSpecification={"ImageUri": IMAGE},
        RoleArn=ROLE,
    )


def code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_job_reads_reach_sagemaker_for_pipeline_jobs_only(cloud: Cloud) -> None:
    real = cloud.real("sagemaker")
    ours = "pipelines-abc123def456-Prep-XyZ12345-0"
    processing_job(real, ours)
    processing_job(real, "someone-elses-job")
    sm = cloud.sagemaker(cloud=True)
    described = sm.describe_processing_job(ProcessingJobName=ours)
    assert described["ProcessingJobName"] == ours and described["RoleArn"] == ROLE
    assert [j["ProcessingJobName"] for j in sm.list_processing_jobs()["ProcessingJobSummaries"]] == [ours]
    assert (
        code(lambda: sm.describe_processing_job(ProcessingJobName="someone-elses-job")) == "ResourceNotFound"
    )
    assert (
        code(lambda: sm.describe_training_job(TrainingJobName="pipelines-none-0")) != ""
    )  # SageMaker's own answer
    other = cloud.sagemaker(OTHER, cloud=True)
    assert code(lambda: other.describe_processing_job(ProcessingJobName=ours)) == "AccessDeniedException"


def test_registry_calls_go_to_the_real_registry(cloud: Cloud) -> None:
    sm = cloud.sagemaker(cloud=True)
    sm.create_model_package_group(ModelPackageGroupName="churn")
    assert (
        cloud.real("sagemaker").describe_model_package_group(ModelPackageGroupName="churn")[
            "ModelPackageGroupName"
        ]
        == "churn"
    )
    groups = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == ["churn"]
    assert code(lambda: sm.describe_model(ModelName="not-ours")) == "ResourceNotFound"
