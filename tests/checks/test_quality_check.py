"""QualityCheck DATA_QUALITY and MODEL_QUALITY through ``pipelines run`` on SDK v2 definitions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pipelines.objects import LocalObjectStore
from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.quality_check_step import ModelQualityCheckConfig, QualityCheckStep

from tests.checks.conftest import Runner, check_job_config, data_quality_step, upload_csv
from tests.sdk_integ.upstream_plugin import BUCKET


def _frame(rows: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows),
            "income": np.round(rng.normal(50.0 + shift, 10.0, rows), 3),
            "segment": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]),
        }
    )


def _json(objects: LocalObjectStore, uri: str) -> Any:
    return json.loads(objects.get(uri))


def test_data_quality_baseline_files_have_model_monitors_shapes(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    frame = _frame(300, seed=1)
    frame.loc[:9, "income"] = np.nan  # ten missing values
    dataset = upload_csv(objects, "dq/shapes/data.csv", frame)
    step = data_quality_step(
        session,
        "DataQualityBaseline",
        dataset,
        f"s3://{BUCKET}/dq/shapes/result",
        skip_check=True,
        register_new_baseline=True,
    )
    result = run(Pipeline(name="dq-shapes", steps=[step], sagemaker_session=session))
    assert result.status == "Succeeded", result.document
    metadata = result.step("DataQualityBaseline")["Metadata"]["QualityCheck"]
    assert metadata["CalculatedBaselineStatistics"] == f"s3://{BUCKET}/dq/shapes/result/statistics.json"
    assert metadata["CalculatedBaselineConstraints"] == f"s3://{BUCKET}/dq/shapes/result/constraints.json"
    assert metadata["BaselineUsedForDriftCheckStatistics"] == metadata["CalculatedBaselineStatistics"]
    assert metadata["SkipCheck"] is True and metadata["RegisterNewBaseline"] is True
    assert "ViolationReport" not in metadata
    assert not objects.exists(f"s3://{BUCKET}/dq/shapes/result/constraint_violations.json")
    # the check job is a Processing job like any other: pipelines logs shows its output
    assert metadata["CheckJobArn"].split("/")[-1].endswith("-0")
    execution = result.document["Execution"]["PipelineExecutionId"]
    logs = run.cli("logs", execution, "DataQualityBaseline")
    assert "read 300 rows and 3 columns" in logs and "Completed: Job completed successfully" in logs

    statistics = _json(objects, metadata["CalculatedBaselineStatistics"])
    assert statistics["dataset"] == {"item_count": 300}
    features = {f["name"]: f for f in statistics["features"]}
    assert [features[n]["inferred_type"] for n in ("age", "income", "segment")] == [
        "Integral",
        "Fractional",
        "String",
    ]
    income = features["income"]["numerical_statistics"]
    present = frame["income"].dropna()
    assert income["common"] == {"num_present": 290, "num_missing": 10}
    assert income["mean"] == pytest.approx(present.mean())
    assert income["std_dev"] == pytest.approx(present.std(ddof=0))
    assert (income["min"], income["max"]) == (present.min(), present.max())
    buckets = income["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10 and sum(b["count"] for b in buckets) == 290
    assert sorted(income["distribution"]["kll"]["sketch"]["data"][0]) == sorted(present.tolist())
    segment = features["segment"]["string_statistics"]
    assert segment["distinct_count"] == 3
    counts = {b["value"]: b["count"] for b in segment["distribution"]["categorical"]["buckets"]}
    assert counts == frame["segment"].value_counts().to_dict()

    constraints = _json(objects, metadata["CalculatedBaselineConstraints"])
    suggested = {f["name"]: f for f in constraints["features"]}
    assert suggested["age"]["completeness"] == 1.0
    assert 0.9 < suggested["income"]["completeness"] < 290 / 300  # a lower bound of the observed share
    assert suggested["age"]["num_constraints"] == {"is_non_negative": True}
    assert sorted(suggested["segment"]["string_constraints"]["domains"]) == ["a", "b", "c"]
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1


def _baseline(
    session: PipelineSession, run: Runner, objects: LocalObjectStore, name: str, frame: pd.DataFrame
) -> dict[str, Any]:
    """Baseline ``frame`` with a SkipCheck/RegisterNewBaseline step; its QualityCheck metadata."""
    step = data_quality_step(
        session,
        "Baseline",
        upload_csv(objects, f"dq/{name}/baseline.csv", frame),
        f"s3://{BUCKET}/dq/{name}/baseline",
        skip_check=True,
        register_new_baseline=True,
    )
    result = run(Pipeline(name=f"{name}-baseline", steps=[step], sagemaker_session=session))
    assert result.status == "Succeeded", result.document
    return dict(result.step("Baseline")["Metadata"]["QualityCheck"])


def _checking_pipeline(session: PipelineSession, name: str, dataset: str) -> Pipeline:
    """A DATA_QUALITY step whose supplied baseline and flags are parameters, as the SDK's tests build it."""
    statistics = ParameterString(name="SuppliedBaselineStatisticsUri", default_value="")
    constraints = ParameterString(name="SuppliedBaselineConstraintsUri", default_value="")
    fail = ParameterBoolean(name="FailOnViolation", default_value=True)
    skip = ParameterBoolean(name="SkipCheck", default_value=False)
    step = data_quality_step(
        session,
        "DataQualityCheck",
        dataset,
        f"s3://{BUCKET}/dq/{name}/check",
        skip_check=skip,
        register_new_baseline=False,
        fail_on_violation=fail,
        supplied_baseline_statistics=statistics,
        supplied_baseline_constraints=constraints,
    )
    return Pipeline(
        name=f"{name}-check",
        parameters=[statistics, constraints, fail, skip],
        steps=[step],
        sagemaker_session=session,
    )


