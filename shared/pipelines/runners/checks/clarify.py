"""Clarify's analysis: ``analysis.json`` from an analysis config, and the drift of its results
against a baseline ``analysis.json``.

The analysis config is the file the SDK writes (``clarify-processing-job-configure-analysis``):
``dataset_type``, ``headers``, ``label``, ``label_values_or_threshold``, ``facet``,
``group_variable``, ``excluded_columns``, ``predicted_label``, ``probability_threshold``,
``predictor`` and ``methods``. Each method the config lists runs:

* ``pre_training_bias``: CI, DPL, KL, JS, LP, TVD, KS and CDDL, computed by ``smclarify``, the
  library Clarify's container computes them with (CDDL reports an error without a
  ``group_variable``, as Clarify does);
* ``post_training_bias``: DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, CDDPL, TE, FT and GE, also by
  ``smclarify``, on predicted labels from the dataset's ``predicted_label`` column or else from
  the model's shadow endpoint (``/invocations`` at ``$PIPELINES_CLARIFY_ENDPOINT_URL``); a
  numeric prediction is a score, cut at ``probability_threshold`` (default 0.5);
* ``shap``: Kernel SHAP by the ``shap`` package over the endpoint's predictions, with the
  config's ``baseline`` rows (or the data's k-means centres, ``num_clusters``, default 1),
  ``num_samples``, ``agg_method`` (``mean_abs``, ``median``, ``mean_sq``) and ``seed``; local
  values go to ``explanations_shap/out.csv`` when ``save_local_shap_values`` is set;
* ``report`` (the notebook/PDF report) is not produced; ``pdp`` and ``asymmetric_shapley_value``
  are refused, naming the method.

Drift (``constraint_violations.json``, ``"version": "1.0"``; the Guide's
``clarify-model-monitor-bias-drift-violations`` and ``...-attribution-drift-violations``):

* ``bias_drift_check``: a metric whose value is farther from its ideal than the baseline's
  (ideal 0; 1 for DI, which the Guide leaves out; ours is documented in docs/checks.md);
* ``feature_attribution_drift_check``: the nDCG of the current global SHAP ranking scored with the
  baseline's attributions (scikit-learn's ``ndcg_score``) below 0.9.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import math
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.runners.checks.errors import AnalysisError
from pipelines.runners.checks.thresholds import beyond

ENDPOINT_VARIABLE = "PIPELINES_CLARIFY_ENDPOINT_URL"
ATTRIBUTION_DRIFT_THRESHOLD = 0.9
REFUSED_METHODS = ("pdp", "asymmetric_shapley_value")
SUPPORTED_METHODS = ("pre_training_bias", "post_training_bias", "shap", "report")
BATCH_ROWS = 1000


class ClarifyError(AnalysisError):
    """The analysis config or the dataset cannot be analysed; the message says why."""


# -- the config -------------------------------------------------------------------------------------
def _column(frame: pd.DataFrame, name_or_index: Any, what: str) -> str:
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
        if not 0 <= name_or_index < frame.shape[1]:
            raise ClarifyError(
                f"{what} index {name_or_index} is outside the dataset's {frame.shape[1]} columns"
            )
        return str(frame.columns[name_or_index])
    name = str(name_or_index)
    if name not in frame.columns:
        raise ClarifyError(
            f"{what} {name!r} is not a column of the dataset ({', '.join(map(str, frame.columns))})"
        )
    return name


@dataclass
class Analysis:
    """The config's view of the dataset: which columns are what."""

    config: Mapping[str, Any]
    frame: pd.DataFrame
    label: str
    features: list[str]

    @classmethod
    def of(cls, config: Mapping[str, Any], frame: pd.DataFrame) -> Analysis:
        if config.get("label") is None:
            raise ClarifyError("the analysis config names no label column")
        label = _column(frame, config["label"], "label")
        excluded = {_column(frame, c, "excluded column") for c in config.get("excluded_columns") or []}
        predicted = config.get("predicted_label")
        excluded |= {_column(frame, predicted, "predicted_label")} if predicted is not None else set()
        features = [str(c) for c in frame.columns if str(c) != label and str(c) not in excluded]
        return cls(config, frame, label, features)

    @property
    def methods(self) -> Mapping[str, Any]:
        methods = self.config.get("methods")
        if not isinstance(methods, Mapping) or not methods:
            raise ClarifyError("the analysis config lists no methods")
        for name in methods:
            if name in REFUSED_METHODS:
                raise ClarifyError(f"method {name!r} is not supported by the local Clarify analyzer")
            if name not in SUPPORTED_METHODS:
                raise ClarifyError(
                    f"method {name!r} is not a Clarify method ({', '.join(SUPPORTED_METHODS)})"
                )
        return methods

    def label_values(self) -> list[Any]:
        values = self.config.get("label_values_or_threshold")
        if not isinstance(values, list) or not values:
            raise ClarifyError("bias metrics need label_values_or_threshold (a list)")
        return list(values)

    def facets(self) -> list[tuple[str, list[Any] | None]]:
        facets = self.config.get("facet")
        if not isinstance(facets, list) or not facets:
            raise ClarifyError("bias metrics need at least one facet")
        out = []
        for facet in facets:
            if not isinstance(facet, Mapping) or "name_or_index" not in facet:
                raise ClarifyError(f"facet {facet!r} has no name_or_index")
            values = facet.get("value_or_threshold")
            out.append(
                (_column(self.frame, facet["name_or_index"], "facet"), list(values) if values else None)
            )
        return out

    def group_variable(self) -> pd.Series | None:
        group = self.config.get("group_variable")
        return None if group is None else self.frame[_column(self.frame, group, "group_variable")]

    def predicted_column(self) -> str | None:
        predicted = self.config.get("predicted_label")
        return None if predicted is None else _column(self.frame, predicted, "predicted_label")


