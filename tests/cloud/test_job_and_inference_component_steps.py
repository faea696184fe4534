"""The SageMaker Python SDK v3's InferenceComponent and Job steps through the whole cloud runtime
on moto, from definitions the v3 SDK made (tests/fixtures/sdk_v3, ``generate_v3.py``): the
StepRunner creates (or updates) the component and creates the job, polls them to an end, the
engine keeps their Describe responses as properties (a Job's ``JobConfigDocument.*`` paths parsed
lazily), fails the step with their FailureReason, retries and caches Job steps, and stops a
running job with StopJob."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.harness import Cloud, wait_until
from tests.cloud.moto_patches import Complete, Failed, Hold, JobOutcome, Reject

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
LAMBDA = "score-region"  # the fixtures' FunctionArn
MLFLOW_DETAILS = {"RunId": "8f1c2a", "ExperimentId": "17", "RunName": "base-model-eval"}


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def endpoint(cloud: Cloud, name: str = "abalone-endpoint") -> None:
    """The endpoint the SDK's component deploys to (an inference component needs one)."""
    cloud.sagemaker.create_model(ModelName="abalone-model", ExecutionRoleArn=cloud.role_arn)
    cloud.sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "abalone-model", "InstanceType": "ml.m5.large"}
        ],
    )
    cloud.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def only(kind: str, outcome: JobOutcome) -> Any:
    return lambda job_kind, _name, _request: outcome if job_kind == kind else None


def lambda_events(cloud: Cloud) -> list[Any]:
    return [event for name, event in cloud.moto.invocations if name == LAMBDA]


@pytest.fixture
def announced(cloud: Cloud) -> Cloud:
    cloud.function(LAMBDA, lambda event, _ctx: {})
    return cloud


def test_a_component_is_created_then_updated_and_its_describe_is_the_steps_properties(
    announced: Cloud,
) -> None:
    cloud = announced
    endpoint(cloud)
    cloud.register(fixture("inference_component"))
    first = cloud.run()
    second = cloud.run(parameters={"ModelName": "abalone-model-v2"})

    assert (first.status, second.status) == ("Succeeded", "Succeeded")
    deployed = cloud.steps(second.execution_id)["DeployComponent"]
    properties = deployed.properties or {}
    assert properties["InferenceComponentStatus"] == "InService"
    assert properties["EndpointName"] == "abalone-endpoint"
    assert properties["Specification"]["ModelName"] == "abalone-model-v2"
    assert deployed.metadata == {"InferenceComponent": {"Arn": properties["InferenceComponentArn"]}}
    assert [name for kind, name in cloud.moto.jobs.created if kind == "InferenceComponent"] == [
        "abalone-component",
        "abalone-component",
    ]
    (listed,) = cloud.sagemaker.list_inference_components()["InferenceComponents"]
    assert listed["InferenceComponentName"] == "abalone-component"
    live = cloud.sagemaker.describe_inference_component(InferenceComponentName="abalone-component")
    assert live["Specification"]["ModelName"] == "abalone-model-v2"
    assert [event["model"] for event in lambda_events(cloud)] == ["abalone-model", "abalone-model-v2"]
    assert lambda_events(cloud)[-1]["status"] == "InService"
    assert lambda_events(cloud)[-1]["component_arn"] == properties["InferenceComponentArn"]


def test_a_component_that_fails_fails_its_step_with_the_failure_reason(announced: Cloud) -> None:
    cloud = announced
    endpoint(cloud)
    cloud.moto.jobs.decide = only("InferenceComponent", Failed("Insufficient memory on the instance."))
    cloud.register(fixture("inference_component"))
    final = cloud.run()

    deployed = cloud.steps(final.execution_id)["DeployComponent"]
    assert (final.status, deployed.status) == ("Failed", "Failed")
    assert deployed.failure_reason == "Insufficient memory on the instance."
    assert lambda_events(cloud) == []


def test_a_component_on_a_missing_endpoint_fails_with_the_services_error(announced: Cloud) -> None:
    cloud = announced
    cloud.register(fixture("inference_component"))
    final = cloud.run()

    deployed = cloud.steps(final.execution_id)["DeployComponent"]
    assert deployed.status == "Failed"
    assert deployed.failure_reason is not None
    assert "Could not find endpoint 'abalone-endpoint'" in deployed.failure_reason


