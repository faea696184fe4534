"""Model Monitor's data quality analysis: ``statistics.json``, suggested ``constraints.json``, and
``constraint_violations.json`` against a baseline.

The file shapes are the Guide's (``model-monitor-byoc-statistics``, ``-constraints``,
``model-monitor-interpreting-violations``); the rules follow Deequ 2.0.2, which the real analyzer
is built on, where the Guide is silent:

* a value's type comes from how it is written (Deequ's ``DataType`` analyzer): ``3`` is Integral,
  ``3.0`` or ``1e3`` Fractional, anything else String; a column with any String value is String,
  else Fractional if any value is, else Integral; all missing is Unknown;
* numeric statistics use the population standard deviation and ten equal-width buckets over
  [min, max]; the KLL sketch holds every value (one level) up to k = 2048 values, else 2048 evenly
  spaced quantiles of them;
* suggested constraints follow Deequ's rules: completeness is 1.0 for a complete column, else the
  lower 95 % bound of the observed completeness floored to two decimals (RetainCompletenessRule);
  ``is_non_negative`` is the column's minimum being >= 0; String columns with at most 120 distinct
  values, of which at most 10 % occur once, get their ``domains`` (CategoricalRangeRule).

Violations (each ``{"feature_name", "constraint_check_type", "description"}``):

* ``missing_column_check`` / ``extra_column_check``: a baseline column absent now / a new column;
* ``data_type_check``: for an Integral (Fractional) baseline column, the share of present values
  that are integral (numeric) is below ``datatype_check_threshold``; for a String column, the
  column now holds only numbers;
* ``completeness_check``: completeness below the column's ``completeness`` constraint;
* ``categorical_values_check``: the share of values inside ``domains`` is below
  ``domain_content_threshold``;
* ``baseline_drift_check`` (needs the baseline statistics and ``perform_comparison`` Enabled):
  numeric columns compare distributions by the Kolmogorov-Smirnov distance, between the baseline's
  sketch and the values (``Robust``) or between the baseline's ten buckets and the values counted
  in them (``Simple``), against ``comparison_threshold``; String columns compare category shares
  by their largest difference (``LInfinity``) against ``categorical_comparison_threshold``, or by
  a chi-squared test (``ChiSquared``), flagged when its p-value is below that threshold.

``is_non_negative`` is suggested but not evaluated: the Guide lists no violation type for it.
Per-feature ``monitoringConfigOverrides`` (also spelled ``monitoring_config_overrides``, as the
SDK writes it) override the thresholds and methods above for one column.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.runners.checks.errors import AnalysisError

INTEGRAL = "Integral"
FRACTIONAL = "Fractional"
STRING = "String"
UNKNOWN = "Unknown"
NUMERIC_TYPES = (INTEGRAL, FRACTIONAL)

KLL_K = 2048
KLL_C = 0.64
BUCKETS = 10
HISTOGRAM_MAX_DISTINCT = 120  # Deequ's ColumnProfiler lowCardinalityHistogramThreshold

_INTEGRAL_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_FRACTIONAL_TEXT = re.compile(r"^\s*[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+|\.\d+[eE][+-]?\d+)\s*$")

DEFAULT_MONITORING_CONFIG: dict[str, Any] = {
    "evaluate_constraints": "Enabled",
    "emit_metrics": "Enabled",
    "datatype_check_threshold": 1.0,
    "domain_content_threshold": 1.0,
    "distribution_constraints": {
        "perform_comparison": "Enabled",
        "comparison_threshold": 0.1,
        "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1,
        "categorical_drift_method": "LInfinity",
    },
}
CATEGORICAL_DRIFT_METHODS = ("LInfinity", "ChiSquared")
COMPARISON_METHODS = ("Robust", "Simple")


class ConstraintsError(AnalysisError):
    """A baseline constraints or statistics file is not in Model Monitor's shape."""


