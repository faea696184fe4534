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
