"""The shape of what ``plan_definition`` plans (the whole corpus: tests/conformance)."""

from __future__ import annotations

import pytest
from pipelines.definition.models import PipelineDefinition
from pipelines.stepfunctions import UnsupportedInCloud, plan_definition
from pipelines.stepfunctions.requests import find_expression


def test_plan_keeps_expressions_and_puts_placeholders_where_run_time_values_go() -> None:
    definition = PipelineDefinition.model_validate(
        {
            "Version": "2020-12-01",
            "Parameters": [{"Name": "Count", "Type": "Integer", "DefaultValue": 1}],
            "Steps": [
                {
                    "Name": "Prep",
                    "Type": "Processing",
                    "Arguments": {
                        "ProcessingResources": {
                            "ClusterConfig": {"InstanceCount": {"Get": "Parameters.Count"}}
                        },
                        "AppSpecification": {"ImageUri": "img"},
                        "RoleArn": "arn:job-role",
                    },
                }
            ],
        }
    )
    (planned,) = plan_definition(definition)
    template = planned.input_template
    assert template is not None
    assert find_expression(template) == "$.request.ProcessingResources.ClusterConfig.InstanceCount"
    assert template["request"]["ProcessingJobName"] == "${JobName}"
    assert template["request"]["ExperimentConfig"] == {
        "ExperimentName": "${ExperimentName}",
        "TrialName": "${TrialName}",
    }
    assert template["roleArn"] == "${PipelineRoleArn}"
    assert planned.integrations == ("arn:aws:states:::sagemaker:createProcessingJob.sync",)
    assert planned.states == ("Backoff", "Route", "Processing", "Report", "Done")


def test_plan_names_every_unsupported_step_at_once() -> None:
    definition = PipelineDefinition.model_validate(
        {
            "Version": "2020-12-01",
            "Steps": [
                {"Name": "Link", "Type": "BedrockModelImport", "Arguments": {}},
                {"Name": "Train", "Type": "Training", "Arguments": {}},
                {
                    "Name": "Check",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [],
                        "IfSteps": [{"Name": "Deploy", "Type": "Endpoint", "Arguments": {}}],
                        "ElseSteps": [{"Name": "Emr", "Type": "EMR", "Arguments": {"StepConfig": {}}}],
                    },
                },
            ],
        }
    )
    with pytest.raises(UnsupportedInCloud) as caught:
        plan_definition(definition)
    assert [(step.name, step.type) for step in caught.value.steps] == [
        ("Link", "BedrockModelImport"),
        ("Deploy", "Endpoint"),
        ("Emr", "EMR"),
    ]


def test_plan_without_experiments_adds_no_experiment_config() -> None:
    definition = PipelineDefinition.model_validate(
        {
            "Version": "2020-12-01",
            "PipelineExperimentConfig": None,
            "Steps": [{"Name": "Train", "Type": "Training", "Arguments": {}}],
        }
    )
    (planned,) = plan_definition(definition)
    assert planned.input_template is not None
    assert "ExperimentConfig" not in planned.input_template["request"]


def test_the_v3_sdks_inference_component_and_job_steps_plan_onto_their_routes() -> None:
    """The v3 SDK's own definitions (tests/fixtures/sdk_v3): each step has a route, with the
    create-or-update request of a component and the CreateJob request named per attempt."""
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
    planned = {
        step.name: step
        for name in ("inference_component", "mtrl_evaluation", "job")
        for step in plan_definition(
            PipelineDefinition.model_validate_json((fixtures / f"{name}.json").read_text())
        )
    }
    component = planned["DeployComponent"]
    assert component.route.value == "InferenceComponent"
    assert component.states[2:4] == ("InferenceComponentLookup", "InferenceComponentCreateOrUpdate")
    request = component.input_template and component.input_template["request"]
    assert request and request["InferenceComponentName"] == "abalone-component"
    assert set(request["Update"]) == {"InferenceComponentName", "Specification", "RuntimeConfig"}
    assert request["Create"]["EndpointName"] == "abalone-endpoint"
    job = planned["EvaluateBaseModel"]
    assert job.route.value == "Job"
    assert job.integrations == (
        "arn:aws:states:::aws-sdk:sagemaker:createJob",
        "arn:aws:states:::aws-sdk:sagemaker:describeJob",
    )
    assert job.input_template and job.input_template["request"]["JobName"] == "${JobName}"
    assert "ExperimentConfig" not in job.input_template["request"]  # CreateJob has no such member
    assert planned["AssociateLineage"].route.value == "Engine"
