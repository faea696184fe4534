"""Model Monitor's model quality analysis: metrics in ``statistics.json``, thresholds in
``constraints.json``, and violations of a baseline's thresholds.

The problem types and metric names are the Guide's (``model-monitor-model-quality-metrics``);
the metrics themselves are scikit-learn's. The analyzer reads, from the job's environment,
``problem_type`` (``Regression``, ``BinaryClassification``, ``MulticlassClassification``),
``inference_attribute`` (the predicted value or label), ``probability_attribute`` (a binary
classifier's score), ``probability_threshold_attribute`` (the score's cut, default 0.5) and
``ground_truth_attribute``.

* Each metric is ``{"value", "standard_deviation"}``; the deviation is computed from five 80 %
  subsamples when there are at least 200 rows, else it is the string ``"NaN"`` (the Guide).
* Binary classification takes the positive label as ``1`` (or ``1.0``/``"1"``/``true``) when
  the ground truth holds it, else the larger of its two labels. AUC and the curves use
  ``probability_attribute`` when given, else the predicted labels.
* ``*_best_constant_classifier`` is the best value any constant prediction reaches.
* Suggested constraints put every scalar metric's value as its threshold: error measures (mae,
  mse, rmse, false positive/negative rates) with ``GreaterThanThreshold``, the rest with
  ``LessThanThreshold``; a value strictly beyond its threshold is a violation. All four
  operators of the Guide (``...OrEqualToThreshold`` too) are evaluated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from pipelines.runners.checks.errors import AnalysisError
from pipelines.runners.checks.thresholds import OPERATORS, beyond

PROBLEM_TYPES = ("Regression", "BinaryClassification", "MulticlassClassification")
METRICS_KEY = {
    "Regression": "regression_metrics",
    "BinaryClassification": "binary_classification_metrics",
    "MulticlassClassification": "multiclass_classification_metrics",
}
CONSTRAINTS_KEY = {
    "Regression": "regression_constraints",
    "BinaryClassification": "binary_classification_constraints",
    "MulticlassClassification": "multiclass_classification_constraints",
}
LOWER_IS_BETTER = frozenset({"mae", "mse", "rmse", "false_positive_rate", "false_negative_rate"})
SUBSAMPLES = 5
SUBSAMPLE_SHARE = 0.8
MIN_ROWS_FOR_DEVIATION = 200


class ModelQualityError(AnalysisError):
    """The dataset or the settings cannot give the metrics; the message says which."""


class Inputs:
    """The columns the metrics read, already typed."""

    def __init__(self, frame: pd.DataFrame, env: Mapping[str, str]) -> None:
        self.problem_type = env.get("problem_type", "")
        if self.problem_type not in PROBLEM_TYPES:
            raise ModelQualityError(
                f"problem_type {self.problem_type!r} must be one of {', '.join(PROBLEM_TYPES)}"
            )
        self.truth_name = self._name(env, "ground_truth_attribute", frame, required=True)
        self.inference_name = self._name(env, "inference_attribute", frame, required=False)
        self.probability_name = self._name(env, "probability_attribute", frame, required=False)
        if self.inference_name is None and self.probability_name is None:
            raise ModelQualityError(
                "set inference_attribute (or probability_attribute for a binary classifier)"
            )
        if self.probability_name is not None and self.problem_type != "BinaryClassification":
            raise ModelQualityError("probability_attribute applies to BinaryClassification only")
        threshold = env.get("probability_threshold_attribute")
        self.threshold = float(threshold) if threshold not in (None, "") else 0.5
        self.frame = frame.dropna(
            subset=[n for n in (self.truth_name, self.inference_name, self.probability_name) if n]
        )
        if self.frame.empty:
            raise ModelQualityError("the dataset has no row with both a ground truth and a prediction")

    @staticmethod
    def _name(env: Mapping[str, str], key: str, frame: pd.DataFrame, *, required: bool) -> str | None:
        name = env.get(key)
        if not name:
            if required:
                raise ModelQualityError(f"{key} is not set")
            return None
        if name not in frame.columns:
            raise ModelQualityError(
                f"{key} {name!r} is not a column of the dataset (columns: {', '.join(map(str, frame.columns))})"
            )
        return name


def _numbers(series: pd.Series, what: str) -> np.ndarray:
    try:
        return pd.to_numeric(series).to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise ModelQualityError(f"{what} must be numeric: {exc}") from exc


def _labels(series: pd.Series) -> np.ndarray:
    """Labels compared as text after normalising numbers (``1``, ``1.0`` and ``"1"`` are one label)."""

    def norm(value: Any) -> str:
        text = str(value).strip()
        try:
            number = float(text)
        except ValueError:
            return text.lower() if text.lower() in ("true", "false") else text
        return str(int(number)) if number.is_integer() else repr(number)

    return np.array([norm(v) for v in series.tolist()], dtype=object)


# -- metrics ----------------------------------------------------------------------------------------
def _regression(inputs: Inputs, rows: np.ndarray) -> dict[str, float]:
    assert inputs.inference_name is not None
    truth = _numbers(inputs.frame[inputs.truth_name], "the ground truth")[rows]
    predicted = _numbers(inputs.frame[inputs.inference_name], "the inference")[rows]
    mse = float(skm.mean_squared_error(truth, predicted))
    return {
        "mae": float(skm.mean_absolute_error(truth, predicted)),
        "mse": mse,
        "rmse": math.sqrt(mse),
        "r2": float(skm.r2_score(truth, predicted)),
    }


def _positive_label(labels: np.ndarray) -> str:
    distinct = sorted(set(labels.tolist()))
    for candidate in ("1", "true"):
        if candidate in distinct:
            return candidate
    if len(distinct) > 2:
        raise ModelQualityError(
            f"BinaryClassification needs two labels in the ground truth, found {len(distinct)}: {distinct[:10]}"
        )
    return distinct[-1]


def _binary_predictions(inputs: Inputs, positive: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted 0/1, score) for the rows; the score is the probability when given."""
    if inputs.probability_name is not None:
        scores = _numbers(inputs.frame[inputs.probability_name], "the probability")[rows]
        return (scores >= inputs.threshold).astype(int), scores
    assert inputs.inference_name is not None
    predicted = (_labels(inputs.frame[inputs.inference_name])[rows] == positive).astype(int)
    return predicted, predicted.astype(float)


