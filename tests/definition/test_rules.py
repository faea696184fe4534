"""One row per service rule: a mutation of a valid definition and the single problem it must cause.

Each rule also has a valid variant nearby (``VALID``) so a rule that fires too eagerly fails too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .builders import Mutation, base_definition, check, mutated, only, step_by_name


def _parent(definition: dict[str, Any], path: list[Any]) -> Any:
    """The node holding ``path[-1]``; a string first key that is not a top-level field names a step."""
    node: Any = definition
    keys = path[:-1]
    if isinstance(path[0], str) and path[0] not in definition:
        node, keys = step_by_name(definition, path[0]), path[1:-1]
    for key in keys:
        node = node[key]
    return node


def _set(path: list[Any], value: Any) -> Mutation:
    """Set ``definition[path...] = value``; a string first key names a step."""

    def apply(definition: dict[str, Any]) -> None:
        _parent(definition, path)[path[-1]] = value

    return apply


def _pop(path: list[Any]) -> Mutation:
    def apply(definition: dict[str, Any]) -> None:
        _parent(definition, path).pop(path[-1])

    return apply


def _all(*mutations: Mutation) -> Mutation:
    def apply(definition: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(definition)

    return apply


def _add_parameter(parameter: dict[str, Any]) -> Mutation:
    return lambda definition: definition["Parameters"].append(parameter)


def _add_step(step: dict[str, Any]) -> Mutation:
    return lambda definition: definition["Steps"].append(step)


def _lambda_reading(target: str) -> dict[str, Any]:
    return _reader({"Get": target})


def _json_get_reading(property_file: str) -> dict[str, Any]:
    return _reader({"Std:JsonGet": {"PropertyFile": {"Get": property_file}, "Path": "a.b"}})


def _reader(value: Any) -> dict[str, Any]:
    return {
        "Name": "Reader",
        "Type": "Lambda",
        "Arguments": {"value": value},
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
    }


def _check_step(name: str, step_type: str, check_type: str, **envelope: Any) -> dict[str, Any]:
    """A Clarify/Quality check step around a minimal processing job."""
    return {
        "Name": name,
        "Type": step_type,
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
            },
            "AppSpecification": {"ImageUri": "img"},
            "RoleArn": "arn:aws:iam::123456789012:role/R",
        },
        "CheckType": check_type,
        **envelope,
    }


READER = "Steps[4].Arguments.value.Get"

# (id, mutation, kind, path, message fragment, severity)
INVALID: list[tuple[str, Mutation, str, str, str, str]] = [
    # names
    (
        "step name too long",
        _set(["Approve", "Name"], "A" * 65),
        "name",
        "Steps[3].Name",
        "1 to 64 characters",
        "error",
    ),
    (
        "step name bad characters",
        _set(["Approve", "Name"], "Approve Me"),
        "name",
        "Steps[3].Name",
        "letters, digits",
        "error",
    ),
    ("step name empty", _set(["Approve", "Name"], ""), "name", "Steps[3].Name", "1 to 64", "error"),
    (
        "duplicate step name across nesting",
        _set(["TooHigh", "Name"], "Train"),
        "duplicate-name",
        "Steps[2].Arguments.ElseSteps[0].Name",
        "already used at Steps[1]",
        "error",
    ),
    (
        "same step in both branches",
        _set(["TooHigh", "Name"], "Notify"),
        "branch",
        "Steps[2].Arguments.ElseSteps[0].Name",
        "at most one branch",
        "error",
    ),
    (
        "parameter name",
        _add_parameter({"Name": "in put"}),
        "name",
        "Parameters[5].Name",
        "parameter name",
        "error",
    ),
    (
        "duplicate parameter",
        _add_parameter({"Name": "InputData"}),
        "duplicate-name",
        "Parameters[5].Name",
        "more than once",
        "error",
    ),
    # parameters
    (
        "integer default",
        _set(["Parameters", 1, "DefaultValue"], "1"),
        "parameter",
        "Parameters[1].DefaultValue",
        "not a Integer",
        "error",
    ),
    (
        "integer default bool",
        _set(["Parameters", 1, "DefaultValue"], True),
        "parameter",
        "Parameters[1].DefaultValue",
        "not a Integer",
        "error",
    ),
    (
        "float default",
        _set(["Parameters", 2, "DefaultValue"], "6.0"),
        "parameter",
        "Parameters[2].DefaultValue",
        "not a Float",
        "error",
    ),
    (
        "boolean default",
        _set(["Parameters", 3, "DefaultValue"], "true"),
        "parameter",
        "Parameters[3].DefaultValue",
        "not a Boolean",
        "error",
    ),
    (
        "string default",
        _set(["Parameters", 0, "DefaultValue"], 5),
        "parameter",
        "Parameters[0].DefaultValue",
        "not a String",
        "error",
    ),
    (
        "default outside enum",
        _set(["Parameters", 4, "DefaultValue"], "Rejected"),
        "parameter",
        "Parameters[4].DefaultValue",
        "not one of EnumValues",
        "error",
    ),
    (
        "enum value type",
        _set(["Parameters", 4, "EnumValues"], ["PendingManualApproval", 3]),
        "parameter",
        "Parameters[4].EnumValues[1]",
        "not a String",
        "error",
    ),
    (
        "empty enum",
        _add_parameter({"Name": "Choice", "EnumValues": []}),
        "parameter",
        "Parameters[5].EnumValues",
        "must not be empty",
        "error",
    ),
    # version and top level
    ("version", _set(["Version"], "2021-01-01"), "version", "Version", "unsupported Version", "error"),
    (
        "experiment config key",
        _set(["PipelineExperimentConfig", "RunName"], "x"),
        "schema",
        "PipelineExperimentConfig.RunName",
        "unknown property",
        "error",
    ),
    (
        "unknown top-level field",
        lambda d: d.update(Extra={}),
        "unknown-field",
        "Extra",
        "unknown top-level field",
        "warning",
    ),
    # references: parameters, execution variables, experiment config
    (
        "undeclared parameter",
        _add_step(_lambda_reading("Parameters.Missing")),
        "reference",
        READER,
        "parameter 'Missing', which does not exist",
        "error",
    ),
    (
        "parameter has no path",
        _add_step(_lambda_reading("Parameters.InputData.Foo")),
        "reference",
        READER,
        "has no properties",
        "error",
    ),
    (
        "unknown execution variable",
        _add_step(_lambda_reading("Execution.PipelineVersion")),
        "reference",
        READER,
        "execution variable 'PipelineVersion'",
        "error",
    ),
    (
        "experiment config name",
        _add_step(_lambda_reading("PipelineExperimentConfig.RunName")),
        "reference",
        READER,
        "experiment config value 'RunName'",
        "error",
    ),
    (
        "experiment config is null",
        _all(
            _set(["PipelineExperimentConfig"], None),
            _add_step(_lambda_reading("PipelineExperimentConfig.TrialName")),
        ),
        "reference",
        READER,
        "PipelineExperimentConfig is null",
        "warning",
    ),
    (
        "unknown namespace",
        _add_step(_lambda_reading("Pipeline.Name")),
        "reference",
        READER,
        "unknown namespace 'Pipeline'",
        "error",
    ),
    (
        "malformed get",
        _add_step(_lambda_reading("Steps..Train")),
        "reference",
        READER,
        "invalid property path",
        "error",
    ),
    (
        "foreach outside a body",
        _add_step(_lambda_reading("ForEach.CurrentItem")),
        "reference",
        READER,
        "only defined inside a ForEach",
        "error",
    ),
    # references: steps
    (
        "missing step",
        _add_step(_lambda_reading("Steps.Trian.ModelArtifacts.S3ModelArtifacts")),
        "reference",
        READER,
        "did you mean 'Train'",
        "error",
    ),
    (
        "self reference",
        _set(["Train", "Arguments", "HyperParameters", "x"], {"Get": "Steps.Train.TrainingJobName"}),
        "reference",
        "Steps[1].Arguments.HyperParameters.x.Get",
        "its own properties",
        "error",
    ),
    (
        "fail step referenced",
        _add_step(_lambda_reading("Steps.TooHigh.ErrorMessage")),
        "reference",
        READER,
        "Fail step 'TooHigh'",
        "error",
    ),
    (
        "step without property",
        _add_step(_lambda_reading("Steps.Train")),
        "reference",
        READER,
        "no property of it",
        "error",
    ),
    (
        "bad property path names step and field",
        _add_step(_lambda_reading("Steps.Train.ModelArtifacts.Nope")),
        "property-path",
        READER,
        "step 'Train' (Training) has no property ModelArtifacts.Nope: 'Nope' is not a member of ModelArtifacts",
        "error",
    ),
    (
        "map selected with a dot",
        _add_step(_lambda_reading("Steps.Train.HyperParameters.max_depth")),
        "property-path",
        READER,
        "select an entry with ['key']",
        "error",
    ),
    (
        "path past a scalar",
        _add_step(_lambda_reading("Steps.Train.TrainingJobName.Length")),
        "property-path",
        READER,
        "nothing can follow it",
        "error",
    ),
    (
        "list by name without naming field",
        _add_step(_lambda_reading("Steps.Train.SecondaryStatusTransitions[0].StatusMessage.x")),
        "property-path",
        READER,
        "nothing can follow it",
        "error",
    ),
    (
        "processing output not declared",
        _add_step(_lambda_reading("Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri")),
        "property-path",
        READER,
        "no ProcessingOutputConfig.Outputs element with OutputName 'test'",
        "error",
    ),
    (
        "clarify has no statistics",
        _all(
            _add_step(_check_step("Bias", "ClarifyCheck", "DATA_BIAS")),
            _add_step({**_lambda_reading("Steps.Bias.CalculatedBaselineStatistics"), "Name": "Reader2"}),
        ),
        "property-path",
        "Steps[5].Arguments.value.Get",
        "CalculatedBaselineConstraints, BaselineUsedForDriftCheckConstraints",
        "error",
    ),
    (
        "condition exposes only Outcome",
        _add_step(_lambda_reading("Steps.CheckMSE.Result")),
        "property-path",
        READER,
        "it has: Outcome",
        "error",
    ),
    (
        "undeclared lambda output",
        _add_step(_lambda_reading("Steps.Notify.OutputParameters['body']")),
        "property-path",
        READER,
        "declares no output 'body'",
        "error",
    ),
    (
        "callback output form",
        _add_step(_lambda_reading("Steps.Approve.OutputParameters[0]")),
        "property-path",
        READER,
        "only exposes OutputParameters['<name>']",
        "error",
    ),
    (
        "property file via plain get",
        _add_step(_lambda_reading("Steps.Preprocess.PropertyFiles.EvaluationReport")),
        "reference",
        READER,
        "Std:JsonGet's PropertyFile",
        "error",
    ),
    (
        "undeclared property file",
        _add_step(_json_get_reading("Steps.Preprocess.PropertyFiles.Report")),
        "property-file",
        "Steps[4].Arguments.value.Std:JsonGet.PropertyFile.Get",
        "declares no property file 'Report'",
        "error",
    ),
    (
        "property file of a training step",
        _add_step(_json_get_reading("Steps.Train.PropertyFiles.EvaluationReport")),
        "property-file",
        "Steps[4].Arguments.value.Std:JsonGet.PropertyFile.Get",
        "only read from Processing steps",
        "error",
    ),
    (
        "property file get form",
        _add_step(_json_get_reading("Parameters.InputData")),
        "reference",
        "Steps[4].Arguments.value.Std:JsonGet.PropertyFile.Get",
        "must reference Steps.<step>.PropertyFiles",
        "error",
    ),
    # expression forms
    (
        "join without On",
        _set(["TooHigh", "Arguments", "ErrorMessage"], {"Std:Join": {"Values": ["a"]}}),
        "schema",
        "Steps[2].Arguments.ElseSteps[0].Arguments.ErrorMessage.Std:Join.On",
        "required field is missing",
        "error",
    ),
    (
        "unknown function",
        _set(["TooHigh", "Arguments", "ErrorMessage"], {"Std:Concat": ["a"]}),
        "schema",
        "Steps[2].Arguments.ElseSteps[0].Arguments.ErrorMessage.Std:Concat",
        "unknown function",
        "error",
    ),
    (
        "json get with two sources",
        _set(
            ["TooHigh", "Arguments", "ErrorMessage"],
            {
                "Std:JsonGet": {
                    "S3Uri": "s3://b/k",
                    "PropertyFile": {"Get": "Steps.Preprocess.PropertyFiles.EvaluationReport"},
                    "Path": "a",
                }
            },
        ),
        "schema",
        "Steps[2].Arguments.ElseSteps[0].Arguments.ErrorMessage.Std:JsonGet",
        "exactly one of PropertyFile and S3Uri",
        "error",
    ),
    (
        "get not a string",
        _set(["TooHigh", "Arguments", "ErrorMessage"], {"Get": 5}),
        "schema",
        "Steps[2].Arguments.ElseSteps[0].Arguments.ErrorMessage.Get",
        "must be a string",
        "error",
    ),
    # DependsOn
    (
        "depends on missing step",
        _set(["Approve", "DependsOn"], ["Notfy"]),
        "depends-on",
        "Steps[3].DependsOn[0]",
        "did you mean 'Notify'",
        "error",
    ),
    (
        "depends on itself",
        _set(["Approve", "DependsOn"], ["Approve"]),
        "depends-on",
        "Steps[3].DependsOn[0]",
        "cannot depend on itself",
        "error",
    ),
    (
        "depends on fail step",
        _set(["Approve", "DependsOn"], ["TooHigh"]),
        "depends-on",
        "Steps[3].DependsOn[0]",
        "Fail step",
        "error",
    ),
    (
        "unknown run-condition trigger",
        _set(["Approve", "DependsOn"], ["Preprocess", {"Step": "Train", "Trigger": "Failure"}]),
        "depends-on",
        "Steps[3].DependsOn[1].Trigger",
        "unknown DependsOn trigger 'Failure' for step 'Train'; allowed: Completed, Failed, Stopped, Any",
        "error",
    ),
    (
        "lower-case run-condition trigger",
        _set(["Approve", "DependsOn"], [{"Step": "Train", "Trigger": "failed"}]),
        "depends-on",
        "Steps[3].DependsOn[0].Trigger",
        "unknown DependsOn trigger 'failed'",
        "error",
    ),
    (
        "run condition on a missing step",
        _set(["Approve", "DependsOn"], [{"Step": "Trian", "Trigger": "Failed"}]),
        "depends-on",
        "Steps[3].DependsOn[0]",
        "did you mean 'Train'",
        "error",
    ),
    (
        "depends twice",
        _set(["Approve", "DependsOn"], ["Train", "Train"]),
        "depends-on",
        "Steps[3].DependsOn",
        "more than once",
        "warning",
    ),
    # cycles
    (
        "cycle",
        _set(["Preprocess", "DependsOn"], ["Approve"]),
        "cycle",
        "Steps[0]",
        "Preprocess -> Train -> Notify -> Approve -> Preprocess",
        "error",
    ),
    # retry policies
    (
        "retry both limits",
        _set(["Train", "RetryPolicies", 0, "ExpireAfterMin"], 10),
        "retry-policy",
        "Steps[1].RetryPolicies[0]",
        "only one of MaxAttempts and ExpireAfterMin",
        "error",
    ),
    (
        "retry max attempts",
        _set(["Train", "RetryPolicies", 0, "MaxAttempts"], 21),
        "retry-policy",
        "Steps[1].RetryPolicies[0].MaxAttempts",
        "between 0 and 20",
        "error",
    ),
    (
        "retry expire after",
        _all(
            _pop(["Train", "RetryPolicies", 0, "MaxAttempts"]),
            _set(["Train", "RetryPolicies", 0, "ExpireAfterMin"], 14401),
        ),
        "retry-policy",
        "Steps[1].RetryPolicies[0].ExpireAfterMin",
        "between 0 and 14400",
        "error",
    ),
    (
        "retry interval",
        _set(["Train", "RetryPolicies", 0, "IntervalSeconds"], 43201),
        "retry-policy",
        "Steps[1].RetryPolicies[0].IntervalSeconds",
        "between 0 and 43200",
        "error",
    ),
    (
        "retry negative backoff",
        _set(["Train", "RetryPolicies", 0, "BackoffRate"], -1.0),
        "retry-policy",
        "Steps[1].RetryPolicies[0].BackoffRate",
        "must not be negative",
        "error",
    ),
    (
        "retry shrinking backoff",
        _set(["Train", "RetryPolicies", 0, "BackoffRate"], 0.5),
        "retry-policy",
        "Steps[1].RetryPolicies[0].BackoffRate",
        "below 1",
        "warning",
    ),
    (
        "retry exception type",
        _set(["Train", "RetryPolicies", 0, "ExceptionType"], ["SageMaker.OOM"]),
        "retry-policy",
        "Steps[1].RetryPolicies[0].ExceptionType[0]",
        "unknown exception type",
        "error",
    ),
    (
        "retry emr type off emr",
        _set(["Train", "RetryPolicies", 0, "ExceptionType"], ["Emr.RESOURCE_LIMIT"]),
        "retry-policy",
        "Steps[1].RetryPolicies[0].ExceptionType[0]",
        "only on EMR steps",
        "error",
    ),
    (
        "retry no exception type",
        _set(["Train", "RetryPolicies", 0, "ExceptionType"], []),
        "retry-policy",
        "Steps[1].RetryPolicies[0].ExceptionType",
        "at least one",
        "error",
    ),
    (
        "retry duplicate type",
        _set(["Train", "RetryPolicies", 0, "ExceptionType"], ["Step.THROTTLING", "Step.THROTTLING"]),
        "retry-policy",
        "Steps[1].RetryPolicies[0].ExceptionType",
        "listed 2 times",
        "warning",
    ),
    (
        "retry on lambda",
        _set(["Notify", "RetryPolicies"], [{"ExceptionType": ["Step.THROTTLING"], "MaxAttempts": 1}]),
        "retry-policy",
        "Steps[2].Arguments.IfSteps[1].RetryPolicies",
        "not supported on Lambda steps",
        "error",
    ),
    # cache
    (
        "cache on lambda",
        _set(["Notify", "CacheConfig"], {"Enabled": True, "ExpireAfter": "P1D"}),
        "cache-config",
        "Steps[2].Arguments.IfSteps[1].CacheConfig",
        "never cached",
        "warning",
    ),
    (
        "cache expire after",
        _set(["Preprocess", "CacheConfig", "ExpireAfter"], "30 days"),
        "cache-config",
        "Steps[0].CacheConfig.ExpireAfter",
        "not an ISO-8601 duration",
        "error",
    ),
    (
        "cache without timeout",
        _pop(["Preprocess", "CacheConfig", "ExpireAfter"]),
        "cache-config",
        "Steps[0].CacheConfig",
        "without ExpireAfter",
        "warning",
    ),
    # property files and outputs
    (
        "property file on training",
        _set(["Train", "PropertyFiles"], [{"PropertyFileName": "R", "OutputName": "o", "FilePath": "f"}]),
        "property-file",
        "Steps[1].PropertyFiles",
        "only supported on Processing",
        "error",
    ),
    (
        "property file output",
        _set(["Preprocess", "PropertyFiles", 0, "OutputName"], "metrics"),
        "property-file",
        "Steps[0].PropertyFiles[0].OutputName",
        "not an output of this step",
        "error",
    ),
    (
        "duplicate output parameter",
        _set(["Approve", "OutputParameters"], [{"OutputName": "a"}, {"OutputName": "a"}]),
        "output-parameter",
        "Steps[3].OutputParameters",
        "declared 2 times",
        "error",
    ),
    # check steps, unknown fields
    (
        "check type",
        _add_step(_check_step("Quality", "QualityCheck", "DATA_BIAS")),
        "schema",
        "Steps[4].CheckType",
        "DATA_QUALITY, MODEL_QUALITY",
        "error",
    ),
    (
        "check flag",
        _add_step(_check_step("Quality", "QualityCheck", "DATA_QUALITY", SkipCheck="no")),
        "schema",
        "Steps[4].SkipCheck",
        "boolean or an expression",
        "error",
    ),
    (
        "unknown envelope field",
        _set(["Train", "Timeout"], 5),
        "unknown-field",
        "Steps[1].Timeout",
        "unknown property of a Training step",
        "warning",
    ),
    (
        "unknown condition argument",
        _set(["CheckMSE", "Arguments", "Mode"], "all"),
        "schema",
        "Steps[2].Arguments.Mode",
        "unknown property",
        "error",
    ),
    # Arguments against the Create* request
    (
        "instance type",
        _set(["Train", "Arguments", "ResourceConfig", "InstanceType"], "${instance_type}"),
        "argument",
        "Steps[1].Arguments.ResourceConfig.InstanceType",
        "never substituted",
        "warning",
    ),
    (
        "role pattern",
        _set(["Train", "Arguments", "RoleArn"], "arn:aws:iam::XXXX:role/R"),
        "argument",
        "Steps[1].Arguments.RoleArn",
        "does not match the pattern",
        "warning",
    ),
    (
        "required request member",
        _pop(["Train", "Arguments", "RoleArn"]),
        "argument",
        "Steps[1].Arguments.RoleArn",
        "required member of CreateTrainingJobRequest",
        "warning",
    ),
    (
        "hyperparameter type",
        _set(["Train", "Arguments", "HyperParameters", "max_depth"], 5),
        "argument",
        "Steps[1].Arguments.HyperParameters.max_depth",
        "must be a string, got number 5",
        "warning",
    ),
    (
        "integer range",
        _set(["Preprocess", "Arguments", "ProcessingResources", "ClusterConfig", "VolumeSizeInGB"], 0),
        "argument",
        "Steps[0].Arguments.ProcessingResources.ClusterConfig.VolumeSizeInGB",
        "outside 1..",
        "warning",
    ),
    (
        "too many processing inputs",
        _set(
            ["Preprocess", "Arguments", "ProcessingInputs"],
            [
                {
                    "InputName": f"i{i}",
                    "S3Input": {
                        "S3Uri": "s3://b/k",
                        "LocalPath": "/opt/ml/processing/i",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
                for i in range(11)
            ],
        ),
        "argument",
        "Steps[0].Arguments.ProcessingInputs",
        "has 11 items",
        "warning",
    ),
    (
        "unknown request member",
        _set(["Train", "Arguments", "Color"], "blue"),
        "argument",
        "Steps[1].Arguments.Color",
        "unknown member of CreateTrainingJobRequest",
        "warning",
    ),
    (
        "approval enum",
        _set(["Register", "Arguments", "ModelApprovalStatus"], "Maybe"),
        "argument",
        "Steps[2].Arguments.IfSteps[0].Arguments.ModelApprovalStatus",
        "allowed: Approved, Rejected, PendingManualApproval",
        "warning",
    ),
    (
        "emr cluster choice",
        _add_step(
            {
                "Name": "Emr",
                "Type": "EMR",
                "Arguments": {"StepConfig": {"HadoopJarStep": {"Jar": "command-runner.jar"}}},
            }
        ),
        "argument",
        "Steps[4].Arguments",
        "exactly one of ClusterId",
        "warning",
    ),
    (
        "emr role without cluster id",
        _add_step(
            {
                "Name": "Emr",
                "Type": "EMR",
                "Arguments": {
                    "StepConfig": {"HadoopJarStep": {"Jar": "j"}},
                    "ClusterConfig": {"Instances": {}},
                    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/R",
                },
            }
        ),
        "argument",
        "Steps[4].Arguments.ExecutionRoleArn",
        "only allowed together with ClusterId",
        "warning",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "kind", "path", "fragment", "severity"),
    [row[1:] for row in INVALID],
    ids=[row[0] for row in INVALID],
)
def test_rule_reports_exactly_one_problem(
    mutation: Mutation, kind: str, path: str, fragment: str, severity: str
) -> None:
    report = check(mutated(mutation))
    assert report.definition is not None, [str(p) for p in report.errors]
    problem = only(report.errors if severity == "error" else report.warnings)
    if severity == "warning":
        assert report.errors == [], [str(p) for p in report.errors]
    else:
        assert report.warnings == [], [str(p) for p in report.warnings]
    assert (problem.kind, problem.path, problem.severity) == (kind, path, severity)
    assert fragment in problem.message


VALID: list[tuple[str, Mutation]] = [
    ("base definition", lambda d: None),
    ("name of exactly 64 characters", _set(["Approve", "Name"], "A-_" * 21 + "z")),
    ("parameter without default", _pop(["Parameters", 0, "DefaultValue"])),
    ("untyped parameter is a string", _set(["Parameters", 0], {"Name": "InputData", "DefaultValue": ""})),
    ("integer default for a float", _set(["Parameters", 2, "DefaultValue"], 6)),
    ("null experiment config", _set(["PipelineExperimentConfig"], None)),
    (
        "null FailOnViolation (the SDK's fail_on_violation=None)",
        _add_step(_check_step("Quality", "QualityCheck", "DATA_QUALITY", FailOnViolation=None)),
    ),
    ("no experiment config", lambda d: d.pop("PipelineExperimentConfig")),
    (
        "mlflow config",
        lambda d: d.update(MlflowConfig={"MlflowResourceArn": "arn:aws:sagemaker:us-east-1:1:mlflow/x"}),
    ),
    (
        "every execution variable",
        _add_step(
            {
                **_lambda_reading("Execution.StartDateTime"),
                "Arguments": {
                    n: {"Get": f"Execution.{n}"}
                    for n in [
                        "StartDateTime",
                        "CurrentDateTime",
                        "PipelineName",
                        "PipelineArn",
                        "PipelineExecutionId",
                        "PipelineExecutionArn",
                        "TrainingJobName",
                        "ProcessingJobName",
                    ]
                },
            }
        ),
    ),
    ("experiment config reads", _add_step(_lambda_reading("PipelineExperimentConfig.ExperimentName"))),
    (
        "metric by name",
        _add_step(_lambda_reading("Steps.Train.FinalMetricDataList['validation:rmse'].Value")),
    ),
    (
        "input by index",
        _add_step(_lambda_reading("Steps.Train.InputDataConfig[0].DataSource.S3DataSource.S3Uri")),
    ),
    ("channel by name", _add_step(_lambda_reading("Steps.Train.InputDataConfig['train'].ChannelName"))),
    ("hyperparameter by key", _add_step(_lambda_reading("Steps.Train.HyperParameters['max_depth']"))),
    (
        "processing input by name",
        _add_step(_lambda_reading("Steps.Preprocess.ProcessingInputs['raw'].S3Input.S3Uri")),
    ),
    ("register model property", _add_step(_lambda_reading("Steps.Register.ModelPackageArn"))),
    ("retry max attempts zero", _set(["Train", "RetryPolicies", 0, "MaxAttempts"], 0)),
    (
        "retry by expiry",
        _all(
            _pop(["Train", "RetryPolicies", 0, "MaxAttempts"]),
            _set(["Train", "RetryPolicies", 0, "ExpireAfterMin"], 14400),
        ),
    ),
    (
        "retry every documented type",
        _set(
            ["Train", "RetryPolicies", 0, "ExceptionType"],
            [
                "Step.SERVICE_FAULT",
                "Step.THROTTLING",
                "SageMaker.JOB_INTERNAL_ERROR",
                "SageMaker.CAPACITY_ERROR",
                "SageMaker.RESOURCE_LIMIT",
            ],
        ),
    ),
    ("lenient expire after", _set(["Preprocess", "CacheConfig", "ExpireAfter"], "30dT5h")),
    ("cache disabled without timeout", _set(["Preprocess", "CacheConfig"], {"Enabled": False})),
    ("cache disabled on a lambda", _set(["Notify", "CacheConfig"], {"Enabled": False})),
    ("depends on a step in a branch", _set(["Approve", "DependsOn"], ["Notify"])),
    (
        "every run-condition trigger",
        _set(
            ["Approve", "DependsOn"],
            [
                {"Step": "Preprocess", "Trigger": "Completed"},
                {"Step": "Train", "Trigger": "Failed"},
                {"Step": "Notify", "Trigger": "Stopped"},
                {"Step": "CheckMSE", "Trigger": "Any"},
            ],
        ),
    ),
    (
        "expressions in arguments are not type-checked",
        _set(["Train", "Arguments", "ResourceConfig", "InstanceCount"], {"Get": "Parameters.InstanceCount"}),
    ),
    (
        "emr on a running cluster",
        _add_step(
            {
                "Name": "Emr",
                "Type": "EMR",
                "Arguments": {
                    "StepConfig": {
                        "HadoopJarStep": {
                            "Jar": "command-runner.jar",
                            "Args": ["spark-submit", {"Get": "Parameters.InputData"}],
                        }
                    },
                    "ClusterId": "j-123456",
                },
                "RetryPolicies": [{"ExceptionType": ["Emr.RESOURCE_LIMIT"], "MaxAttempts": 2}],
            }
        ),
    ),
    (
        "nested conditions",
        _set(
            ["CheckMSE", "Arguments", "ElseSteps"],
            [
                {
                    "Name": "Inner",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}],
                        "IfSteps": [{"Name": "TooHigh", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
                    },
                }
            ],
        ),
    ),
]


@pytest.mark.parametrize("mutation", [row[1] for row in VALID], ids=[row[0] for row in VALID])
def test_valid_variant_has_no_problems(mutation: Mutation) -> None:
    report = check(mutated(mutation))
    assert report.ok, [str(p) for p in report.errors]
    assert report.warnings == [], [str(p) for p in report.warnings]


def test_every_error_is_reported_at_once() -> None:
    def break_everything(definition: dict[str, Any]) -> None:
        for mutation in (
            row[1]
            for row in INVALID
            if row[0] in {"undeclared parameter", "depends on itself", "retry max attempts", "instance type"}
        ):
            mutation(definition)

    report = check(mutated(break_everything))
    assert {p.kind for p in report.errors} == {"reference", "depends-on", "retry-policy"}
    assert "argument" in {p.kind for p in report.warnings}


def test_base_definition_is_valid_and_round_trips() -> None:
    report = check(base_definition())
    assert report.ok and report.definition is not None
    assert report.definition.to_json_dict() == base_definition()


def test_paths_into_unknown_step_types_are_not_checked() -> None:
    def add(definition: dict[str, Any]) -> None:
        definition["Steps"].append({"Name": "Odd", "Type": "Teleport"})
        definition["Steps"].append(_lambda_reading("Steps.Odd.Any.Thing[3]"))

    report = check(mutated(add))
    assert report.ok, [str(p) for p in report.errors]
    assert [p.kind for p in report.warnings] == ["unknown-step-type"]


SDK_V3_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"


def test_for_each_body_may_read_the_current_item_and_the_selector_its_outputs() -> None:
    report = check((SDK_V3_FIXTURES / "for_each.json").read_bytes())
    assert report.ok, [str(p) for p in report.errors]
    assert report.definition is not None
    assert {"ProcessRegion", "ScoreRegion"} <= set(report.definition.step_map())


def test_an_unknown_key_in_a_for_each_arguments_is_reported_not_a_crash() -> None:
    """Found by test_fuzz: pydantic lists extra keys in ``model_fields_set`` too."""
    definition = json.loads((SDK_V3_FIXTURES / "for_each.json").read_text())
    for_each = next(s for s in definition["Steps"] if s["Type"] == "ForEach")
    for_each["Arguments"]["0ForEachBody"] = {"Get": "Steps.Nope.Outcome"}
    report = check(json.dumps(definition).encode())
    assert report.definition is not None
    assert any(
        p.path[-1:] == ("0ForEachBody",) or "0ForEachBody" in p.path for p in report.errors + report.warnings
    )


def test_the_validator_accepts_exactly_the_triggers_the_engine_carries_out() -> None:
    from pipelines.definition.step_rules import RUN_CONDITION_TRIGGERS
    from pipelines.engine.readiness import TRIGGER_STATUSES

    assert set(RUN_CONDITION_TRIGGERS) == set(TRIGGER_STATUSES)