# -- the shadow endpoint ----------------------------------------------------------------------------
@dataclass
class EndpointPredictor:
    """Predictions from a model served under the SageMaker hosting contract (``POST /invocations``)."""

    url: str
    content_type: str = "text/csv"
    accept_type: str = "text/csv"
    label: Any = None
    probability: Any = None

    @classmethod
    def of(cls, url: str, predictor: Mapping[str, Any]) -> EndpointPredictor:
        content_type = str(predictor.get("content_type") or "text/csv")
        if content_type not in ("text/csv", "application/jsonlines"):
            raise ClarifyError(
                f"predictor content_type {content_type!r} is not supported locally (text/csv, application/jsonlines)"
            )
        return cls(
            url=url.rstrip("/"),
            content_type=content_type,
            accept_type=str(predictor.get("accept_type") or content_type),
            label=predictor.get("label"),
            probability=predictor.get("probability"),
        )

    def _body(self, rows: np.ndarray, columns: Sequence[str]) -> bytes:
        if self.content_type == "text/csv":
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(rows.tolist())
            return out.getvalue().encode()
        return "".join(json.dumps({"features": list(row)}) + "\n" for row in rows.tolist()).encode()

    def _invoke(self, body: bytes) -> str:
        request = urllib.request.Request(
            f"{self.url}/invocations",
            data=body,
            headers={"Content-Type": self.content_type, "Accept": self.accept_type},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return str(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise ClarifyError(f"the shadow endpoint answered {exc.code}: {detail}") from exc
        except OSError as exc:
            raise ClarifyError(f"the shadow endpoint at {self.url} cannot be reached: {exc}") from exc

    def _records(self, text: str) -> list[Any]:
        if self.accept_type == "text/csv":
            return [row for row in csv.reader(io.StringIO(text)) if row]
        if self.accept_type == "application/jsonlines":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        value = json.loads(text)
        if isinstance(value, Mapping) and "predictions" in value:
            value = value["predictions"]
        return list(value) if isinstance(value, list) else [value]

    def _pick(self, record: Any, key: Any) -> Any:
        if isinstance(record, list):
            index = int(key) if key is not None else 0
            return record[index] if isinstance(record[index], int | float | str) else record[index]
        if isinstance(record, Mapping):
            if key is None:
                if len(record) != 1:
                    raise ClarifyError(
                        f"the prediction {record} has several fields: set the predictor's label or probability"
                    )
                return next(iter(record.values()))
            return record.get(str(key))
        return record

    def predict(self, rows: np.ndarray, columns: Sequence[str]) -> np.ndarray:
        """One output per row: the probability if the predictor names one, else the label, else
        the record's only value."""
        key = self.probability if self.probability is not None else self.label
        outputs: list[Any] = []
        for start in range(0, len(rows), BATCH_ROWS):
            chunk = rows[start : start + BATCH_ROWS]
            records = self._records(self._invoke(self._body(chunk, columns)))
            if (
                len(records) == 1
                and len(chunk) > 1
                and isinstance(records[0], list)
                and len(records[0]) == len(chunk)
            ):
                records = [[v] for v in records[0]]  # one line of comma-separated predictions
            if len(records) != len(chunk):
                raise ClarifyError(
                    f"the shadow endpoint returned {len(records)} predictions for {len(chunk)} rows"
                )
            outputs.extend(self._pick(r, key) for r in records)
        return np.array([_maybe_number(v) for v in outputs], dtype=object)


def _maybe_number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else number
    return value


Predict = Callable[[np.ndarray, Sequence[str]], np.ndarray]


# -- bias -------------------------------------------------------------------------------------------
def _method_list(spec: Any) -> list[str]:
    methods = spec.get("methods", "all") if isinstance(spec, Mapping) else "all"
    return ["all"] if methods == "all" else [str(m) for m in methods]


def _extra(module: str, purpose: str) -> Any:
    """An optional package from requirements-extras.txt, or a failure naming it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise ClarifyError(
            f"{purpose} needs the {package} package, which is not installed for this interpreter "
            f"(requirements-extras.txt; make install installs it)"
        ) from exc


def _bias_metrics(analysis: Analysis, stage: str, spec: Any, predicted: pd.Series | None) -> dict[str, Any]:
    report = _extra("smclarify.bias.report", "bias metrics")

    frame = analysis.frame
    label_values = analysis.label_values()
    label_column = report.LabelColumn(analysis.label, frame[analysis.label], list(label_values))
    predicted_column = (
        report.LabelColumn("__predicted_label", predicted, list(label_values))
        if predicted is not None
        else None
    )
    stage_type = report.StageType.PRE_TRAINING if stage == "pre" else report.StageType.POST_TRAINING
    facets: dict[str, Any] = {}
    for name, values in analysis.facets():
        data = frame.drop(columns=[analysis.predicted_column()] if analysis.predicted_column() else [])
        try:
            facets[name] = report.bias_report(
                data,
                report.FacetColumn(name, list(values) if values else None),
                label_column,
                stage_type,
                predicted_label_column=predicted_column,
                metrics=_method_list(spec),
                group_variable=analysis.group_variable(),
            )
        except ValueError as exc:
            raise ClarifyError(f"facet {name}: {exc}") from exc
    return {
        "label": analysis.label,
        "facets": facets,
        "label_value_or_threshold": report.label_value_or_threshold(
            frame[analysis.label], list(label_values)
        ),
    }


def _predicted_labels(analysis: Analysis, scores: np.ndarray) -> pd.Series:
    """Predicted labels in the label's own values: numeric scores are cut at probability_threshold
    into the positive label value or the label's other value."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in scores)
    labels_already = set(scores.tolist()) <= set(analysis.frame[analysis.label].tolist())
    if not numeric or ("probability_threshold" not in analysis.config and labels_already):
        return pd.Series(scores, index=analysis.frame.index, dtype=object)
    threshold = float(analysis.config.get("probability_threshold", 0.5))
    positive = analysis.label_values()[0]
    others = [v for v in pd.unique(analysis.frame[analysis.label]) if v != positive]
    negative = others[0] if others else 0
    return pd.Series(
        [positive if float(v) > threshold else negative for v in scores],
        index=analysis.frame.index,
        dtype=object,
    )


# -- explainability ---------------------------------------------------------------------------------
_AGGREGATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean_abs": lambda values: np.mean(np.abs(values), axis=0),
    "median": lambda values: np.median(values, axis=0),
    "mean_sq": lambda values: np.mean(np.square(values), axis=0),
}


def _shap(analysis: Analysis, spec: Mapping[str, Any], predict: Predict, output: Path) -> dict[str, Any]:
    shap = _extra("shap", "SHAP explanations")

    for option in ("text_config", "image_config", "features_to_explain"):
        if spec.get(option) is not None:
            raise ClarifyError(f"SHAP's {option} is not supported by the local Clarify analyzer")
    features = analysis.features
    data = analysis.frame[features]
    if not all(
        pd.api.types.is_numeric_dtype(pd.to_numeric(data[c], errors="coerce"))
        and pd.to_numeric(data[c], errors="coerce").notna().all()
        for c in features
    ):
        raise ClarifyError(
            "SHAP needs numeric features locally; encode categorical features before the check"
        )
    matrix = data.apply(pd.to_numeric).to_numpy(dtype=float)
    baseline = spec.get("baseline")
    if isinstance(baseline, str):
        raise ClarifyError(
            "a SHAP baseline given as an S3 URI is not supported locally; give the rows in the config"
        )
    if baseline:
        background = np.array(baseline, dtype=float)
        if background.ndim != 2 or background.shape[1] != len(features):
            raise ClarifyError(f"the SHAP baseline rows must have {len(features)} values (the features)")
    else:
        clusters = int(spec.get("num_clusters") or 1)
        background = (
            shap.kmeans(matrix, clusters).data if clusters > 1 else matrix.mean(axis=0, keepdims=True)
        )
    aggregation = str(spec.get("agg_method", "mean_abs"))
    if aggregation not in _AGGREGATIONS:
        raise ClarifyError(f"agg_method {aggregation!r} is not one of {', '.join(_AGGREGATIONS)}")

    def model(rows: np.ndarray) -> np.ndarray:
        return np.array([float(v) for v in predict(rows, features)], dtype=float)

    if spec.get("seed") is not None:
        np.random.seed(int(spec["seed"]))
    explainer = shap.KernelExplainer(model, background)
    samples = spec.get("num_samples")
    values = np.asarray(
        explainer.shap_values(matrix, nsamples=int(samples) if samples else "auto", silent=True)
    )
    if spec.get("use_logit"):
        raise ClarifyError("use_logit is not supported by the local SHAP analysis")
    global_values = _AGGREGATIONS[aggregation](values)
    expected = explainer.expected_value
    if spec.get("save_local_shap_values", True):
        folder = output / "explanations_shap"
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(values, columns=features).to_csv(folder / "out.csv", index=False)
    label_headers = (analysis.config.get("predictor") or {}).get("label_headers") or ["label0"]
    return {
        "kernel_shap": {
            str(label_headers[0]): {
                "global_shap_values": {
                    name: float(v) for name, v in zip(features, global_values, strict=True)
                },
                "expected_value": float(np.ravel(expected)[0]),
            }
        }
    }


# -- the analysis -----------------------------------------------------------------------------------
def analyze(
    config: Mapping[str, Any], frame: pd.DataFrame, output: Path, predict: Predict | None
) -> dict[str, Any]:
    """The analysis.json document for ``config`` over ``frame``."""
    analysis = Analysis.of(config, frame)
    methods = analysis.methods
    result: dict[str, Any] = {"version": "1.0"}
    if "pre_training_bias" in methods:
        result["pre_training_bias_metrics"] = _bias_metrics(
            analysis, "pre", methods["pre_training_bias"], None
        )
    if "post_training_bias" in methods:
        column = analysis.predicted_column()
        if column is not None:
            predicted = analysis.frame[column]
        else:
            if predict is None:
                raise ClarifyError(
                    "post-training bias needs predictions: a predicted_label column or a model"
                )
            scores = predict(analysis.frame[analysis.features].to_numpy(), analysis.features)
            predicted = _predicted_labels(analysis, scores)
        result["post_training_bias_metrics"] = _bias_metrics(
            analysis, "post", methods["post_training_bias"], predicted
        )
    if "shap" in methods:
        if predict is None:
            raise ClarifyError("SHAP explanations need a model to query")
        result["explanations"] = _shap(analysis, methods["shap"] or {}, predict, output)
    return result


# -- drift ------------------------------------------------------------------------------------------
def _distance(metric: str, value: float) -> float:
    return abs(value - 1.0) if metric == "DI" else abs(value)


_INTERVAL = re.compile(r"^\((?P<low>[^,]+), [^\]]+\]$")


def _facet_group(value_or_threshold: Any) -> str:
    """A facet group's identity across datasets: a continuous facet's interval ``(0.5, max]``
    ends at the data's own maximum, so only its threshold identifies it."""
    text = str(value_or_threshold)
    match = _INTERVAL.match(text)
    return f"({match.group('low')}, ...]" if match else text


def _metric_values(section: Mapping[str, Any]) -> dict[tuple[str, str, str], tuple[float, str]]:
    """(facet, facet group, metric) -> (value, the group's value_or_threshold as written)."""
    out: dict[tuple[str, str, str], tuple[float, str]] = {}
    for facet, groups in (section.get("facets") or {}).items():
        for group in groups or []:
            written = str(group.get("value_or_threshold"))
            for metric in group.get("metrics") or []:
                value = metric.get("value")
                if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                    out[(str(facet), _facet_group(written), str(metric.get("name")))] = (
                        float(value),
                        written,
                    )
    return out


def violations(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Bias drift and feature attribution drift of ``current`` against ``baseline``."""
    found: list[dict[str, Any]] = []
    for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        if section not in current:
            continue
        if section not in baseline:
            raise ClarifyError(f"the baseline analysis has no {section} to check against")
        base = _metric_values(baseline[section])
        for key, (value, facet_value) in _metric_values(current[section]).items():
            facet, _group, name = key
            if key not in base:
                continue
            base_value = base[key][0]
            if beyond("GreaterThanThreshold", _distance(name, value), _distance(name, base_value)):
                found.append(
                    {
                        "facet": facet,
                        "facet_value": facet_value,
                        "metric_name": name,
                        "constraint_check_type": "bias_drift_check",
                        "description": (
                            f"Value {value} does not meet the constraint requirement! Baseline value: {base_value}"
                        ),
                    }
                )
    if "explanations" in current:
        found.extend(_attribution_drift(current, baseline))
    return found


def _attribution_drift(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[dict[str, Any]]:
    from sklearn.metrics import ndcg_score

    base_labels = ((baseline.get("explanations") or {}).get("kernel_shap")) or {}
    if not base_labels:
        raise ClarifyError("the baseline analysis has no kernel_shap explanations to check against")
    found = []
    for label, explanation in (current["explanations"].get("kernel_shap") or {}).items():
        base = (base_labels.get(label) or {}).get("global_shap_values")
        now = explanation.get("global_shap_values") or {}
        if not base:
            raise ClarifyError(f"the baseline analysis has no global SHAP values for {label}")
        names = [n for n in base if n in now]
        if len(names) < 2:
            continue
        score = float(
            ndcg_score(
                np.array([[abs(float(base[n])) for n in names]]),
                np.array([[abs(float(now[n])) for n in names]]),
            )
        )
        if score < ATTRIBUTION_DRIFT_THRESHOLD:
            found.append(
                {
                    "label": label,
                    "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"Feature attribution drift {score} exceeds threshold {ATTRIBUTION_DRIFT_THRESHOLD}",
                }
            )
    return found
