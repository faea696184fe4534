"""The check job's program on its own: the Model Monitor and Clarify container contracts
(environment in, files out) on data made here, for the rules the pipeline tests do not reach."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pipelines.runners.checks import analyzer, clarify
from pipelines.runners.checks.errors import AnalysisError
from pipelines.runners.checks.thresholds import beyond


def _monitor(
    tmp_path: Path, files: dict[str, str], dataset_format: dict[str, Any], **env: str
) -> dict[str, Any]:
    """Run the Model Monitor analyzer; its output files by name."""
    source = tmp_path / "input"
    source.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (source / name).write_text(text)
    output = tmp_path / "output"
    environment = {
        "dataset_source": str(source),
        "output_path": str(output),
        "dataset_format": json.dumps(dataset_format),
        **env,
    }
    analyzer.model_monitor(environment)
    return {path.name: json.loads(path.read_text()) for path in output.glob("*.json")}


def test_floating_point_noise_is_not_a_violation() -> None:
    # the SDK's own "good case": a threshold written by the real analyzer, a value from ours
    assert not beyond("GreaterThanThreshold", 0.3336493360980098, 0.33364933609800973)
    assert beyond("GreaterThanThreshold", 0.3337, 0.33364933609800973)
    assert beyond("GreaterThanOrEqualToThreshold", 0.3336493360980098, 0.33364933609800973)
    assert not beyond("LessThanThreshold", -3.208758170289027, -3.208758170289026)


def test_json_lines_are_flattened_and_a_headerless_csv_is_named_like_spark(tmp_path: Path) -> None:
    records = [{"id": i, "user": {"country": "fr" if i % 2 else "de"}, "score": i / 2} for i in range(20)]
    files = _monitor(
        tmp_path / "json", {"a.jsonl": "\n".join(json.dumps(r) for r in records)}, {"json": {"lines": True}}
    )
    types = {f["name"]: f["inferred_type"] for f in files["statistics.json"]["features"]}
    assert types == {"id": "Integral", "user.country": "String", "score": "Fractional"}
    files = _monitor(
        tmp_path / "csv", {"part-0.csv": "1,a\n2,b\n", "part-1.csv": "3,a\n"}, {"csv": {"header": False}}
    )
    statistics = files["statistics.json"]
    assert statistics["dataset"] == {"item_count": 3}
    assert [f["name"] for f in statistics["features"]] == ["_c0", "_c1"]


def test_comparison_methods_follow_the_features_overrides(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    baseline = pd.DataFrame({"x": rng.normal(0, 1, 1000), "c": rng.choice(["a", "b"], 1000, p=[0.5, 0.5])})
    files = _monitor(
        tmp_path / "baseline", {"b.csv": baseline.to_csv(index=False)}, {"csv": {"header": True}}
    )
    constraints = files["constraints.json"]
    for feature in constraints["features"]:
        feature["monitoringConfigOverrides"] = (
            {"comparison_method": "Simple", "comparison_threshold": 0.3}
            if feature["name"] == "x"
            else {"categorical_drift_method": "ChiSquared", "categorical_comparison_threshold": 0.01}
        )
    (tmp_path / "constraints.json").write_text(json.dumps(constraints))
    (tmp_path / "statistics.json").write_text(json.dumps(files["statistics.json"]))
    shifted = pd.DataFrame({"x": rng.normal(0.5, 1, 1000), "c": rng.choice(["a", "b"], 1000, p=[0.6, 0.4])})
    result = _monitor(
        tmp_path / "current",
        {"c.csv": shifted.to_csv(index=False)},
        {"csv": {"header": True}},
        baseline_constraints=str(tmp_path / "constraints.json"),
        baseline_statistics=str(tmp_path / "statistics.json"),
    )
    violations = result["constraint_violations.json"]["violations"]
    # x moved by half a deviation (a bucket distance near 0.2 < 0.3: no violation with Simple at 0.3);
    # c's shares moved from 50/50 to 60/40 over 1000 rows: chi-squared's p-value is far below 0.01
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("c", "baseline_drift_check")
    ]
    assert "chi-squared p-value" in violations[0]["description"]


def test_a_post_analytics_script_runs_after_the_analysis(tmp_path: Path) -> None:
    script = tmp_path / "post.py"
    marker = tmp_path / "output" / "seen.json"
    script.write_text(
        "import json, os\n"
        "def postprocess_handler():\n"
        f"    stats = json.load(open({str(tmp_path / 'output' / 'statistics.json')!r}))\n"
        f"    json.dump({{'rows': stats['dataset']['item_count']}}, open({str(marker)!r}, 'w'))\n"
    )
    files = _monitor(
        tmp_path,
        {"d.csv": "a\n1\n2\n"},
        {"csv": {"header": True}},
        post_analytics_processor_script=str(script),
    )
    assert files["seen.json"] == {"rows": 2}


@pytest.mark.parametrize(
    ("dataset_format", "env", "message"),
    [
        (
            {"csv": {"header": True}},
            {"record_preprocessor_script": "/opt/ml/pre.py"},
            "record_preprocessor_script is not supported",
        ),
        (
            {"sagemakerCaptureJson": {}},
            {},
            "sagemakerCaptureJson (endpoint data-capture files) is not supported",
        ),
        (
            {"csv": {"header": True}},
            {"analysis_type": "MODEL_QUALITY", "problem_type": "Ranking"},
            "problem_type 'Ranking'",
        ),
    ],
)
def test_what_the_local_analyzer_refuses_it_names(
    tmp_path: Path, dataset_format: dict[str, Any], env: dict[str, str], message: str
) -> None:
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _monitor(tmp_path, {"d.csv": "a\n1\n"}, dataset_format, **env)


def _bias_result(metric: str, value: float) -> dict[str, Any]:
    group = {
        "value_or_threshold": "(0.5, 0.97]",
        "metrics": [{"name": metric, "description": "", "value": value}],
    }
    return {
        "post_training_bias_metrics": {
            "label": "y",
            "facets": {"f": [group]},
            "label_value_or_threshold": "1",
        }
    }


def test_bias_drift_is_distance_from_the_ideal_value() -> None:
    # DI's ideal is 1: 0.95 is closer to fair than a baseline of 1.1, 0.8 is farther
    assert clarify.violations(_bias_result("DI", 0.95), _bias_result("DI", 1.1)) == []
    [violation] = clarify.violations(_bias_result("DI", 0.8), _bias_result("DI", 1.1))
    assert (violation["metric_name"], violation["facet_value"]) == ("DI", "(0.5, 0.97]")
    # other metrics' ideal is 0; the interval's upper end (the data's maximum) may differ
    current = _bias_result("DPPL", -0.2)
    current["post_training_bias_metrics"]["facets"]["f"][0]["value_or_threshold"] = "(0.5, 0.99]"
    assert [v["metric_name"] for v in clarify.violations(current, _bias_result("DPPL", 0.1))] == ["DPPL"]


def test_unsupported_clarify_methods_are_refused_by_name() -> None:
    frame = pd.DataFrame({"y": [0, 1], "f": [0.1, 0.9]})
    config = {"label": "y", "methods": {"pdp": {"grid_resolution": 5}}}
    with pytest.raises(AnalysisError, match="method 'pdp' is not supported by the local Clarify analyzer"):
        clarify.analyze(config, frame, Path("/nonexistent"), None)