# -- types ------------------------------------------------------------------------------------------
def value_type(value: Any) -> str:
    """Deequ's type of one cell: Unknown for missing, else Integral, Fractional or String."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNKNOWN
    if isinstance(value, bool | np.bool_):
        return STRING
    if isinstance(value, int | np.integer):
        return INTEGRAL
    if isinstance(value, float | np.floating):
        return FRACTIONAL
    text = str(value)
    if _INTEGRAL_TEXT.match(text):
        return INTEGRAL
    if _FRACTIONAL_TEXT.match(text):
        return FRACTIONAL
    return STRING


def column_type(counts: Mapping[str, int]) -> str:
    """A column's inferred type from its cells' types (Deequ's ``DataTypeHistogram.determineType``)."""
    if counts.get(STRING):
        return STRING
    if counts.get(FRACTIONAL):
        return FRACTIONAL
    if counts.get(INTEGRAL):
        return INTEGRAL
    return UNKNOWN


def _cell_types(series: pd.Series) -> np.ndarray:
    """Every cell's type, vectorised: a numeric column by its dtype, text by the two patterns,
    and only cells of other Python types (JSON's bools, mixed columns) one by one."""
    size = len(series)
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.full(size, STRING, dtype=object)
    missing = series.isna().to_numpy()
    if pd.api.types.is_integer_dtype(series.dtype):
        types = np.full(size, INTEGRAL, dtype=object)
    elif pd.api.types.is_float_dtype(series.dtype):
        types = np.full(size, FRACTIONAL, dtype=object)
    else:
        is_text = np.fromiter((isinstance(v, str) for v in series.tolist()), dtype=bool, count=size)
        types = np.full(size, STRING, dtype=object)
        text = series[is_text].astype(str)
        integral = text.str.match(_INTEGRAL_TEXT).to_numpy(dtype=bool)
        fractional = text.str.match(_FRACTIONAL_TEXT).to_numpy(dtype=bool)
        types[is_text] = np.where(integral, INTEGRAL, np.where(fractional, FRACTIONAL, STRING))
        others = np.flatnonzero(~is_text & ~missing)
        for index in others:
            types[index] = value_type(series.iat[index])
    types[missing] = UNKNOWN
    return types


@dataclass
class Column:
    """One column's cells and their types (arrays, one entry per row)."""

    name: str
    cells: np.ndarray
    types: np.ndarray

    @classmethod
    def of(cls, name: str, series: pd.Series) -> Column:
        return cls(str(name), series.to_numpy(dtype=object), _cell_types(series))

    @functools.cached_property
    def counts(self) -> Counter[str]:
        kinds, numbers = np.unique(self.types.astype(str), return_counts=True)
        return Counter(dict(zip(kinds.tolist(), numbers.tolist(), strict=True)))

    @property
    def inferred_type(self) -> str:
        return column_type(self.counts)

    @functools.cached_property
    def present_mask(self) -> np.ndarray:
        return np.asarray(self.types != UNKNOWN, dtype=bool)

    @property
    def present_types(self) -> np.ndarray:
        return self.types[self.present_mask]

    @property
    def present_count(self) -> int:
        return int(self.present_mask.sum())

    @property
    def completeness(self) -> float:
        return self.present_count / len(self.cells) if len(self.cells) else 0.0

    def numbers(self) -> np.ndarray:
        """The present cells as floats (only for a numeric column)."""
        return pd.to_numeric(pd.Series(self.cells[self.present_mask])).to_numpy(dtype=float)

    def texts(self) -> list[str]:
        return [str(v) for v in self.cells[self.present_mask].tolist()]


def columns_of(frame: pd.DataFrame) -> list[Column]:
    return [Column.of(str(name), frame[name]) for name in frame.columns]


# -- statistics.json --------------------------------------------------------------------------------
def _sketch_values(values: np.ndarray) -> list[float]:
    if len(values) <= KLL_K:
        return [float(v) for v in values]
    return [float(v) for v in np.quantile(values, np.linspace(0.0, 1.0, KLL_K))]


def numerical_statistics(column: Column) -> dict[str, Any]:
    values = column.numbers()
    present = len(values)
    common = {"num_present": present, "num_missing": len(column.cells) - present}
    if present == 0:
        return {"common": common}
    counts, edges = np.histogram(values, bins=BUCKETS)
    buckets = [
        {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(counts[i])}
        for i in range(BUCKETS)
    ]
    return {
        "common": common,
        "mean": float(np.mean(values)),
        "sum": float(np.sum(values)),
        "std_dev": float(np.std(values)),  # population (ddof=0), as the analyzer reports it
        "min": float(np.min(values)),
        "max": float(np.max(values)),
        "distribution": {
            "kll": {
                "buckets": buckets,
                "sketch": {"parameters": {"c": KLL_C, "k": float(KLL_K)}, "data": [_sketch_values(values)]},
            }
        },
    }


def string_statistics(column: Column) -> dict[str, Any]:
    texts = column.texts()
    counts = Counter(texts)
    out: dict[str, Any] = {
        "common": {"num_present": len(texts), "num_missing": len(column.cells) - len(texts)},
        "distinct_count": float(len(counts)),
    }
    if counts and len(counts) <= HISTOGRAM_MAX_DISTINCT:
        out["distribution"] = {
            "categorical": {
                "buckets": [{"value": value, "count": float(n)} for value, n in counts.most_common()]
            }
        }
    return out


def feature_statistics(column: Column) -> dict[str, Any]:
    inferred = column.inferred_type
    feature: dict[str, Any] = {"name": column.name, "inferred_type": inferred}
    if inferred in NUMERIC_TYPES:
        feature["numerical_statistics"] = numerical_statistics(column)
    else:
        feature["string_statistics"] = string_statistics(column)
    return feature


def statistics(columns: list[Column], item_count: int) -> dict[str, Any]:
    return {
        "version": 0.0,
        "dataset": {"item_count": item_count},
        "features": [feature_statistics(c) for c in columns],
    }


# -- constraints.json -------------------------------------------------------------------------------
def suggested_completeness(column: Column) -> float:
    """Deequ's RetainCompletenessRule: the observed completeness's lower 95 % bound, floored to
    two decimals, so the same data checked again passes; 1.0 for a complete column."""
    p = column.completeness
    n = len(column.cells)
    if p >= 1.0 or n == 0:
        return 1.0 if n else 0.0
    bound = p - 1.96 * math.sqrt(p * (1 - p) / n)
    return max(0.0, math.floor(bound * 100) / 100)


def suggested_domains(column: Column) -> list[str] | None:
    """Deequ's CategoricalRangeRule: the values of a low-cardinality String column whose
    values mostly repeat (at most 10 % of them seen once)."""
    counts = Counter(column.texts())
    if not counts or len(counts) > HISTOGRAM_MAX_DISTINCT:
        return None
    seen_once = sum(1 for n in counts.values() if n == 1)
    if seen_once / len(counts) > 0.1:
        return None
    return [value for value, _n in counts.most_common()]


def feature_constraints(column: Column) -> dict[str, Any]:
    inferred = column.inferred_type
    feature: dict[str, Any] = {
        "name": column.name,
        "inferred_type": inferred,
        "completeness": suggested_completeness(column),
    }
    if inferred in NUMERIC_TYPES:
        values = column.numbers()
        feature["num_constraints"] = {"is_non_negative": bool(len(values) and float(values.min()) >= 0)}
    elif inferred == STRING:
        domains = suggested_domains(column)
        if domains is not None:
            feature["string_constraints"] = {"domains": domains}
    return feature


def suggest_constraints(
    columns: list[Column], *, categorical_drift_method: str | None = None
) -> dict[str, Any]:
    config = _copy(DEFAULT_MONITORING_CONFIG)
    if categorical_drift_method:
        if categorical_drift_method not in CATEGORICAL_DRIFT_METHODS:
            raise ConstraintsError(
                f"categorical_drift_method {categorical_drift_method!r} is not one of "
                f"{', '.join(CATEGORICAL_DRIFT_METHODS)}"
            )
        config["distribution_constraints"]["categorical_drift_method"] = categorical_drift_method
    return {
        "version": 0.0,
        "features": [feature_constraints(c) for c in columns],
        "monitoring_config": config,
    }


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value


# -- constraint_violations.json ---------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """The monitoring_config values that apply to one feature (after its overrides)."""

    datatype_check_threshold: float
    domain_content_threshold: float
    perform_comparison: bool
    comparison_threshold: float
    comparison_method: str
    categorical_comparison_threshold: float
    categorical_drift_method: str

    @classmethod
    def of(cls, config: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> Settings:
        distribution = {
            **DEFAULT_MONITORING_CONFIG["distribution_constraints"],
            **(config.get("distribution_constraints") or {}),
        }
        merged: dict[str, Any] = {**DEFAULT_MONITORING_CONFIG, **config, **distribution}
        if overrides:
            merged.update(overrides)
            merged.update(overrides.get("distribution_constraints") or {})
        settings = cls(
            datatype_check_threshold=_number(merged, "datatype_check_threshold"),
            domain_content_threshold=_number(merged, "domain_content_threshold"),
            perform_comparison=str(merged.get("perform_comparison", "Enabled")) == "Enabled",
            comparison_threshold=_number(merged, "comparison_threshold"),
            comparison_method=str(merged.get("comparison_method", "Robust")),
            categorical_comparison_threshold=_number(merged, "categorical_comparison_threshold"),
            categorical_drift_method=str(merged.get("categorical_drift_method", "LInfinity")),
        )
        if settings.comparison_method not in COMPARISON_METHODS:
            raise ConstraintsError(
                f"comparison_method {settings.comparison_method!r} is not one of {', '.join(COMPARISON_METHODS)}"
            )
        if settings.categorical_drift_method not in CATEGORICAL_DRIFT_METHODS:
            raise ConstraintsError(
                f"categorical_drift_method {settings.categorical_drift_method!r} is not one of "
                f"{', '.join(CATEGORICAL_DRIFT_METHODS)}"
            )
        return settings


def _number(values: Mapping[str, Any], key: str) -> float:
    try:
        return float(values[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConstraintsError(f"monitoring_config {key} must be a number, got {values.get(key)!r}") from exc


def _violation(feature: str, check: str, description: str) -> dict[str, str]:
    return {"feature_name": feature, "constraint_check_type": check, "description": description}


def _percent(value: float) -> str:
    return f"{round(value * 100, 2)}%"


def _features(document: Mapping[str, Any], what: str) -> dict[str, Mapping[str, Any]]:
    features = document.get("features")
    if not isinstance(features, list) or not all(isinstance(f, dict) and "name" in f for f in features):
        raise ConstraintsError(f"the baseline {what} has no 'features' list of named features")
    return {str(f["name"]): f for f in features}


def violations(
    columns: list[Column],
    baseline_constraints: Mapping[str, Any],
    baseline_statistics: Mapping[str, Any] | None,
) -> list[dict[str, str]]:
    """Every violation of the baseline by the current columns, in column order."""
    config = baseline_constraints.get("monitoring_config") or {}
    if str(config.get("evaluate_constraints", "Enabled")) != "Enabled":
        return []
    constrained = _features(baseline_constraints, "constraints")
    baseline_features = _features(baseline_statistics, "statistics") if baseline_statistics else {}
    current = {c.name: c for c in columns}
    found: list[dict[str, str]] = []
    for name in constrained:
        if name not in current:
            found.append(
                _violation(
                    name,
                    "missing_column_check",
                    f"There are missing columns in current dataset. Number of columns in current dataset: "
                    f"{len(current)}, Number of columns in baseline constraints: {len(constrained)}",
                )
            )
    for column in columns:
        constraint = constrained.get(column.name)
        if constraint is None:
            found.append(
                _violation(
                    column.name,
                    "extra_column_check",
                    f"There are extra columns in current dataset. Number of columns in current dataset: "
                    f"{len(current)}, Number of columns in baseline constraints: {len(constrained)}",
                )
            )
            continue
        overrides = constraint.get("monitoringConfigOverrides") or constraint.get(
            "monitoring_config_overrides"
        )
        settings = Settings.of(config, overrides if isinstance(overrides, Mapping) else None)
        found.extend(_feature_violations(column, constraint, baseline_features.get(column.name), settings))
    return found


def _feature_violations(
    column: Column,
    constraint: Mapping[str, Any],
    baseline_feature: Mapping[str, Any] | None,
    settings: Settings,
) -> Iterable[dict[str, str]]:
    expected_type = str(constraint.get("inferred_type", UNKNOWN))
    type_ok = True
    present = column.present_types
    if expected_type in NUMERIC_TYPES and len(present):
        accepted = (INTEGRAL,) if expected_type == INTEGRAL else NUMERIC_TYPES
        share = float(np.isin(present, accepted).mean())
        if share < settings.datatype_check_threshold:
            type_ok = False
            yield _violation(
                column.name,
                "data_type_check",
                f"Data type match requirement is not met. Expected data type: {expected_type}, Expected match: "
                f"{_percent(settings.datatype_check_threshold)}. Observed: Only {_percent(share)} of data is "
                f"{expected_type}.",
            )
    elif expected_type == STRING and len(present) and column.inferred_type in NUMERIC_TYPES:
        type_ok = False
        yield _violation(
            column.name,
            "data_type_check",
            f"Data type match requirement is not met. Expected data type: String, Expected match: "
            f"{_percent(settings.datatype_check_threshold)}. Observed: the column holds only "
            f"{column.inferred_type} values.",
        )
    if "completeness" in constraint:
        expected = float(constraint["completeness"])
        if column.completeness < expected:
            yield _violation(
                column.name,
                "completeness_check",
                f"Data completeness requirement is not met. Expected completeness: {_percent(expected)}. "
                f"Observed completeness: {_percent(column.completeness)}.",
            )
    domains = (constraint.get("string_constraints") or {}).get("domains")
    if isinstance(domains, list) and column.present_count:
        allowed = {str(d) for d in domains}
        texts = column.texts()
        share = sum(1 for t in texts if t in allowed) / len(texts)
        if share < settings.domain_content_threshold:
            unknown = sorted({t for t in texts if t not in allowed})[:5]
            yield _violation(
                column.name,
                "categorical_values_check",
                f"Data content requirement is not met. Expected: {_percent(settings.domain_content_threshold)} "
                f"of values in the baseline domain. Observed: {_percent(share)} (values outside it include "
                f"{', '.join(unknown)}).",
            )
    if baseline_feature is not None and settings.perform_comparison and type_ok and column.present_count:
        drift = _drift(column, baseline_feature, settings)
        if drift is not None:
            yield _violation(column.name, "baseline_drift_check", drift)


def _drift(column: Column, baseline: Mapping[str, Any], settings: Settings) -> str | None:
    numeric = baseline.get("numerical_statistics")
    if isinstance(numeric, Mapping) and column.inferred_type in NUMERIC_TYPES:
        kll = (numeric.get("distribution") or {}).get("kll") or {}
        values = column.numbers()
        if settings.comparison_method == "Simple":
            distance = _bucket_distance(kll.get("buckets") or [], values)
        else:
            distance = _sketch_distance((kll.get("sketch") or {}).get("data") or [], values)
        if distance is not None and distance > settings.comparison_threshold:
            return (
                f"Baseline drift distance: {distance} exceeds threshold: {settings.comparison_threshold} "
                f"({settings.comparison_method} comparison)"
            )
        return None
    strings = baseline.get("string_statistics")
    if isinstance(strings, Mapping):
        buckets = ((strings.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
        expected = {str(b["value"]): float(b["count"]) for b in buckets if isinstance(b, Mapping)}
        if not expected:
            return None
        observed = Counter(column.texts())
        threshold = settings.categorical_comparison_threshold
        if settings.categorical_drift_method == "ChiSquared":
            keys = sorted(expected)
            total = sum(observed[k] for k in keys)
            if total == 0:
                return None
            scale = total / sum(expected.values())
            from scipy import stats as scipy_stats  # only this path and the KS distance need scipy

            result = scipy_stats.chisquare([observed[k] for k in keys], [expected[k] * scale for k in keys])
            p_value = float(result.pvalue)
            if p_value < threshold:
                return f"Baseline drift chi-squared p-value: {p_value} is below threshold: {threshold}"
            return None
        base_total = sum(expected.values())
        current_total = sum(observed.values())
        distance = max(
            abs(expected.get(k, 0.0) / base_total - observed.get(k, 0) / current_total)
            for k in set(expected) | set(observed)
        )
        if distance > threshold:
            return f"Baseline drift distance: {distance} exceeds threshold: {threshold} (LInfinity)"
    return None


def _sketch_distance(levels: list[Any], values: np.ndarray) -> float | None:
    """The KS distance between the baseline sketch (level i weighs 2**i) and the current values."""
    sample: list[float] = []
    for level, items in enumerate(levels):
        if isinstance(items, list):
            sample.extend(float(v) for v in items for _ in range(2**level))
    if not sample or not len(values):
        return None
    from scipy import stats as scipy_stats

    return float(scipy_stats.ks_2samp(np.array(sample), values).statistic)


def _bucket_distance(buckets: list[Any], values: np.ndarray) -> float | None:
    """The largest gap between the baseline's and the values' cumulative shares at the bucket edges."""
    edges = [float(b["lower_bound"]) for b in buckets] + (
        [float(buckets[-1]["upper_bound"])] if buckets else []
    )
    counts = np.array([float(b["count"]) for b in buckets])
    if not buckets or counts.sum() == 0 or not len(values):
        return None
    base_cdf = np.cumsum(counts) / counts.sum()
    current_cdf = np.array([np.mean(values <= edge) for edge in edges[1:]])
    return float(np.max(np.abs(base_cdf - current_cdf)))