def test_the_sdks_evaluation_pipeline_reads_the_jobs_service_output_from_its_config_document(
    cloud: Cloud,
) -> None:
    cloud.moto.jobs.decide = only("Job", Complete(service_output={"MlflowDetails": MLFLOW_DETAILS}))
    cloud.register(fixture("mtrl_evaluation"))
    final = cloud.run()

    assert final.status == "Succeeded", final.failure_reason
    steps = cloud.steps(final.execution_id)
    evaluated = steps["EvaluateBaseModel"]
    properties = evaluated.properties or {}
    assert (properties["JobStatus"], properties["JobCategory"]) == ("Completed", "AgentRFTEvaluation")
    assert properties["JobName"] == evaluated.job_name
    assert json.loads(properties["JobConfigDocument"])["ServiceOutput"] == {"MlflowDetails": MLFLOW_DETAILS}
    assert evaluated.metadata == {"Job": {"Arn": properties["JobArn"]}}
    (report,) = [e for e in cloud.moto.lineage.values() if e.get("ArtifactType") == "EvaluationReport"]
    assert report["Source"]["SourceUri"] == "8f1c2a"
    assert report["Properties"] == {"MlflowExperimentId": "17", "MlflowRunName": "base-model-eval"}


def test_a_failed_job_fails_its_step_with_the_failure_reason(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = only("Job", Failed("Reward function raised: KeyError 'score'"))
    cloud.register(fixture("mtrl_evaluation"))
    final = cloud.run()

    steps = cloud.steps(final.execution_id)
    assert (final.status, steps["EvaluateBaseModel"].status) == ("Failed", "Failed")
    assert steps["EvaluateBaseModel"].failure_reason == "Reward function raised: KeyError 'score'"
    assert "AssociateLineage" not in steps or steps["AssociateLineage"].status != "Succeeded"


def test_a_job_path_into_a_document_without_that_member_fails_the_reading_step(cloud: Cloud) -> None:
    cloud.register(fixture("mtrl_evaluation"))  # the job completes without a ServiceOutput
    final = cloud.run()

    steps = cloud.steps(final.execution_id)
    assert final.status == "Failed"
    assert steps["EvaluateBaseModel"].status == "Succeeded"
    reason = steps["AssociateLineage"].failure_reason or ""
    assert "JobConfigDocument.ServiceOutput" in reason, reason


def test_stopping_stops_the_running_job_with_stop_job(cloud: Cloud) -> None:
    cloud.moto.jobs.decide = only("Job", Hold())
    cloud.register(fixture("mtrl_evaluation"))
    started = cloud.start()
    wait_until(lambda: bool(cloud.moto.jobs.held))
    cloud.api.stop(started.execution_arn)
    final = cloud.wait(started.execution_arn)

    evaluated = cloud.steps(final.execution_id)["EvaluateBaseModel"]
    assert (final.status, evaluated.status) == ("Stopped", "Stopped")
    assert cloud.moto.jobs.stopped == [("Job", evaluated.job_name)]
    described = cloud.sagemaker.describe_job(JobName=evaluated.job_name, JobCategory="AgentRFTEvaluation")
    assert described["JobStatus"] == "Stopped"


def test_a_job_rejected_for_a_resource_limit_is_retried_by_its_policy(announced: Cloud) -> None:
    cloud = announced
    refusals = iter([Reject("ResourceLimitExceeded", "The account-level service limit for jobs is 4.")])
    cloud.moto.jobs.decide = lambda kind, _name, _request: next(refusals, None) if kind == "Job" else None
    cloud.register(fixture("job"))
    final = cloud.run()

    assert final.status == "Succeeded", final.failure_reason
    trained = cloud.steps(final.execution_id)["AgentRFT"]
    assert trained.attempt == 2
    assert [code for kind, _name, code in cloud.moto.jobs.rejected if kind == "Job"] == [
        "ResourceLimitExceeded"
    ]
    assert lambda_events(cloud)[0]["status"] == "Completed"


def test_a_cached_job_is_reused_by_the_next_execution(announced: Cloud) -> None:
    cloud = announced
    cloud.register(fixture("job"))
    first = cloud.run()
    second = cloud.run()

    assert (first.status, second.status) == ("Succeeded", "Succeeded")
    reused = cloud.steps(second.execution_id)["AgentRFT"]
    assert reused.cache_hit_source_arn == first.execution_arn
    assert [kind for kind, _name in cloud.moto.jobs.created].count("Job") == 1
