"""A real SDK-generated definition (examples/abalone, SDK v2 output) through the engine and
the embedded driver, with job runners faked: Describe*-shaped properties, the evaluation
report written to the object store as the real evaluation job would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pipelines.engine import StartRequest
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.registry import RunnerRegistry
from pipelines.runtime.embedded import EmbeddedRuntime

from tests.project_files import ABALONE_DEFINITION

from .fakes import processing_properties

ABALONE = ABALONE_DEFINITION


class FakeJobs:
    """One fake runner per job step type, recording the requests it received."""

    def __init__(self, step_type: str, mse: float) -> None:
        self.step_type = step_type
        self.mse = mse
        self.requests: list[StepRequest] = []

    def check(self, step: Any, config: Any) -> None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        self.requests.append(request)
        args = request.arguments
        if self.step_type == "Processing":
            if request.step_name == "EvaluateAbaloneModel":
                (output,) = args["ProcessingOutputConfig"]["Outputs"]
                report = {"regression_metrics": {"mse": {"value": self.mse, "standard_deviation": 0.1}}}
                ctx.objects.put(output["S3Output"]["S3Uri"] + "/evaluation.json", json.dumps(report).encode())
            return StepResult(properties=processing_properties(request))
        if self.step_type == "Training":
            artifacts = f"{args['OutputDataConfig']['S3OutputPath']}/{request.job_name}/output/model.tar.gz"
            return StepResult(
                properties={
                    "TrainingJobName": request.job_name,
                    "ModelArtifacts": {"S3ModelArtifacts": artifacts},
                },
                metadata={
                    "TrainingJob": {"Arn": f"arn:aws:sagemaker:us-east-1:0:training-job/{request.job_name}"}
                },
            )
        if self.step_type == "Model":
            return StepResult(
                properties={"ModelName": request.job_name, "PrimaryContainer": args["PrimaryContainer"]}
            )
        if self.step_type == "RegisterModel":
            return StepResult(
                properties={"ModelPackageArn": "arn:aws:sagemaker:us-east-1:0:model-package/abalone/1"}
            )
        return StepResult(properties={"TransformJobName": request.job_name, "ModelName": args["ModelName"]})


@pytest.mark.parametrize(("mse", "expected_status"), [(4.5, "Succeeded"), (7.25, "Failed")])
def test_abalone_batch_transform(config, store, objects, clock, mse, expected_status) -> None:
    fakes = {t: FakeJobs(t, mse) for t in ("Processing", "Training", "Model", "RegisterModel", "Transform")}
    runtime = EmbeddedRuntime(
        config, store=store, registry=RunnerRegistry(fakes.values()), objects=objects, clock=clock
    )
    execution = runtime.run(
        ABALONE.read_text(), StartRequest(pipeline_name="abalone", parameters={"MseThreshold": "6.0"})
    )
    steps = runtime.engine.state(execution.execution_id).steps
    assert execution.status == expected_status
    train = fakes["Training"].requests[0]
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train.arguments["InputDataConfig"]
    }
    process_outputs = {
        o["OutputName"]: o["S3Output"]["S3Uri"]
        for o in steps["PreprocessAbaloneData"].properties["ProcessingOutputConfig"]["Outputs"]
    }
    assert channels == {"train": process_outputs["train"], "validation": process_outputs["validation"]}
    assert (
        steps["EvaluateAbaloneModel"].property_files["EvaluationReport"]["regression_metrics"]["mse"]["value"]
        == mse
    )
    if expected_status == "Succeeded":
        assert steps["CheckMSEAbaloneEvaluation"].properties == {"Outcome": True}
        transform = fakes["Transform"].requests[0]
        assert (
            transform.arguments["ModelName"]
            == steps["CreateAbaloneModel-CreateModel"].properties["ModelName"]
        )
        assert "AbaloneMSEFail" not in steps
        assert {s.status for s in steps.values()} == {"Succeeded"}
        assert len(steps) == 7
    else:
        # the Fail step's message is the step's reason; the execution's is the generic one
        assert (
            execution.failure_reason
            == "Step failure: One or multiple steps failed. Failed steps: AbaloneMSEFail."
        )
        assert steps["AbaloneMSEFail"].failure_reason == "Execution failed due to MSE > 6.0"
        assert steps["AbaloneMSEFail"].metadata == {
            "Fail": {"ErrorMessage": "Execution failed due to MSE > 6.0"}
        }
        assert not {
            "RegisterAbaloneModel-RegisterModel",
            "CreateAbaloneModel-CreateModel",
            "TransformAbaloneBatch",
        } & set(steps)
