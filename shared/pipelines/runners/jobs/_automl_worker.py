"""Runs inside a local AutoML job, under the scikit-learn image's interpreter: searches
scikit-learn candidates for a tabular dataset and writes each one as model data a scikit-learn
serving container loads.

Input: ``/opt/ml/automl/spec.json`` (problem type or None, target column, objective metric,
CompletionCriteria, validation fraction, the CSV files of the training and validation channels).
Each candidate is a scikit-learn ``Pipeline`` (imputation, scaling, one-hot encoding of
text columns, then one estimator), fitted on the training part and scored on the validation part
with the objective metric. Candidates are tried in a fixed order, simplest first, until
``MaxCandidates`` ran or ``MaxAutoMLJobRuntimeInSeconds`` is near; one that ran longer than
``MaxRuntimePerTrainingJobInSeconds`` is reported Failed and not used.

Output: ``/opt/ml/model/<candidate>/model.pkl`` and ``code/inference.py`` per candidate (the
inference script answers CSV rows without header, as Autopilot's containers do, with the
``SAGEMAKER_INFERENCE_OUTPUT`` keys), ``/opt/ml/output/candidates.json`` (metrics, status, times)
and the model insights and explainability (permutation importance) reports of each candidate.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SPEC = Path("/opt/ml/automl/spec.json")
MODEL_ROOT = Path("/opt/ml/model")
OUTPUT = Path("/opt/ml/output")
FAILURE = OUTPUT / "failure"

# metric name -> (objective type, needs probabilities)
METRICS: dict[str, tuple[str, bool]] = {
    "Accuracy": ("Maximize", False),
    "BalancedAccuracy": ("Maximize", False),
    "F1": ("Maximize", False),
    "F1macro": ("Maximize", False),
    "Precision": ("Maximize", False),
    "PrecisionMacro": ("Maximize", False),
    "Recall": ("Maximize", False),
    "RecallMacro": ("Maximize", False),
    "AUC": ("Maximize", True),
    "LogLoss": ("Minimize", True),
    "MSE": ("Minimize", False),
    "RMSE": ("Minimize", False),
    "MAE": ("Minimize", False),
    "R2": ("Maximize", False),
}
REGRESSION_METRICS = ("MSE", "RMSE", "MAE", "R2")
CLASSIFICATION_METRICS = {
    "BinaryClassification": ("F1", "Accuracy", "AUC", "BalancedAccuracy", "Precision", "Recall", "LogLoss"),
    "MulticlassClassification": (
        "Accuracy",
        "F1macro",
        "BalancedAccuracy",
        "PrecisionMacro",
        "RecallMacro",
        "LogLoss",
    ),
}
DEFAULT_OBJECTIVE = {
    "Regression": "MSE",
    "BinaryClassification": "F1",
    "MulticlassClassification": "Accuracy",
}

INFERENCE_SCRIPT = '''
"""Autopilot-style inference for a local AutoML candidate: CSV rows without header (or a JSON
list of rows) in; the SAGEMAKER_INFERENCE_OUTPUT keys out (predicted_label, probability,
probabilities, labels), as CSV or JSON."""
import io
import json
import os
import pickle

import pandas as pd


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
        return pickle.load(f)


def input_fn(body, content_type):
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    base = content_type.split(";")[0].strip().lower()
    if base == "application/json":
        value = json.loads(text)
        rows = value.get("instances", value) if isinstance(value, dict) else value
        rows = [r.get("features", r) if isinstance(r, dict) else r for r in rows]
        return pd.DataFrame(rows)
    if base == "text/csv":
        return pd.read_csv(io.StringIO(text), header=None)
    raise ValueError("content type " + content_type + " is not supported (text/csv, application/json)")


def predict_fn(frame, model):
    frame.columns = model["features"][: len(frame.columns)]
    frame = frame.reindex(columns=model["features"])
    pipeline = model["pipeline"]
    predicted = pipeline.predict(frame)
    labels = model.get("labels")
    rows = []
    probabilities = pipeline.predict_proba(frame) if labels is not None else None
    for index, value in enumerate(predicted):
        row = {"predicted_label": labels[int(value)] if labels is not None else float(value)}
        if probabilities is not None:
            row["probabilities"] = [float(p) for p in probabilities[index]]
            row["probability"] = max(row["probabilities"])
            row["labels"] = list(labels)
        rows.append(row)
    return rows


def output_fn(rows, accept):
    keys = [k for k in os.environ.get("SAGEMAKER_INFERENCE_OUTPUT", "predicted_label").split(",") if k]
    base = accept.split(";")[0].strip().lower()
    if base == "application/json":
        return json.dumps({"predictions": [{k: r[k] for k in keys if k in r} for r in rows]})
    if base == "text/csv":
        lines = []
        for r in rows:
            lines.append(",".join(json.dumps(r[k]) if isinstance(r[k], list) else str(r[k]) for k in keys if k in r))
        return "\\n".join(lines) + "\\n"
    raise ValueError("accept " + accept + " is not supported (text/csv, application/json)")
'''


def candidates(problem_type: str) -> list[tuple[str, Any]]:
    """(algorithm name, estimator) in the order they are tried: quick linear models first."""
    from sklearn import ensemble, linear_model, neighbors, tree

    if problem_type == "Regression":
        return [
            ("linear-learner", linear_model.Ridge(alpha=1.0)),
            ("random-forest", ensemble.RandomForestRegressor(n_estimators=50, random_state=0)),
            ("gradient-boosting", ensemble.GradientBoostingRegressor(random_state=0)),
            ("knn", neighbors.KNeighborsRegressor(n_neighbors=5)),
            ("decision-tree", tree.DecisionTreeRegressor(max_depth=6, random_state=0)),
            ("linear-learner-l2", linear_model.Ridge(alpha=10.0)),
            ("random-forest-deep", ensemble.RandomForestRegressor(n_estimators=100, random_state=1)),
            ("extra-trees", ensemble.ExtraTreesRegressor(n_estimators=100, random_state=0)),
        ]
    return [
        ("linear-learner", linear_model.LogisticRegression(max_iter=1000)),
        ("random-forest", ensemble.RandomForestClassifier(n_estimators=50, random_state=0)),
        ("gradient-boosting", ensemble.GradientBoostingClassifier(random_state=0)),
        ("knn", neighbors.KNeighborsClassifier(n_neighbors=5)),
        ("decision-tree", tree.DecisionTreeClassifier(max_depth=6, random_state=0)),
        ("linear-learner-l2", linear_model.LogisticRegression(C=0.1, max_iter=1000)),
        ("random-forest-deep", ensemble.RandomForestClassifier(n_estimators=100, random_state=1)),
        ("extra-trees", ensemble.ExtraTreesClassifier(n_estimators=100, random_state=0)),
    ]


def read_frames(paths: list[str], data_format: str = "csv") -> Any:
    """The channel's files as one frame: CSV with a header row (gzip by extension), or Parquet
    (which needs pyarrow or fastparquet in this interpreter; pandas says so when neither is)."""
    import pandas as pd

    frames = []
    for path in paths:
        if data_format == "parquet":
            frames.append(pd.read_parquet(path))
        else:
            frames.append(pd.read_csv(path, compression="infer"))
    if not frames:
        raise ValueError("the channel has no data files")
    return pd.concat(frames, ignore_index=True)


def infer_problem_type(target: Any) -> str:
    values = target.dropna().unique()
    if len(values) == 2:
        return "BinaryClassification"
    numeric = target.dtype.kind in "fc" or (target.dtype.kind in "iu" and len(values) > 20)
    return "Regression" if numeric else "MulticlassClassification"


def score(metric: str, problem_type: str, truth: Any, predicted: Any, proba: Any) -> float:
    from sklearn import metrics

    positive = {"average": "binary"} if problem_type == "BinaryClassification" else {"average": "macro"}
    if metric == "Accuracy":
        return float(metrics.accuracy_score(truth, predicted))
    if metric == "BalancedAccuracy":
        return float(metrics.balanced_accuracy_score(truth, predicted))
    if metric in ("F1", "F1macro"):
        return float(metrics.f1_score(truth, predicted, **positive, zero_division=0))
    if metric in ("Precision", "PrecisionMacro"):
        return float(metrics.precision_score(truth, predicted, **positive, zero_division=0))
    if metric in ("Recall", "RecallMacro"):
        return float(metrics.recall_score(truth, predicted, **positive, zero_division=0))
    if metric == "AUC":
        return float(metrics.roc_auc_score(truth, proba[:, 1]))
    if metric == "LogLoss":
        return float(metrics.log_loss(truth, proba, labels=list(range(proba.shape[1]))))
    if metric == "MSE":
        return float(metrics.mean_squared_error(truth, predicted))
    if metric == "RMSE":
        return float(metrics.mean_squared_error(truth, predicted) ** 0.5)
    if metric == "MAE":
        return float(metrics.mean_absolute_error(truth, predicted))
    if metric == "R2":
        return float(metrics.r2_score(truth, predicted))
    raise ValueError(f"unknown metric {metric}")


def preprocessor(frame: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in frame.columns if frame[c].dtype.kind in "iufcb"]
    text = [c for c in frame.columns if c not in numeric]
    return ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
                ),
                text,
            ),
        ]
    )


def main() -> None:
    import numpy as np
    from sklearn.base import clone
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    spec = json.loads(SPEC.read_text())
    started = time.monotonic()
    formats = spec.get("formats") or {}
    data = read_frames(spec["training"], formats.get("training", "csv"))
    target = spec["target"]
    if target not in data.columns:
        raise ValueError(
            f"the target attribute {target!r} is not a column of the data ({', '.join(map(str, data.columns))})"
        )
    data = data[data[target].notna()]
    problem_type = spec.get("problem_type") or infer_problem_type(data[target])
    metric = spec.get("metric") or DEFAULT_OBJECTIVE[problem_type]
    allowed = REGRESSION_METRICS if problem_type == "Regression" else CLASSIFICATION_METRICS[problem_type]
    if metric not in allowed:
        raise ValueError(
            f"objective metric {metric} does not apply to {problem_type} (use one of {', '.join(allowed)})"
        )
    labels = None
    y = data[target]
    if problem_type != "Regression":
        labels = sorted(str(v) for v in y.unique())
        if problem_type == "BinaryClassification" and len(labels) != 2:
            raise ValueError(
                f"BinaryClassification needs a target with 2 values; {target!r} has {len(labels)}"
            )
        y = y.astype(str).map({label: index for index, label in enumerate(labels)})
    features = data.drop(columns=[target])
    if spec.get("validation"):
        validation = read_frames(spec["validation"], formats.get("validation", "csv"))
        validation = validation[validation[target].notna()]
        x_train, y_train = features, y
        x_valid = validation.drop(columns=[target])
        y_valid = validation[target]
        if labels is not None:
            y_valid = y_valid.astype(str).map({label: index for index, label in enumerate(labels)})
    else:
        stratify = y if labels is not None and y.value_counts().min() >= 2 else None
        x_train, x_valid, y_train, y_valid = train_test_split(
            features, y, test_size=spec["validation_fraction"], random_state=0, stratify=stratify
        )
    objective_type, _ = METRICS[metric]
    max_candidates = spec["max_candidates"]
    per_candidate = spec.get("max_candidate_seconds")
    job_budget = spec.get("max_job_seconds")
    results: list[dict[str, Any]] = []
    for index, (algorithm, estimator) in enumerate(candidates(problem_type)[:max_candidates]):
        elapsed = time.monotonic() - started
        if job_budget and results and elapsed > 0.8 * job_budget:
            print(
                f"stopping the search after {len(results)} candidate(s): MaxAutoMLJobRuntimeInSeconds is near",
                flush=True,
            )
            break
        name = f"{spec['job_name'][:20].rstrip('-')}-{index + 1:03d}-{algorithm}"[:63]
        begun = time.time()
        pipeline = Pipeline([("preprocess", preprocessor(features)), ("model", clone(estimator))])
        entry: dict[str, Any] = {"name": name, "algorithm": algorithm, "start": begun}
        try:
            pipeline.fit(x_train, y_train)
            predicted = pipeline.predict(x_valid)
            proba = pipeline.predict_proba(x_valid) if labels is not None else None
            metrics = {}
            for candidate_metric in allowed:
                try:
                    metrics[candidate_metric] = score(
                        candidate_metric, problem_type, y_valid, predicted, proba
                    )
                except ValueError:
                    continue
            seconds = time.time() - begun
            if per_candidate and seconds > per_candidate:
                raise TimeoutError(
                    f"the candidate ran {seconds:.1f} s, longer than MaxRuntimePerTrainingJobInSeconds ({per_candidate} s)"
                )
            folder = MODEL_ROOT / name
            (folder / "code").mkdir(parents=True, exist_ok=True)
            with (folder / "model.pkl").open("wb") as handle:
                pickle.dump(
                    {"pipeline": pipeline, "labels": labels, "features": [str(c) for c in features.columns]},
                    handle,
                )
            (folder / "code" / "inference.py").write_text(INFERENCE_SCRIPT)
            importance = permutation_importance(pipeline, x_valid, y_valid, n_repeats=3, random_state=0)
            insights = {"problem_type": problem_type, "objective_metric": metric, "metrics": metrics}
            if labels is not None:
                from sklearn.metrics import confusion_matrix

                insights["labels"] = labels
                insights["confusion_matrix"] = confusion_matrix(y_valid, predicted).tolist()
            explain = {
                "explanations": {
                    "permutation_importance": {
                        str(column): float(value)
                        for column, value in zip(features.columns, importance.importances_mean, strict=True)
                    }
                }
            }
            (folder / "reports").mkdir(exist_ok=True)
            (folder / "reports" / "model_insights.json").write_text(json.dumps(insights))
            (folder / "reports" / "explainability.json").write_text(json.dumps(explain))
            entry.update(status="Completed", metrics=metrics, objective=metrics[metric], end=time.time())
            print(f"candidate {name}: {metric} = {metrics[metric]:.6g}", flush=True)
        except Exception as exc:
            entry.update(status="Failed", reason=f"{type(exc).__name__}: {exc}", end=time.time())
            print(f"candidate {name} failed: {exc}", flush=True)
        results.append(entry)
    completed = [r for r in results if r["status"] == "Completed"]
    if not completed:
        raise RuntimeError("no candidate completed: " + "; ".join(r.get("reason", "") for r in results))
    best = (max if objective_type == "Maximize" else min)(completed, key=lambda r: r["objective"])
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "candidates.json").write_text(
        json.dumps(
            {
                "problem_type": problem_type,
                "metric": metric,
                "objective_type": objective_type,
                "labels": labels,
                "candidates": results,
                "best": best["name"],
                "rows": int(len(data)),
                "features": [str(c) for c in features.columns],
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:
        traceback.print_exc()
        FAILURE.parent.mkdir(parents=True, exist_ok=True)
        FAILURE.write_text(f"ClientError: {type(exc).__name__}: {exc}")
        sys.exit(1)