def _fbeta(truth: np.ndarray, predicted: np.ndarray, beta: float, **kwargs: Any) -> float:
    return float(skm.fbeta_score(truth, predicted, beta=beta, zero_division=0, **kwargs))


def _binary_scalars(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    tn, fp, fn, tp = (float(v) for v in skm.confusion_matrix(truth, predicted, labels=[0, 1]).ravel())

    def rate(numerator: float, denominator: float) -> float:
        return numerator / denominator if denominator else 0.0

    values = {
        "recall": float(skm.recall_score(truth, predicted, zero_division=0)),
        "precision": float(skm.precision_score(truth, predicted, zero_division=0)),
        "accuracy": float(skm.accuracy_score(truth, predicted)),
        "true_positive_rate": rate(tp, tp + fn),
        "true_negative_rate": rate(tn, tn + fp),
        "false_positive_rate": rate(fp, fp + tn),
        "false_negative_rate": rate(fn, fn + tp),
        "f0_5": _fbeta(truth, predicted, 0.5),
        "f1": _fbeta(truth, predicted, 1.0),
        "f2": _fbeta(truth, predicted, 2.0),
    }
    values["auc"] = float(skm.roc_auc_score(truth, scores)) if len(set(truth.tolist())) == 2 else float("nan")
    return values


def _binary(inputs: Inputs, rows: np.ndarray) -> dict[str, Any]:
    labels = _labels(inputs.frame[inputs.truth_name])
    positive = _positive_label(labels)
    truth = (labels[rows] == positive).astype(int)
    predicted, scores = _binary_predictions(inputs, positive, rows)
    return _binary_scalars(truth, predicted, scores)


def _multiclass_scalars(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": float(skm.accuracy_score(truth, predicted)),
        "weighted_recall": float(skm.recall_score(truth, predicted, average="weighted", zero_division=0)),
        "weighted_precision": float(
            skm.precision_score(truth, predicted, average="weighted", zero_division=0)
        ),
        "weighted_f0_5": _fbeta(truth, predicted, 0.5, average="weighted"),
        "weighted_f1": _fbeta(truth, predicted, 1.0, average="weighted"),
        "weighted_f2": _fbeta(truth, predicted, 2.0, average="weighted"),
    }


def _multiclass(inputs: Inputs, rows: np.ndarray) -> dict[str, Any]:
    assert inputs.inference_name is not None
    truth = _labels(inputs.frame[inputs.truth_name])[rows]
    predicted = _labels(inputs.frame[inputs.inference_name])[rows]
    return _multiclass_scalars(truth, predicted)


_SCALARS: dict[str, Callable[[Inputs, np.ndarray], dict[str, Any]]] = {
    "Regression": _regression,
    "BinaryClassification": _binary,
    "MulticlassClassification": _multiclass,
}


def _confusion(truth: np.ndarray, predicted: np.ndarray) -> dict[str, dict[str, float]]:
    labels = sorted(set(truth.tolist()) | set(predicted.tolist()))
    matrix = skm.confusion_matrix(truth, predicted, labels=labels)
    return {str(a): {str(b): float(matrix[i][j]) for j, b in enumerate(labels)} for i, a in enumerate(labels)}


def _best_constant(
    scalars: Callable[[np.ndarray, np.ndarray], dict[str, float]], truth: np.ndarray, constants: list[Any]
) -> dict[str, float]:
    best: dict[str, float] = {}
    for constant in constants:
        values = scalars(truth, np.full(len(truth), constant, dtype=truth.dtype))
        for name, value in values.items():
            if not math.isnan(value):
                best[name] = max(best.get(name, value), value)
    return best


def _with_deviation(inputs: Inputs) -> dict[str, dict[str, Any]]:
    compute = _SCALARS[inputs.problem_type]
    count = len(inputs.frame)
    values = compute(inputs, np.arange(count))
    deviations: dict[str, Any] = dict.fromkeys(values, "NaN")
    if count >= MIN_ROWS_FOR_DEVIATION:
        rng = np.random.default_rng(0)
        samples = [
            compute(inputs, rng.choice(count, size=int(count * SUBSAMPLE_SHARE), replace=False))
            for _ in range(SUBSAMPLES)
        ]
        for name in values:
            column = [s[name] for s in samples if not math.isnan(s[name])]
            if column:
                deviations[name] = float(np.std(column))
    return {
        name: {"value": _json_number(values[name]), "standard_deviation": deviations[name]} for name in values
    }


def _json_number(value: float) -> float | str:
    return "NaN" if math.isnan(value) else value


def metrics(inputs: Inputs) -> dict[str, Any]:
    """The ``<problem>_metrics`` object of statistics.json."""
    out: dict[str, Any] = _with_deviation(inputs)
    if inputs.problem_type == "BinaryClassification":
        labels = _labels(inputs.frame[inputs.truth_name])
        positive = _positive_label(labels)
        truth = (labels == positive).astype(int)
        rows = np.arange(len(inputs.frame))
        predicted, scores = _binary_predictions(inputs, positive, rows)
        out["confusion_matrix"] = _confusion(truth, predicted)
        constants = _best_constant(lambda t, p: _binary_scalars(t, p, p.astype(float)), truth, [0, 1])
        for name in ("recall", "precision", "accuracy", "f0_5", "f1", "f2"):
            out[f"{name}_best_constant_classifier"] = {
                "value": constants.get(name, 0.0),
                "standard_deviation": "NaN",
            }
        fpr, tpr, _ = skm.roc_curve(truth, scores)
        out["receiver_operating_characteristic_curve"] = {
            "false_positive_rates": [float(v) for v in fpr],
            "true_positive_rates": [float(v) for v in tpr],
        }
        precisions, recalls, _ = skm.precision_recall_curve(truth, scores)
        out["precision_recall_curve"] = {
            "precisions": [float(v) for v in precisions],
            "recalls": [float(v) for v in recalls],
        }
    elif inputs.problem_type == "MulticlassClassification":
        assert inputs.inference_name is not None
        truth = _labels(inputs.frame[inputs.truth_name])
        predicted = _labels(inputs.frame[inputs.inference_name])
        out["confusion_matrix"] = _confusion(truth, predicted)
        constants = _best_constant(_multiclass_scalars, truth, sorted(set(truth.tolist())))
        for name in (
            "accuracy",
            "weighted_recall",
            "weighted_precision",
            "weighted_f0_5",
            "weighted_f1",
            "weighted_f2",
        ):
            out[f"{name}_best_constant_classifier"] = {
                "value": constants.get(name, 0.0),
                "standard_deviation": "NaN",
            }
    return out


def statistics(inputs: Inputs) -> dict[str, Any]:
    return {
        "version": 0.0,
        "dataset": {"item_count": len(inputs.frame)},
        METRICS_KEY[inputs.problem_type]: metrics(inputs),
    }


def suggest_constraints(problem_type: str, metric_values: Mapping[str, Any]) -> dict[str, Any]:
    constraints: dict[str, Any] = {}
    for name, metric in metric_values.items():
        if name.endswith("_best_constant_classifier") or not isinstance(metric, Mapping):
            continue
        value = metric.get("value")
        if not isinstance(value, int | float) or math.isnan(value):
            continue
        operator = "GreaterThanThreshold" if name in LOWER_IS_BETTER else "LessThanThreshold"
        constraints[name] = {"threshold": float(value), "comparison_operator": operator}
    return {"version": 0.0, CONSTRAINTS_KEY[problem_type]: constraints}


def violations(
    problem_type: str, metric_values: Mapping[str, Any], baseline_constraints: Mapping[str, Any]
) -> list[dict[str, str]]:
    """``{"constraint_check_type", "description", "metric_name"}`` for each metric beyond its threshold."""
    key = CONSTRAINTS_KEY[problem_type]
    constraints = baseline_constraints.get(key)
    if not isinstance(constraints, Mapping):
        present = ", ".join(k for k in baseline_constraints if k.endswith("_constraints")) or "none"
        raise ModelQualityError(
            f"the baseline constraints have no {key!r} for problem type {problem_type} (they have: {present})"
        )
    found: list[dict[str, str]] = []
    for name, constraint in constraints.items():
        if not isinstance(constraint, Mapping):
            continue
        operator = str(constraint.get("comparison_operator"))
        if operator not in OPERATORS:
            raise ModelQualityError(
                f"constraint {name}: comparison_operator {operator!r} is not one of {', '.join(OPERATORS)}"
            )
        metric = metric_values.get(name)
        value = metric.get("value") if isinstance(metric, Mapping) else None
        if not isinstance(value, int | float):
            raise ModelQualityError(f"constraint {name}: the metric is not computed for {problem_type}")
        threshold = float(constraint["threshold"])
        if beyond(operator, float(value), threshold):
            found.append(
                {
                    "constraint_check_type": operator,
                    "description": f"Metric {name} with {value} was {operator} {threshold}",
                    "metric_name": name,
                }
            )
    return found
