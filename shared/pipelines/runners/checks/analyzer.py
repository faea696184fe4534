"""The check job's program: the local stand-in for the Model Monitor analyzer and Clarify images.

It runs inside the job's sandbox (``_analyzer.py model-monitor|clarify``) and keeps their
container contracts, so the files it writes are what the real images write:

* ``model-monitor`` (Guide ``model-monitor-byoc-contract-inputs``/``-outputs``): reads
  ``dataset_source``, ``dataset_format``, ``output_path``, ``analysis_type`` (``MODEL_QUALITY`` or
  data quality), the model-quality attributes, ``categorical_drift_method`` and, for a drift
  check, ``baseline_constraints``/``baseline_statistics`` (local file paths); writes
  ``statistics.json``, ``constraints.json`` and, when checking, ``constraint_violations.json``.
  ``post_analytics_processor_script``'s ``postprocess_handler()`` runs after the analysis;
  ``record_preprocessor_script`` (a per-record hook for data-capture records) is refused.
* ``clarify``: reads ``/opt/ml/processing/input/config/analysis_config.json`` and the dataset in
  ``/opt/ml/processing/input/data``, writes ``analysis.json`` (and ``explanations_shap/``) to
  ``/opt/ml/processing/output``; ``baseline_constraints`` (a baseline ``analysis.json``) turns on
  the drift check.

Either way the job ends by writing ``/opt/ml/output/message`` (``Completed: ...`` or
``CompletedWithViolations: Job completed successfully with N violations.``); a problem with the
inputs is written to ``/opt/ml/output/failure`` and the job exits 1, which fails the step with
that text.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.runners.checks.errors import AnalysisError

VIOLATIONS_FILE = "constraint_violations.json"
MESSAGE_FILE = Path("/opt/ml/output/message")
FAILURE_FILE = Path("/opt/ml/output/failure")
CLARIFY_CONFIG = Path("/opt/ml/processing/input/config/analysis_config.json")
CLARIFY_DATA = Path("/opt/ml/processing/input/data")
CLARIFY_OUTPUT = Path("/opt/ml/processing/output")


class AnalyzerError(AnalysisError):
    """The job cannot produce its analysis; the message is the job's failure reason."""


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def read_json(path: str | Path, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AnalyzerError(f"the {what} file {path} does not exist") from exc
    except ValueError as exc:
        raise AnalyzerError(f"the {what} file {Path(path).name} is not valid JSON: {exc}") from exc


def model_monitor(env: Mapping[str, str]) -> int | None:
    """Model Monitor's analysis; the number of violations, or None when nothing was checked."""
    from pipelines.runners.checks.datasets import read_monitor_dataset

    if env.get("record_preprocessor_script"):
        raise AnalyzerError(
            "record_preprocessor_script is not supported by the local analyzer (it preprocesses "
            "endpoint data-capture records); baseline on a prepared dataset instead"
        )
    source = Path(env.get("dataset_source", "/opt/ml/processing/input/baseline_dataset_input"))
    output = Path(env.get("output_path", "/opt/ml/processing/output"))
    frame = read_monitor_dataset(source, env.get("dataset_format"))
    print(f"read {len(frame)} rows and {frame.shape[1]} columns from {source}", flush=True)
    baseline_constraints = env.get("baseline_constraints")
    baseline_statistics = env.get("baseline_statistics")
    found: list[dict[str, Any]] | None = None
    if env.get("analysis_type") == "MODEL_QUALITY":
        from pipelines.runners.checks import model_quality

        inputs = model_quality.Inputs(frame, env)
        statistics = model_quality.statistics(inputs)
        values = statistics[model_quality.METRICS_KEY[inputs.problem_type]]
        constraints = model_quality.suggest_constraints(inputs.problem_type, values)
        if baseline_constraints:
            baseline = read_json(baseline_constraints, "baseline constraints")
            found = model_quality.violations(inputs.problem_type, values, baseline)
    else:
        from pipelines.runners.checks import data_quality

        columns = data_quality.columns_of(frame)
        statistics = data_quality.statistics(columns, len(frame))
        constraints = data_quality.suggest_constraints(
            columns, categorical_drift_method=env.get("categorical_drift_method") or None
        )
        if baseline_constraints:
            baseline = read_json(baseline_constraints, "baseline constraints")
            stats = read_json(baseline_statistics, "baseline statistics") if baseline_statistics else None
            found = data_quality.violations(columns, baseline, stats)
    write_json(output / "statistics.json", statistics)
    write_json(output / "constraints.json", constraints)
    if found is not None:
        write_json(output / VIOLATIONS_FILE, {"violations": found})
    script = env.get("post_analytics_processor_script")
    if script:
        _run_postprocessor(script)
    return None if found is None else len(found)


def _run_postprocessor(path: str) -> None:
    """Model Monitor's post-analytics hook: the script's ``postprocess_handler()`` runs after the
    analysis, free to read and rewrite the output files."""
    spec = importlib.util.spec_from_file_location("post_analytics_processor", path)
    if spec is None or spec.loader is None or not Path(path).is_file():
        raise AnalyzerError(f"post_analytics_processor_script {path} does not exist")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = getattr(module, "postprocess_handler", None)
    if not callable(handler):
        raise AnalyzerError(f"post_analytics_processor_script {path} defines no postprocess_handler()")
    handler()


def clarify(env: Mapping[str, str]) -> int | None:
    from pipelines.runners.checks import clarify as analysis
    from pipelines.runners.checks.datasets import read_clarify_dataset

    config = read_json(CLARIFY_CONFIG, "analysis config")
    if not isinstance(config, dict):
        raise AnalyzerError("the analysis config must be a JSON object")
    frame = read_clarify_dataset(CLARIFY_DATA, config)
    print(f"read {len(frame)} rows and {frame.shape[1]} columns from {CLARIFY_DATA}", flush=True)
    url = env.get(analysis.ENDPOINT_VARIABLE)
    predict = analysis.EndpointPredictor.of(url, config.get("predictor") or {}).predict if url else None
    result = analysis.analyze(config, frame, CLARIFY_OUTPUT, predict)
    write_json(CLARIFY_OUTPUT / "analysis.json", result)
    baseline_path = env.get("baseline_constraints")
    if not baseline_path:
        return None
    baseline = read_json(baseline_path, "baseline analysis")
    found = analysis.violations(result, baseline)
    write_json(CLARIFY_OUTPUT / VIOLATIONS_FILE, {"version": "1.0", "violations": found})
    return len(found)


ANALYZERS = {"model-monitor": model_monitor, "clarify": clarify}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ANALYZERS:
        print(f"usage: _analyzer.py {'|'.join(ANALYZERS)}", file=sys.stderr)
        return 2
    try:
        count = ANALYZERS[args[0]](os.environ)
    except AnalysisError as exc:
        print(f"analysis failed: {exc}", file=sys.stderr, flush=True)
        FAILURE_FILE.parent.mkdir(parents=True, exist_ok=True)
        FAILURE_FILE.write_text(str(exc), encoding="utf-8")
        return 1
    if count:
        message = f"CompletedWithViolations: Job completed successfully with {count} violations."
    else:
        message = "Completed: Job completed successfully with no violations."
    print(message, flush=True)
    MESSAGE_FILE.parent.mkdir(parents=True, exist_ok=True)
    MESSAGE_FILE.write_text(message, encoding="utf-8")
    return 0
