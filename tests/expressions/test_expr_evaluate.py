"""Get (every namespace) and Std:Join, resolved anywhere in a JSON tree."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pipelines.expressions import (
    ExpressionError,
    ExpressionTypeError,
    MalformedExpressionError,
    PropertyNotFoundError,
    PropertyPathError,
    UndefinedReferenceError,
    UnsupportedExpressionError,
    evaluate,
)

from .builders import make_context


def get(target: str) -> dict[str, str]:
    return {"Get": target}


def join(on: Any, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (get("Parameters.Count"), 3),
        (get("Parameters.Threshold"), 6.0),
        (get("Parameters.Flag"), True),
        (get("Execution.PipelineName"), "my-pipeline"),
        (get("Execution.PipelineExecutionId"), "exec123"),
        (get("PipelineExperimentConfig.ExperimentName"), "my-pipeline"),
        (get("PipelineExperimentConfig.TrialName"), "exec123"),
        (get("Steps.Train.ModelArtifacts.S3ModelArtifacts"), "s3://out/model.tar.gz"),
        (get("Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"), "s3://out/train"),
        (get("Steps.Preprocess.ProcessingOutputConfig.Outputs[1].S3Output.S3Uri"), "s3://out/test"),
        (get("Steps.Preprocess.ProcessingInputs['code'].S3Input.S3Uri"), "s3://in/code.py"),
        (get("Steps.Train.FinalMetricDataList['validation:rmse'].Value"), 2.25),
        (get("Steps.Train.HyperParameters['eta']"), "0.2"),
        (get("Steps.Tune.TrainingJobSummaries[0].TrainingJobName"), "t-001"),
        (get("Steps.Check.Outcome"), "True"),
        (get("Steps.Notify.OutputParameters['statusCode']"), 200),
        (get("Steps.Wait.OutputParameters['approved']"), "yes"),
        (get("Steps.Train.ModelArtifacts"), {"S3ModelArtifacts": "s3://out/model.tar.gz"}),
        (join("/", "s3:/", "bucket", get("Execution.PipelineExecutionId"), "out"), "s3://bucket/exec123/out"),
        (join("", get("Parameters.Count")), "3"),
        (join(" ", "MSE >", get("Parameters.Threshold")), "MSE > 6.0"),
        (join("=", "flag", get("Parameters.Flag"), False), "flag=true=false"),
        (join(",", 1, 2.5, 1e-5), "1,2.5,1.0E-5"),
        (
            join(
                "-",
            ),
            "",
        ),
        ({"Std:Join": {"Values": ["a", "b"]}}, "ab"),
        (join(get("Parameters.Name"), "x", "y"), "xabcy"),
        (
            join(
                "/",
                get("Steps.Tune.TrainingJobSummaries[1].TrainingJobName"),
                join("", "m", get("Parameters.Count")),
            ),
            "t-002/m3",
        ),
        ("plain", "plain"),
        (4, 4),
        (None, None),
    ],
)
def test_expressions_resolve(expression: Any, expected: Any) -> None:
    assert evaluate(expression, make_context()) == expected


def test_a_json_tree_resolves_everywhere_and_stays_untouched() -> None:
    arguments = {
        "ProcessingInputs": [
            {
                "InputName": "in",
                "S3Input": {
                    "S3Uri": get("Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri")
                },
            }
        ],
        "Environment": {"RUN": join("-", get("Execution.PipelineName"), get("Parameters.Count"))},
        "AppSpecification": {"ContainerArguments": ["--flag", get("Parameters.Flag")]},
        "Get": "a data member named Get beside others",
        "Other": 1,
    }
    original = copy.deepcopy(arguments)
    resolved = evaluate(arguments, make_context())
    assert resolved == {
        "ProcessingInputs": [{"InputName": "in", "S3Input": {"S3Uri": "s3://out/train"}}],
        "Environment": {"RUN": "my-pipeline-3"},
        "AppSpecification": {"ContainerArguments": ["--flag", True]},
        "Get": "a data member named Get beside others",
        "Other": 1,
    }
    assert arguments == original
    json.dumps(resolved)  # plain JSON


def test_resolved_containers_are_copies() -> None:
    ctx = make_context()
    first = evaluate(get("Steps.Train.ModelArtifacts"), ctx)
    first["S3ModelArtifacts"] = "changed"
    assert evaluate(get("Steps.Train.ModelArtifacts.S3ModelArtifacts"), ctx) == "s3://out/model.tar.gz"


def test_execution_variables_may_be_callables_and_datetimes() -> None:
    calls: list[int] = []

    def now() -> datetime:
        calls.append(1)
        return datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)

    ctx = make_context(
        execution={
            "CurrentDateTime": now,
            "StartDateTime": datetime(2024, 1, 1, tzinfo=UTC),
            "TrainingJobName": "pipelines-exec-train-tok-0",
        }
    )
    assert evaluate(get("Execution.CurrentDateTime"), ctx) == "2024-01-02T03:04:05.006Z"
    assert evaluate(get("Execution.StartDateTime"), ctx) == "2024-01-01T00:00:00.000Z"
    assert evaluate(get("Execution.TrainingJobName"), ctx) == "pipelines-exec-train-tok-0"
    evaluate(get("Execution.CurrentDateTime"), ctx)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("expression", "error", "fragment"),
    [
        (get("Parameters.Missing"), UndefinedReferenceError, "no parameter 'Missing'"),
        (get("Parameters.Count.More"), PropertyPathError, "has no members"),
        (get("Execution.ProcessingJobName"), UndefinedReferenceError, "not available in this step"),
        (get("Execution.Nope"), UnsupportedExpressionError, "unknown execution variable 'Nope'"),
        (get("PipelineExperimentConfig.RunName"), UnsupportedExpressionError, "has no 'RunName'"),
        (get("Elsewhere.X"), UnsupportedExpressionError, "unknown namespace 'Elsewhere'"),
        (get("Steps.NotRun.ModelArtifacts"), UndefinedReferenceError, "step 'NotRun' has no properties"),
        (get("Steps.Train"), PropertyPathError, "a property path must follow"),
        (get("Steps.Train.Missing.Deeper"), PropertyNotFoundError, "no property 'Missing'"),
        (get("Steps.Train.ModelArtifacts[0]"), PropertyPathError, "cannot index an object"),
        (get("Steps.Train.InputDataConfig.ChannelName"), PropertyPathError, "a list has no field"),
        (get("Steps.Train.InputDataConfig[5]"), PropertyNotFoundError, "out of range"),
        (
            get("Steps.Train.InputDataConfig['test']"),
            PropertyNotFoundError,
            "no element of InputDataConfig is named 'test'",
        ),
        (
            get("Steps.Preprocess.PropertyFiles.EvaluationReport"),
            MalformedExpressionError,
            "only through Std:JsonGet",
        ),
        (get("Steps..X"), PropertyPathError, "empty segment"),
        ({"Get": 5}, MalformedExpressionError, "must be a string"),
        ({"Std:Concat": {}}, UnsupportedExpressionError, "unknown function 'Std:Concat'"),
        ({"Std:Join": ["a"]}, MalformedExpressionError, "takes an object"),
        ({"Std:Join": {"On": "/"}}, MalformedExpressionError, "needs Values"),
        ({"Std:Join": {"On": "/", "Values": [], "Extra": 1}}, MalformedExpressionError, "unknown members"),
        (join(1, "a"), ExpressionTypeError, "On must be a string"),
        ({"Std:Join": {"On": "", "Values": "abc"}}, ExpressionTypeError, "Values must be a list"),
        (join("/", "a", None), ExpressionTypeError, "value 1 is null"),
        (join("/", get("Steps.Train.ModelArtifacts")), ExpressionTypeError, "value 0 is dict"),
        (join("/", [1, 2]), ExpressionTypeError, "value 0 is list"),
    ],
)
def test_errors_are_typed_and_name_the_expression(
    expression: Any, error: type[ExpressionError], fragment: str
) -> None:
    with pytest.raises(error) as caught:
        evaluate({"Outer": [expression]}, make_context())
    message = str(caught.value)
    assert fragment in message
    if isinstance(expression, dict) and isinstance(expression.get("Get"), str):
        assert message.startswith(expression["Get"])


def test_experiment_config_disabled_is_undefined() -> None:
    with pytest.raises(UndefinedReferenceError, match="experiments are disabled"):
        evaluate(get("PipelineExperimentConfig.ExperimentName"), make_context(experiment_config={}))


def test_a_null_property_counts_as_missing() -> None:
    ctx = make_context()
    ctx = type(ctx)(step_properties=lambda name: {"A": None})
    with pytest.raises(PropertyNotFoundError, match="no value for 'A'"):
        evaluate(get("Steps.S.A"), ctx)


_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="|"), max_size=8)
_PRIMITIVES = st.one_of(_TEXT, st.integers(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False))


@given(st.lists(_PRIMITIVES, max_size=8), st.sampled_from(["|", "||", "|/|"]))
def test_join_round_trips_when_the_separator_is_absent(values: list[Any], separator: str) -> None:
    joined = evaluate(join(separator, *values), make_context())
    parts = joined.split(separator) if values else []
    expected = [evaluate(join("", value), make_context()) for value in values]
    assert parts == expected
    for part, value in zip(parts, values, strict=True):
        if isinstance(value, str):
            assert part == value
        elif isinstance(value, bool):
            assert part == str(value).lower()
        else:
            assert type(value)(part) == value
