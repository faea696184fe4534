"""ClarifyCheck through ``pipelines run`` on SDK v2 definitions: DATA_BIAS's pre-training metrics,
the bias drift check, and the baseline properties."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pipelines.objects import LocalObjectStore
from sagemaker.clarify import BiasConfig
from sagemaker.workflow.clarify_check_step import ClarifyCheckStep, DataBiasCheckConfig
from sagemaker.workflow.parameters import ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession

from tests.checks.conftest import Runner, check_job_config, clarify_data_config, upload_csv
from tests.sdk_integ.upstream_plugin import BUCKET


def _dataset(rows: int, *, seed: int, bias: float) -> pd.DataFrame:
    """Label depends on F1 by ``bias``; F2 is a small-integer group variable."""
    rng = np.random.default_rng(seed)
    f1 = rng.random(rows)
    f2 = rng.integers(0, 4, rows)
    label = (rng.random(rows) < 0.4 + bias * (f1 > 0.5)).astype(int)
    return pd.DataFrame({"Label": label, "F1": f1, "F2": f2, "F3": rng.normal(0, 1, rows)})


def _data_bias_step(
    session: PipelineSession, name: str, dataset: str, supplied: Any, *, skip_check: bool, register: bool
) -> ClarifyCheckStep:
    config = DataBiasCheckConfig(
        data_config=clarify_data_config(dataset, f"clarify/{name}"),
        data_bias_config=BiasConfig(
            label_values_or_threshold=[1], facet_name="F1", facet_values_or_threshold=[0.5], group_name="F2"
        ),
    )
    return ClarifyCheckStep(
        name=name,
        clarify_check_config=config,
        check_job_config=check_job_config(session, "ml.c5.xlarge"),
        skip_check=skip_check,
        register_new_baseline=register,
        supplied_baseline_constraints=supplied,
    )


def _metrics(analysis: dict[str, Any]) -> dict[str, float]:
    [facet] = analysis["pre_training_bias_metrics"]["facets"]["F1"]
    return {m["name"]: m["value"] for m in facet["metrics"]}


def test_data_bias_computes_every_pre_training_metric_and_checks_drift(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    frame = _dataset(500, seed=21, bias=0.0)
    baseline_step = _data_bias_step(
        session,
        "DataBiasBaseline",
        upload_csv(objects, "clarify/fair.csv", frame, header=False),
        None,
        skip_check=True,
        register=True,
    )
    result = run(Pipeline(name="bias-baseline", steps=[baseline_step], sagemaker_session=session))
    assert result.status == "Succeeded", result.step("DataBiasBaseline").get("FailureReason")
    metadata = result.step("DataBiasBaseline")["Metadata"]["ClarifyCheck"]
    analysis_uri = f"s3://{BUCKET}/clarify/DataBiasBaseline/result/analysis.json"
    assert metadata["CalculatedBaselineConstraints"] == analysis_uri
    assert metadata["BaselineUsedForDriftCheckConstraints"] == analysis_uri
    assert metadata["CheckType"] == "DATA_BIAS"
    analysis = json.loads(objects.get(analysis_uri))
    assert analysis["version"] == "1.0"
    section = analysis["pre_training_bias_metrics"]
    assert section["label"] == "Label" and section["label_value_or_threshold"] == "1"
    [facet] = section["facets"]["F1"]
    assert facet["value_or_threshold"] == f"(0.5, {frame['F1'].max()}]"
    metrics = _metrics(analysis)
    assert sorted(metrics) == ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
    # CI and DPL by their definitions: d = the facet's rows (F1 > 0.5), a = the others
    d, a = frame[frame.F1 > 0.5], frame[frame.F1 <= 0.5]
    assert metrics["CI"] == pytest.approx((len(a) - len(d)) / len(frame))
    assert metrics["DPL"] == pytest.approx(a.Label.mean() - d.Label.mean())
    assert metrics["TVD"] == pytest.approx(abs(metrics["DPL"]))  # two label values: TVD = |DPL|
    descriptions = {m["name"]: m["description"] for m in facet["metrics"]}
    assert descriptions["KL"] == "Kullback-Liebler Divergence (KL)"

    # the biased data drifts from the fair baseline: DPL and friends move away from 0
    supplied = ParameterString(name="BaselineConstraints", default_value="")
    biased = _data_bias_step(
        session,
        "DataBiasCheck",
        upload_csv(objects, "clarify/biased.csv", _dataset(500, seed=22, bias=0.4), header=False),
        supplied,
        skip_check=False,
        register=False,
    )
    pipeline = Pipeline(name="bias-check", parameters=[supplied], steps=[biased], sagemaker_session=session)
    checked = run(pipeline, BaselineConstraints=analysis_uri)
    assert checked.status == "Failed", json.dumps(checked.document["Steps"])
    step = checked.step("DataBiasCheck")
    assert step["FailureReason"].startswith("ClientError: Clarify check failed. See violation report")
    report = json.loads(objects.get(step["Metadata"]["ClarifyCheck"]["ViolationReport"]))
    assert report["version"] == "1.0"
    drifted = {v["metric_name"] for v in report["violations"]}
    assert {"DPL", "KL", "JS", "TVD", "KS"} <= drifted
    assert all(
        v["constraint_check_type"] == "bias_drift_check" and v["facet"] == "F1" for v in report["violations"]
    )
    assert "DPL of facet F1=" in step["FailureReason"]
    assert step["Metadata"]["ClarifyCheck"]["BaselineUsedForDriftCheckConstraints"] == analysis_uri
