"""The 39 real definitions of the conformance corpus: all parse, round-trip, and are judged correctly.

Every file is accepted (no errors), as the service accepts them at CreatePipeline. The problems
the validator finds in literal Arguments (checked against botocore's Create* request shapes) were
each read and judged real; the service reports them only when the step's Create* call is made, so
they are warnings here, each pinned with its path and reason:

* Terraform template: ``${...}`` placeholders never substituted (a job name pattern and the
  InstanceType enum reject them) and no RoleArn.
* customer-churn notebook: the account id in every role ARN was redacted to ``XXXXXXXXXX``.
* SDK unit-test fixtures: their Training steps carry placeholder Arguments (``{}`` or
  ``input_data``), without the RoleArn and OutputDataConfig CreateTrainingJob requires.
* SDK v3 evaluation templates rendered with the SDK's unit-test context: a Bedrock ARN where
  ``ServerlessJobConfig.BaseModelArn`` takes a SageMaker hub-content ARN, and a JSON array as
  a hyperparameter value (CreateTrainingJob takes strings only).
* CloudFormation user-guide example: an abbreviated Training step (no ChannelName, S3DataType
  or RoleArn).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipelines.definition import check_definition, parse_definition

from tests.conformance.corpus import CORPUS, CORPUS_FILES

REQUIRED = "required member of {} is missing"
PLACEHOLDER = "never substituted"
ROLE_PATTERN = (
    "'arn:aws:iam::XXXXXXXXXX:role/service-role/AmazonSageMaker-ExecutionRole-20201013T163487' does not match"
)
HUB_CONTENT = "'arn:aws:bedrock:us-west-2::foundation-model/test-model' does not match the pattern"


def _placeholder_training_steps(*indexes: str) -> set[tuple[str, str]]:
    return {
        (f"{prefix}.Arguments.{member}", REQUIRED.format("CreateTrainingJobRequest"))
        for prefix in indexes
        for member in ("RoleArn", "OutputDataConfig")
    }


EXPECTED_ARGUMENT_PROBLEMS: dict[str, set[tuple[str, str]]] = {
    "Diego07101985__sn-infra-pipeline__tf_template_3proc.json": {
        item
        for i in range(3)
        for item in (
            (f"Steps[{i}].Arguments.ProcessingJobName", PLACEHOLDER),
            (f"Steps[{i}].Arguments.ProcessingResources.ClusterConfig.InstanceType", PLACEHOLDER),
            (f"Steps[{i}].Arguments.RoleArn", REQUIRED.format("CreateProcessingJobRequest")),
        )
    },
    "aws-samples__customer-churn-sagemaker-pipelines-sample__churn_tuning_condition.json": {
        ("Steps[0].Arguments.RoleArn", ROLE_PATTERN),
        ("Steps[1].Arguments.TrainingJobDefinition.RoleArn", ROLE_PATTERN),
        ("Steps[2].Arguments.RoleArn", ROLE_PATTERN),
        ("Steps[3].Arguments.IfSteps[1].Arguments.ExecutionRoleArn", ROLE_PATTERN),
        ("Steps[3].Arguments.IfSteps[2].Arguments.RoleArn", ROLE_PATTERN),
        ("Steps[3].Arguments.IfSteps[4].Arguments.RoleArn", ROLE_PATTERN),
    },
    "aws__sagemaker-python-sdk__test_callback_step.json": _placeholder_training_steps("Steps[2]"),
    "aws__sagemaker-python-sdk__test_condition_step.json": _placeholder_training_steps(
        "Steps[0].Arguments.IfSteps[0]", "Steps[0].Arguments.ElseSteps[0]", "Steps[1]"
    ),
    "aws__sagemaker-python-sdk__test_emr_step_outputs.json": _placeholder_training_steps("Steps[2]"),
    "aws__sagemaker-python-sdk__test_lambda_step.json": _placeholder_training_steps("Steps[2]"),
    "aws__sagemaker-python-sdk__test_pipeline_no_experiment_config.json": _placeholder_training_steps(
        "Steps[0]"
    ),
    "aws__sagemaker-python-sdk__test_pipeline_two_step.json": _placeholder_training_steps(
        "Steps[0]", "Steps[1]"
    ),
    "aws__sagemaker-python-sdk__v3_test_pipeline_mlflow_config.json": _placeholder_training_steps("Steps[0]"),
    "aws__sagemaker-python-sdk__v3eval_deterministic_base_model_lineage_mlflow.json": {
        (f"Steps[{i}].Arguments.ServerlessJobConfig.BaseModelArn", HUB_CONTENT) for i in (1, 2)
    },
    "aws__sagemaker-python-sdk__v3eval_llmaj_base_model_lineage_mlflow.json": {
        *((f"Steps[{i}].Arguments.ServerlessJobConfig.BaseModelArn", HUB_CONTENT) for i in (1, 2, 3, 4)),
        *(
            (f"Steps[{i}].Arguments.HyperParameters.llmaj_metrics", "must be a string, got array")
            for i in (3, 4)
        ),
    },
    "awsdocs__aws-cloudformation-user-guide__cfn_userguide_example.json": {
        (
            "Steps[0].Arguments.InputDataConfig[0].DataSource.S3DataSource.S3DataType",
            REQUIRED.format("S3DataSource"),
        ),
        ("Steps[0].Arguments.InputDataConfig[0].ChannelName", REQUIRED.format("Channel")),
        ("Steps[0].Arguments.RoleArn", REQUIRED.format("CreateTrainingJobRequest")),
    },
}
EXPECTED_WARNINGS: dict[str, set[str]] = {
    name: {f"Steps[{i}].Arguments.input_data" for i in indexes}
    for name, indexes in {
        "aws__sagemaker-python-sdk__test_pipeline_no_experiment_config.json": (0,),
        "aws__sagemaker-python-sdk__test_pipeline_two_step.json": (0, 1),
        "aws__sagemaker-python-sdk__v3_test_pipeline_mlflow_config.json": (0,),
    }.items()
}


def test_the_corpus_is_there() -> None:
    assert len(CORPUS_FILES) == 39
    assert set(EXPECTED_ARGUMENT_PROBLEMS) <= {path.name for path in CORPUS_FILES}


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_parses_and_round_trips(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    definition = parse_definition(text)
    assert definition.to_json_dict() == json.loads(text)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_file_is_accepted_with_exactly_its_real_problems(path: Path) -> None:
    report = check_definition(path.read_bytes())
    assert report.definition is not None
    assert report.errors == [], [str(p) for p in report.errors]
    expected = EXPECTED_ARGUMENT_PROBLEMS.get(path.name, set())
    expected_paths = {where for where, _ in expected} | EXPECTED_WARNINGS.get(path.name, set())
    assert {p.path for p in report.warnings} == expected_paths, [str(p) for p in report.warnings]
    for where, fragment in expected:
        [problem] = [p for p in report.warnings if p.path == where]
        assert problem.kind == "argument"
        assert fragment in problem.message, str(problem)


def test_placeholders_are_called_out_as_such() -> None:
    report = check_definition(
        (CORPUS / "Diego07101985__sn-infra-pipeline__tf_template_3proc.json").read_bytes()
    )
    instance_type = next(p for p in report.warnings if p.path.endswith("InstanceType"))
    assert "'${processing_instance_type}' is not an allowed value" in instance_type.message
    assert "ml.m5.xlarge" in instance_type.allowed
