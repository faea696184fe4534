"""``plan_definition`` over the whole conformance corpus, and the shape of what it plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipelines.definition import parse_definition
from pipelines.definition.models import PipelineDefinition
from pipelines.stepfunctions import CLOUD_STEP_TYPES, Route, UnsupportedInCloud, plan_definition
from pipelines.stepfunctions.requests import find_expression

from .builders import CORPUS

CORPUS_FILES = sorted(CORPUS.glob("*.json"))


def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) >= 39, f"corpus not found at {CORPUS}"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_plan_routes_every_corpus_step_or_names_it(path: Path) -> None:
    definition = parse_definition(path.read_bytes())
    steps = list(definition.all_steps())
    unsupported_names = {step.name for step in steps if step.type not in CLOUD_STEP_TYPES}
    if unsupported_names:
        with pytest.raises(UnsupportedInCloud) as caught:
            plan_definition(definition)
        assert {step.name for step in caught.value.steps} == unsupported_names
        for name in unsupported_names:
            assert name in str(caught.value)
        return
    planned = plan_definition(definition)
    assert [p.name for p in planned] == [step.name for step in steps]
    for planned_step, step in zip(planned, steps, strict=True):
        assert planned_step.type == step.type
        if planned_step.route is Route.ENGINE:
            assert planned_step.input_template is None and planned_step.states == ()
            continue
        template = planned_step.input_template
        assert template is not None
        assert template["route"] == planned_step.route.value
        assert planned_step.credentials == {"RoleArn": "${PipelineRoleArn}"}
        assert planned_step.states[0] == "Backoff" and planned_step.states[-2:] == ("Report", "Done")
        json.dumps(template)  # the template is plain JSON


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
                {"Name": "Link", "Type": "Lineage", "Arguments": {}},
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
        ("Link", "Lineage"),
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
