"""Step -> StepRunner input: the typed request each route's Task receives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pipelines.stepfunctions import (
    Route,
    RunnerInputTooLarge,
    UnresolvedRequest,
    dump_input,
    step_runner_input,
)

from .builders import make_step

EXEC_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abc123def456"
ROLE = "arn:aws:iam::123456789012:role/PipelineRole"
EXPERIMENT = {"ExperimentName": "p", "TrialName": "abc123def456"}


def runner_input(step: Any, arguments: Any = None, **overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "job_name": "pipelines-abc123def456-Step-xyz-0",
        "role_arn": ROLE,
        "execution_arn": EXEC_ARN,
        "attempt": 1,
        "experiment_config": EXPERIMENT,
        **overrides,
    }
    return step_runner_input(step, step.arguments if arguments is None else arguments, **kwargs)


def test_processing_request_is_the_arguments_with_job_name_and_experiment() -> None:
    arguments = {"AppSpecification": {"ImageUri": "img"}, "RoleArn": "arn:job-role"}
    result = runner_input(make_step("Processing", arguments), delay_seconds=2.2, attempt=3)
    assert result["route"] == Route.PROCESSING.value
    assert result["delay"] == 3  # Wait seconds are whole: rounded up, never shorter than asked
    assert result["roleArn"] == ROLE
    assert result["request"] == {
        **arguments,
        "ProcessingJobName": "pipelines-abc123def456-Step-xyz-0",
        "ExperimentConfig": EXPERIMENT,
    }
    assert result["report"] == {
        "pipelineExecutionArn": EXEC_ARN,
        "stepName": "MyProcessing",
        "stepType": "Processing",
        "attempt": 3,
        "jobName": "pipelines-abc123def456-Step-xyz-0",
    }
    assert arguments == {"AppSpecification": {"ImageUri": "img"}, "RoleArn": "arn:job-role"}  # not mutated


def test_custom_job_name_prefix_in_arguments_is_replaced_by_the_attempt_job_name() -> None:
    step = make_step("Training", {"TrainingJobName": "my-prefix", "RoleArn": "r"})
    assert (
        runner_input(step, job_name="my-prefix-abc-tok-0")["request"]["TrainingJobName"]
        == "my-prefix-abc-tok-0"
    )


def test_experiment_config_keeps_the_steps_trial_component_display_name() -> None:
    step = make_step("Training", {"ExperimentConfig": {"TrialComponentDisplayName": "mine"}})
    assert runner_input(step)["request"]["ExperimentConfig"] == {
        **EXPERIMENT,
        "TrialComponentDisplayName": "mine",
    }


@pytest.mark.parametrize("step_type", ["Tuning", "Model", "RegisterModel", "AutoML"])
def test_experiment_config_only_goes_to_operations_that_take_it(step_type: str) -> None:
    step = make_step(step_type, {"ModelPackageGroupName": "g"} if step_type == "RegisterModel" else {})
    assert "ExperimentConfig" not in runner_input(step)["request"]


def test_no_experiment_config_when_the_pipeline_disables_experiments() -> None:
    assert "ExperimentConfig" not in runner_input(make_step("Transform"), experiment_config=None)["request"]


MLFLOW_VARIABLES = {"MLFLOW_TRACKING_ARN": "arn:mlflow", "MLFLOW_EXPERIMENT_NAME": "e"}


@pytest.mark.parametrize("step_type", ["Processing", "Training", "Transform"])
def test_job_variables_go_under_the_jobs_own_environment(step_type: str) -> None:
    step = make_step(step_type, {"Environment": {"MLFLOW_EXPERIMENT_NAME": "the-jobs-own", "A": "1"}})
    request = runner_input(step, job_environment=MLFLOW_VARIABLES)["request"]
    assert request["Environment"] == {
        "MLFLOW_TRACKING_ARN": "arn:mlflow",
        "MLFLOW_EXPERIMENT_NAME": "the-jobs-own",
        "A": "1",
    }
    assert runner_input(make_step(step_type), job_environment=MLFLOW_VARIABLES)["request"]["Environment"] == (
        MLFLOW_VARIABLES
    )


@pytest.mark.parametrize("step_type", ["Model", "Tuning"])
def test_job_variables_only_go_to_operations_with_an_environment(step_type: str) -> None:
    assert (
        "Environment" not in runner_input(make_step(step_type), job_environment=MLFLOW_VARIABLES)["request"]
    )


@pytest.mark.parametrize(
    ("step_type", "member"),
    [
        ("Tuning", "HyperParameterTuningJobName"),
        ("Transform", "TransformJobName"),
        ("Model", "ModelName"),
        ("AutoML", "AutoMLJobName"),
        ("QualityCheck", "ProcessingJobName"),
        ("ClarifyCheck", "ProcessingJobName"),
    ],
)
def test_job_name_goes_to_the_operations_name_member(step_type: str, member: str) -> None:
    assert runner_input(make_step(step_type), job_name="job-1")["request"][member] == "job-1"


def test_register_model_is_named_by_its_group_or_by_the_job_name() -> None:
    versioned = runner_input(make_step("RegisterModel", {"ModelPackageGroupName": "g"}))["request"]
    assert versioned == {"ModelPackageGroupName": "g"}
    unversioned = runner_input(make_step("RegisterModel", {"InferenceSpecification": {}}), job_name="pkg-1")
    assert unversioned["request"]["ModelPackageName"] == "pkg-1"


def test_lambda_request_invokes_the_function_with_the_arguments_as_payload() -> None:
    step = make_step("Lambda", {"x": 1})
    result = runner_input(step, step_fields={"FunctionArn": "arn:aws:lambda:us-east-1:1:function:resolved"})
    assert result["request"] == {
        "FunctionName": "arn:aws:lambda:us-east-1:1:function:resolved",
        "Payload": {"x": 1},
    }
    assert result["timeoutSeconds"] == 120
    assert runner_input(make_step("Lambda", TimeoutSeconds=600))["timeoutSeconds"] == 600


def test_callback_message_body_is_exactly_the_services_shape() -> None:
    step = make_step("Callback", {"arg1": "foo"})
    result = runner_input(step, callback_token="26vcYbeWsZ")
    assert result["request"] == {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "MessageBody": {
            "token": "26vcYbeWsZ",
            "pipelineExecutionArn": EXEC_ARN,
            "arguments": {"arg1": "foo"},
            "status": "Executing",
        },
    }
    with pytest.raises(ValueError, match="callback_token"):
        runner_input(step)


def test_emr_on_an_existing_cluster_adds_a_named_step() -> None:
    arguments: dict[str, Any] = {
        "ClusterId": "j-123",
        "StepConfig": {"HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "a.py"]}},
        "ExecutionRoleArn": "arn:aws:iam::1:role/emr",
    }
    request = runner_input(make_step("EMR", arguments), job_name="emr-job")["request"]
    assert request == {
        "ClusterId": "j-123",
        "Step": {
            "Name": "emr-job",
            "ActionOnFailure": "CONTINUE",
            "HadoopJarStep": arguments["StepConfig"]["HadoopJarStep"],
        },
        "ExecutionRoleArn": "arn:aws:iam::1:role/emr",
    }


def test_emr_with_cluster_config_creates_a_cluster_that_waits_for_the_step() -> None:
    arguments = {
        "ClusterConfig": {"ReleaseLabel": "emr-6.10.0", "Instances": {"InstanceCount": 1}},
        "StepConfig": {"HadoopJarStep": {"Jar": "x.jar"}},
    }
    request = runner_input(make_step("EMR", arguments), job_name="emr-job")["request"]
    assert request["Cluster"] == {
        "ReleaseLabel": "emr-6.10.0",
        "Instances": {"InstanceCount": 1, "KeepJobFlowAliveWhenNoSteps": True},
        "Name": "emr-job",
    }
    assert request["Step"]["Name"] == "emr-job"


def test_an_unresolved_expression_is_refused_with_its_location() -> None:
    step = make_step("Processing", {"AppSpecification": {"ImageUri": {"Get": "Parameters.Image"}}})
    with pytest.raises(UnresolvedRequest, match=r"\$\.request\.AppSpecification\.ImageUri"):
        runner_input(step)
    unresolved_arn = make_step("Lambda", FunctionArn={"Get": "Parameters.Fn"})
    with pytest.raises(UnresolvedRequest, match="FunctionName"):
        runner_input(unresolved_arn)


def test_an_input_over_the_step_functions_limit_is_refused() -> None:
    step = make_step("Lambda", {"blob": "x" * 300_000})
    with pytest.raises(RunnerInputTooLarge, match="262144"):
        runner_input(step)


def test_engine_steps_and_bad_attempts_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="engine"):
        runner_input(make_step("Fail"))
    with pytest.raises(ValueError, match="1-based"):
        runner_input(make_step("Training"), attempt=0)
    with pytest.raises(ValueError, match="delay"):
        runner_input(make_step("Training"), delay_seconds=-1)


def test_report_carries_extra_engine_ids_without_losing_its_own() -> None:
    result = runner_input(make_step("Training"), report={"stepId": "s-1", "stepName": "spoofed"})
    assert result["report"]["stepId"] == "s-1"
    assert result["report"]["stepName"] == "MyTraining"


def test_dump_input_is_deterministic() -> None:
    first = runner_input(make_step("Training", {"b": 1, "a": 2}))
    second = json.loads(json.dumps(first))
    second["request"] = dict(reversed(list(second["request"].items())))
    assert dump_input(first) == dump_input(second)
    assert json.loads(dump_input(first)) == first