def test_data_quality_drift_check_passes_on_like_data_and_fails_naming_violations(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    baseline = _baseline(session, run, objects, "drift", _frame(2000, seed=2))
    supplied = {
        "SuppliedBaselineStatisticsUri": baseline["CalculatedBaselineStatistics"],
        "SuppliedBaselineConstraintsUri": baseline["CalculatedBaselineConstraints"],
    }
    like = _checking_pipeline(
        session, "drift-like", upload_csv(objects, "dq/drift/like.csv", _frame(2000, seed=3))
    )
    good = run(like, **supplied)
    assert good.status == "Succeeded", good.step("DataQualityCheck").get("FailureReason")
    metadata = good.step("DataQualityCheck")["Metadata"]["QualityCheck"]
    assert "ViolationReport" not in metadata
    # RegisterNewBaseline false: the supplied baseline is handed on unchanged
    assert metadata["BaselineUsedForDriftCheckStatistics"] == supplied["SuppliedBaselineStatisticsUri"]
    assert metadata["BaselineUsedForDriftCheckConstraints"] == supplied["SuppliedBaselineConstraintsUri"]
    assert metadata["CalculatedBaselineConstraints"] == f"s3://{BUCKET}/dq/drift-like/check/constraints.json"
    report = _json(objects, f"s3://{BUCKET}/dq/drift-like/check/constraint_violations.json")
    assert report == {"violations": []}

    drifted = _frame(2000, seed=4, shift=25.0).rename(columns={"age": "years"})
    drifted["segment"] = np.where(np.arange(2000) < 200, "z", drifted["segment"])
    drifted.loc[:499, "income"] = np.nan
    bad_pipeline = _checking_pipeline(session, "drift-bad", upload_csv(objects, "dq/drift/bad.csv", drifted))
    bad = run(bad_pipeline, **supplied)
    assert bad.status == "Failed" and bad.exit_code == 1
    step = bad.step("DataQualityCheck")
    assert step["StepStatus"] == "Failed"
    reason = step["FailureReason"]
    assert reason.startswith("ClientError: Quality check failed. See violation report")
    report_uri = f"s3://{BUCKET}/dq/drift-bad/check/constraint_violations.json"
    assert step["Metadata"]["QualityCheck"]["ViolationReport"] == report_uri
    violations = _json(objects, report_uri)["violations"]
    found = {(v["feature_name"], v["constraint_check_type"]) for v in violations}
    assert found == {
        ("age", "missing_column_check"),
        ("years", "extra_column_check"),
        ("income", "completeness_check"),
        ("income", "baseline_drift_check"),
        ("segment", "categorical_values_check"),
    }
    for feature, check in found:
        assert f"{feature}: {check}" in reason

    # FailOnViolation false: the same violations, reported, and the step succeeds
    tolerated = run(bad_pipeline, **supplied, FailOnViolation="false")
    assert tolerated.status == "Succeeded", tolerated.document
    assert tolerated.step("DataQualityCheck")["Metadata"]["QualityCheck"]["ViolationReport"] == report_uri


def test_a_type_change_is_a_data_type_violation(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    baseline = _baseline(session, run, objects, "types", _frame(200, seed=5))
    changed = _frame(200, seed=6).astype({"age": str})
    changed.loc[:19, "age"] = "unknown"  # 10 % of the ages are not integers any more
    pipeline = _checking_pipeline(session, "types", upload_csv(objects, "dq/types/data.csv", changed))
    result = run(
        pipeline,
        SuppliedBaselineStatisticsUri=baseline["CalculatedBaselineStatistics"],
        SuppliedBaselineConstraintsUri=baseline["CalculatedBaselineConstraints"],
    )
    assert result.status == "Failed"
    violations = _json(objects, f"s3://{BUCKET}/dq/types/check/constraint_violations.json")["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("age", "data_type_check")
    ]
    assert "Expected data type: Integral" in violations[0]["description"]
    assert "Only 90.0% of data is Integral" in violations[0]["description"]


def test_skip_check_reads_no_baseline_and_hands_the_supplied_one_on(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    """With SkipCheck the supplied baseline may not exist yet: it is not read, only handed on."""
    dataset = upload_csv(objects, "dq/skip/data.csv", _frame(100, seed=7))
    pipeline = _checking_pipeline(session, "skip", dataset)
    later = {
        "SuppliedBaselineStatisticsUri": f"s3://{BUCKET}/dq/skip/not-yet/statistics.json",
        "SuppliedBaselineConstraintsUri": f"s3://{BUCKET}/dq/skip/not-yet/constraints.json",
    }
    skipped = run(pipeline, **later, SkipCheck="true")
    assert skipped.status == "Succeeded", skipped.document
    metadata = skipped.step("DataQualityCheck")["Metadata"]["QualityCheck"]
    assert metadata["SkipCheck"] is True
    assert metadata["BaselineUsedForDriftCheckConstraints"] == later["SuppliedBaselineConstraintsUri"]
    assert objects.exists(metadata["CalculatedBaselineStatistics"])  # the job ran all the same
    assert not objects.exists(f"s3://{BUCKET}/dq/skip/check/constraint_violations.json")

    checked = run(pipeline, **later)
    assert checked.status == "Failed"
    reason = checked.step("DataQualityCheck")["FailureReason"]
    assert f"the baseline constraints {later['SuppliedBaselineConstraintsUri']}" in reason
    assert "does not exist" in reason


def test_a_check_without_any_previous_baseline_fails_saying_why(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    pipeline = _checking_pipeline(
        session, "nobaseline", upload_csv(objects, "dq/none/data.csv", _frame(50, seed=8))
    )
    result = run(pipeline)
    assert result.status == "Failed"
    reason = result.step("DataQualityCheck")["FailureReason"]
    assert "a previous DATA_QUALITY baseline is required" in reason
    assert "SkipCheck is false" in reason and "RegisterNewBaseline is false" in reason
    assert "no SuppliedBaselineConstraints is given" in reason
    metadata = result.step("DataQualityCheck")["Metadata"]["QualityCheck"]
    assert (metadata["CheckType"], metadata["SkipCheck"], metadata["RegisterNewBaseline"]) == (
        "DATA_QUALITY",
        False,
        False,
    )


def test_a_bad_dataset_fails_the_job_with_the_analyzers_reason(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    uri = f"s3://{BUCKET}/dq/badjson/data.json"
    objects.put(uri, b'{"a": 1}\nnot json\n')
    step = data_quality_step(
        session,
        "DataQualityBaseline",
        uri,
        f"s3://{BUCKET}/dq/badjson/result",
        dataset_format=DatasetFormat.json(lines=True),
        skip_check=True,
        register_new_baseline=True,
    )
    result = run(Pipeline(name="dq-badjson", steps=[step], sagemaker_session=session))
    assert result.status == "Failed"
    reason = result.step("DataQualityBaseline")["FailureReason"]
    assert "ClientError: AlgorithmError: data.json: not valid JSON lines" in reason


def _model_quality_step(
    session: PipelineSession,
    name: str,
    dataset: str,
    problem_type: str,
    *,
    output: str | None = None,
    skip_check: bool = True,
    step_options: dict[str, Any] | None = None,
    **attributes: Any,
) -> QualityCheckStep:
    """A MODEL_QUALITY QualityCheckStep of ``problem_type`` on a CSV ``dataset`` whose columns
    ``attributes`` name, writing to ``s3://BUCKET/mq/<output or name>``; a baseline run
    (RegisterNewBaseline) that skips the check unless ``skip_check`` is false."""
    return QualityCheckStep(
        name=name,
        quality_check_config=ModelQualityCheckConfig(
            baseline_dataset=dataset,
            dataset_format=DatasetFormat.csv(header=True),
            output_s3_uri=f"s3://{BUCKET}/mq/{output or name}",
            problem_type=problem_type,
            **attributes,
        ),
        check_job_config=check_job_config(session),
        skip_check=skip_check,
        register_new_baseline=True,
        **(step_options or {}),
    )


def test_model_quality_metrics_for_each_problem_type(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    rng = np.random.default_rng(11)
    rows = 300
    truth = rng.normal(10.0, 2.0, rows)
    regression = pd.DataFrame({"actual": truth, "predicted": truth + rng.normal(0.0, 0.5, rows)})
    labels = rng.integers(0, 2, rows)
    scores = np.clip(labels * 0.6 + rng.random(rows) * 0.5, 0, 1)
    binary = pd.DataFrame({"label": labels, "score": scores})
    classes = rng.choice(["cat", "dog", "fox"], rows)
    guessed = np.where(rng.random(rows) < 0.7, classes, rng.choice(["cat", "dog", "fox"], rows))
    multiclass = pd.DataFrame({"animal": classes, "guess": guessed})
    steps = [
        _model_quality_step(
            session,
            "Regression",
            upload_csv(objects, "mq/regression.csv", regression),
            "Regression",
            inference_attribute="predicted",
            ground_truth_attribute="actual",
        ),
        _model_quality_step(
            session,
            "Binary",
            upload_csv(objects, "mq/binary.csv", binary),
            "BinaryClassification",
            probability_attribute="score",
            probability_threshold_attribute=0.5,
            ground_truth_attribute="label",
        ),
        _model_quality_step(
            session,
            "Multiclass",
            upload_csv(objects, "mq/multiclass.csv", multiclass),
            "MulticlassClassification",
            inference_attribute="guess",
            ground_truth_attribute="animal",
        ),
    ]
    result = run(Pipeline(name="mq-metrics", steps=steps, sagemaker_session=session))
    assert result.status == "Succeeded", [s.get("FailureReason") for s in result.document["Steps"]]

    def files(step: str) -> tuple[dict[str, Any], dict[str, Any]]:
        metadata = result.step(step)["Metadata"]["QualityCheck"]
        assert metadata["CheckType"] == "MODEL_QUALITY"
        return _json(objects, metadata["CalculatedBaselineStatistics"]), _json(
            objects, metadata["CalculatedBaselineConstraints"]
        )

    statistics, constraints = files("Regression")
    assert statistics["dataset"] == {"item_count": rows}
    metrics = statistics["regression_metrics"]
    errors = regression["predicted"] - regression["actual"]
    assert metrics["mae"]["value"] == pytest.approx(errors.abs().mean())
    assert metrics["rmse"]["value"] == pytest.approx(np.sqrt((errors**2).mean()))
    ss_tot = ((regression["actual"] - regression["actual"].mean()) ** 2).sum()
    assert metrics["r2"]["value"] == pytest.approx(1 - (errors**2).sum() / ss_tot)
    assert isinstance(metrics["mae"]["standard_deviation"], float)  # 300 rows: subsampled
    assert constraints["regression_constraints"]["mse"] == {
        "threshold": metrics["mse"]["value"],
        "comparison_operator": "GreaterThanThreshold",
    }
    assert constraints["regression_constraints"]["r2"]["comparison_operator"] == "LessThanThreshold"

    statistics, constraints = files("Binary")
    metrics = statistics["binary_classification_metrics"]
    predicted = (scores >= 0.5).astype(int)
    true_positive = int(((predicted == 1) & (labels == 1)).sum())
    assert metrics["recall"]["value"] == pytest.approx(true_positive / (labels == 1).sum())
    assert metrics["precision"]["value"] == pytest.approx(true_positive / (predicted == 1).sum())
    assert metrics["confusion_matrix"]["1"]["1"] == true_positive
    assert metrics["recall_best_constant_classifier"]["value"] == 1.0
    assert 0.5 < metrics["auc"]["value"] <= 1.0
    curve = metrics["receiver_operating_characteristic_curve"]
    assert curve["false_positive_rates"][0] == 0.0 and curve["true_positive_rates"][-1] == 1.0
    assert constraints["binary_classification_constraints"]["false_positive_rate"]["comparison_operator"] == (
        "GreaterThanThreshold"
    )

    statistics, _constraints = files("Multiclass")
    metrics = statistics["multiclass_classification_metrics"]
    assert metrics["accuracy"]["value"] == pytest.approx((classes == guessed).mean())
    assert set(metrics["confusion_matrix"]) == {"cat", "dog", "fox"}
    majority = pd.Series(classes).value_counts().iloc[0] / rows
    assert metrics["accuracy_best_constant_classifier"]["value"] == pytest.approx(majority)


def test_model_quality_violation_names_the_metric(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    rng = np.random.default_rng(12)
    truth = rng.normal(0.0, 1.0, 100)
    dataset = upload_csv(objects, "mq/violation.csv", pd.DataFrame({"y": truth, "yhat": truth + 0.3}))
    constraints_uri = f"s3://{BUCKET}/mq/violation-baseline/constraints.json"
    objects.put(
        constraints_uri,
        json.dumps(
            {
                "version": 0.0,
                "regression_constraints": {
                    "mae": {"threshold": 0.5, "comparison_operator": "GreaterThanThreshold"},
                    "mse": {"threshold": 0.05, "comparison_operator": "GreaterThanThreshold"},
                },
            }
        ).encode(),
    )
    step = _model_quality_step(
        session,
        "ModelQualityCheck",
        dataset,
        "Regression",
        output="violation",
        skip_check=False,
        step_options={"supplied_baseline_constraints": constraints_uri},
        inference_attribute="yhat",
        ground_truth_attribute="y",
    )
    result = run(Pipeline(name="mq-violation", steps=[step], sagemaker_session=session))
    assert result.status == "Failed"
    step_record = result.step("ModelQualityCheck")
    assert step_record["FailureReason"].startswith("ClientError: Quality check failed. See violation report")
    violations = _json(objects, step_record["Metadata"]["QualityCheck"]["ViolationReport"])["violations"]
    assert violations == [
        {
            "constraint_check_type": "GreaterThanThreshold",
            "description": violations[0]["description"],
            "metric_name": "mse",
        }
    ]
    assert violations[0]["description"].startswith("Metric mse with 0.09")
    # RegisterNewBaseline: the calculated baseline is the one handed on, even when the check fails
    metadata = step_record["Metadata"]["QualityCheck"]
    assert metadata["BaselineUsedForDriftCheckConstraints"] == metadata["CalculatedBaselineConstraints"]
