"""The abalone example pipeline (examples/abalone: SDK v2 output) end to end in the cloud runtime:
Processing -> Training -> evaluation Processing with a PropertyFile -> Condition on JsonGet ->
RegisterModel + Model + Transform, or a Fail step. moto's SageMaker creates the jobs and
answers with its Describe outputs; the evaluation job "writes" its report to S3."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cloud.harness import Cloud
from tests.cloud.moto_patches import Complete, JobOutcome
from tests.project_files import ABALONE_DEFINITION, ABALONE_GOOD_MODEL_STEPS

ABALONE = ABALONE_DEFINITION
BUCKET = "abalone-example"


def report_writer(mse: float):
    def decide(kind: str, job_name: str, request: dict[str, Any]) -> JobOutcome:
        outputs = request.get("processing_output_config", {}).get("Outputs", [])
        for output in outputs:
            if output["OutputName"] == "evaluation":
                uri = f"{output['S3Output']['S3Uri']}/evaluation.json"
                report = {"regression_metrics": {"mse": {"value": mse, "standard_deviation": 1.2}}}
                return Complete({uri: json.dumps(report).encode()})
        return Complete()

    return decide


@pytest.fixture
def abalone(cloud: Cloud) -> str:
    cloud.s3.create_bucket(Bucket=BUCKET)
    cloud.sagemaker.create_model_package_group(ModelPackageGroupName="AbaloneModelPackageGroup")
    return cloud.register(ABALONE.read_text(), "abalone")


def test_a_good_model_is_registered_created_and_batch_transformed(cloud: Cloud, abalone: str) -> None:
    cloud.moto.jobs.decide = report_writer(mse=4.2)
    final = cloud.run(abalone, parameters={"MseThreshold": "6.0"})

    assert (final.status, final.failure_reason) == ("Succeeded", None)
    steps = cloud.steps(final.execution_id)
    assert {n: s.status for n, s in steps.items()} == {name: "Succeeded" for name in ABALONE_GOOD_MODEL_STEPS}
    # Properties are the real Describe* responses, and references between steps resolve from them.
    train = steps["TrainAbaloneModel"].properties or {}
    assert train["TrainingJobStatus"] == "Completed"
    assert train["TrainingJobName"] == steps["TrainAbaloneModel"].job_name
    artifacts = train["ModelArtifacts"]["S3ModelArtifacts"]
    assert steps["EvaluateAbaloneModel"].arguments["ProcessingInputs"][0]["S3Input"]["S3Uri"] == artifacts
    assert (
        steps["EvaluateAbaloneModel"].property_files["EvaluationReport"]["regression_metrics"]["mse"]["value"]
        == 4.2
    )
    assert steps["CheckMSEAbaloneEvaluation"].properties == {"Outcome": True}
    model = steps["CreateAbaloneModel-CreateModel"].properties or {}
    assert model["ModelName"] == steps["CreateAbaloneModel-CreateModel"].job_name
    assert model["PrimaryContainer"]["ModelDataUrl"] == artifacts
    assert steps["TransformAbaloneBatch"].arguments["ModelName"] == model["ModelName"]
    package = steps["RegisterAbaloneModel-RegisterModel"].properties or {}
    assert package["ModelPackageGroupName"] == "AbaloneModelPackageGroup"
    assert package["ModelApprovalStatus"] == "PendingManualApproval"

    # Every job ran under the pipeline's experiment and run group, created in SageMaker.
    experiment = {"ExperimentName": "abalone", "TrialName": final.execution_id}
    described = cloud.sagemaker.describe_training_job(TrainingJobName=steps["TrainAbaloneModel"].job_name)
    assert described["ExperimentConfig"] == experiment
    assert cloud.sagemaker.describe_experiment(ExperimentName="abalone")["ExperimentName"] == "abalone"
    assert cloud.sagemaker.describe_trial(TrialName=final.execution_id)["TrialName"] == final.execution_id

    # One StepRunner execution per step attempt, each SUCCEEDED, named <execution>-<step>-<attempt>.
    runners = cloud.runner_executions(final.execution_id)
    assert sorted(r["name"] for r in runners) == sorted(
        f"{final.execution_id}-{name}-1" for name, s in steps.items() if s.step_type != "Condition"
    )
    assert {r["status"] for r in runners} == {"SUCCEEDED"}
    (pipeline_run,) = [
        e
        for e in cloud.sfn.list_executions(stateMachineArn=cloud.machines["PipelineExecution"])["executions"]
    ]
    assert (pipeline_run["name"], pipeline_run["status"]) == (final.execution_id, "SUCCEEDED")


# the execution's reason at a Fail step is the service's generic one; the message is the step's
GENERIC_AT_FAIL_STEP = "Step failure: One or multiple steps failed. Failed steps: AbaloneMSEFail."


def test_a_poor_model_ends_at_the_fail_step(cloud: Cloud, abalone: str) -> None:
    cloud.moto.jobs.decide = report_writer(mse=9.5)
    final = cloud.run(abalone, parameters={"MseThreshold": "6.0"})

    assert (final.status, final.failure_reason) == ("Failed", GENERIC_AT_FAIL_STEP)
    steps = cloud.steps(final.execution_id)
    assert steps["AbaloneMSEFail"].failure_reason == "Execution failed due to MSE > 6.0"
    assert steps["CheckMSEAbaloneEvaluation"].properties == {"Outcome": False}
    assert steps["AbaloneMSEFail"].status == "Failed"
    assert "TransformAbaloneBatch" not in steps
    (pipeline_run,) = cloud.sfn.list_executions(stateMachineArn=cloud.machines["PipelineExecution"])[
        "executions"
    ]
    described = cloud.sfn.describe_execution(executionArn=pipeline_run["executionArn"])
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Failed",
        GENERIC_AT_FAIL_STEP,
    )
