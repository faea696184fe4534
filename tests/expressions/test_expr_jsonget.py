"""Std:JsonGet in its PropertyFile and S3Uri forms."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.expressions import (
    EvaluationContext,
    ExpressionError,
    ExpressionTypeError,
    JsonGetError,
    JsonPathNotFoundError,
    MalformedExpressionError,
    UndefinedReferenceError,
    evaluate,
)

from .builders import make_context


def from_file(path: Any, step: str = "Preprocess", name: str = "EvaluationReport") -> dict[str, Any]:
    return {"Std:JsonGet": {"PropertyFile": {"Get": f"Steps.{step}.PropertyFiles.{name}"}, "Path": path}}


def from_s3(uri: Any, path: str) -> dict[str, Any]:
    return {"Std:JsonGet": {"S3Uri": uri, "Path": path}}


RESULTS_URI = {
    "Std:Join": {"On": "/", "Values": [{"Get": "Steps.Train.OutputDataConfig.S3OutputPath"}, "results.json"]}
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (from_file("regression_metrics.mse.value"), 4.5),
        (from_file("$.regression_metrics.mse.value"), 4.5),
        (from_file("regression_metrics['mse']['standard_deviation']"), 0.5),
        (from_file("scores[1]"), 0.2),
        (from_file("scores[-1]"), 0.3),
        (from_file("nested[1].name"), "b"),
        (from_file("regression_metrics.mse"), {"value": 4.5, "standard_deviation": 0.5}),
        (from_file("as_string"), "0.85"),
        (from_file("nothing"), None),
        # Indefinite paths give the list of matches, as Jayway JsonPath does.
        (from_file("scores[*]"), [0.1, 0.2, 0.3]),
        (from_file("nested[*].value"), [1, 2]),
        (from_file("scores[0:2]"), [0.1, 0.2]),
        (from_file("nested[?(@.value > 1)].name"), ["b"]),
        (from_file("missing[*]"), []),
        (from_file({"Std:Join": {"On": ".", "Values": ["regression_metrics", "mse", "value"]}}), 4.5),
        (from_s3(RESULTS_URI, "Result['score']"), 0.93),
        (from_s3("s3://out/func/results.json", "Result.score"), 0.93),
        (from_s3("s3://out/func/results.json", "Exception"), None),
    ],
)
def test_json_get_resolves(expression: dict[str, Any], expected: Any) -> None:
    assert evaluate(expression, make_context()) == expected


@pytest.mark.parametrize(
    ("expression", "error", "fragment"),
    [
        (
            from_file("regression_metrics.rmse.value"),
            JsonPathNotFoundError,
            "no value at Path 'regression_metrics.rmse.value'",
        ),
        (from_file("scores[9]"), JsonPathNotFoundError, "scores[9]"),
        (from_file("a[[["), MalformedExpressionError, "invalid JsonGet Path"),
        (from_file(7), ExpressionTypeError, "Path must be a string"),
        (from_file("x", step="NotRun"), UndefinedReferenceError, "step 'NotRun' has no properties"),
        (
            from_file("x", name="OtherReport"),
            JsonGetError,
            "cannot read property file 'OtherReport' of step 'Preprocess'",
        ),
        (
            {"Std:JsonGet": {"PropertyFile": "EvaluationReport", "Path": "x"}},
            MalformedExpressionError,
            "PropertyFile must be",
        ),
        (
            {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.Preprocess.EvaluationReport"}, "Path": "x"}},
            MalformedExpressionError,
            "is not Steps.<step>.PropertyFiles.<name>",
        ),
        (
            {"Std:JsonGet": {"PropertyFile": {"Get": "Parameters.X.PropertyFiles.Y"}, "Path": "x"}},
            MalformedExpressionError,
            "is not Steps",
        ),
        ({"Std:JsonGet": {"Path": "x"}}, MalformedExpressionError, "exactly one of PropertyFile or S3Uri"),
        (
            {
                "Std:JsonGet": {
                    "S3Uri": "s3://a",
                    "PropertyFile": {"Get": "Steps.P.PropertyFiles.R"},
                    "Path": "x",
                }
            },
            MalformedExpressionError,
            "exactly one",
        ),
        ({"Std:JsonGet": {"S3Uri": "s3://a"}}, MalformedExpressionError, "takes Path"),
        (from_s3("s3://out/func/missing.json", "x"), JsonGetError, "cannot read s3://out/func/missing.json"),
        (from_s3("s3://out/func/broken.json", "x"), JsonGetError, "is not JSON"),
        (from_s3({"Get": "Parameters.Count"}, "x"), ExpressionTypeError, "S3Uri must resolve to a string"),
        (from_s3("s3://out/func/results.json", "Result.rmse"), JsonPathNotFoundError, "Result.rmse"),
    ],
)
def test_json_get_errors(expression: dict[str, Any], error: type[ExpressionError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        evaluate(expression, make_context())
    assert fragment in str(caught.value)
    assert "Std:JsonGet" in str(caught.value)  # the message shows the expression


def test_without_an_object_store_s3_reads_fail_clearly() -> None:
    ctx = EvaluationContext()
    with pytest.raises(JsonGetError, match="no object store"):
        evaluate(from_s3("s3://b/k.json", "a"), ctx)


def test_results_are_copies_of_the_document() -> None:
    ctx = make_context()
    value = evaluate(from_file("regression_metrics.mse"), ctx)
    value["value"] = 0
    assert evaluate(from_file("regression_metrics.mse.value"), ctx) == 4.5
