"""ClarifyCheck MODEL_BIAS and MODEL_EXPLAINABILITY: the step serves its ModelName on a shadow
endpoint (a local model server) and the job queries it, through ``pipelines run`` on SDK v2
definitions."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from pipelines.objects import LocalObjectStore
from sagemaker.clarify import BiasConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig
from sagemaker.model import Model
from sagemaker.workflow.clarify_check_step import (
    ClarifyCheckStep,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sklearn.linear_model import LogisticRegression

from tests.checks.conftest import Runner, check_job_config, clarify_data_config, upload_csv
from tests.sdk_integ.upstream_plugin import BUCKET, ROLE

SKLEARN_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
INFERENCE = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    return model.predict_proba(data)[:, 1]
"""


def _data(rows: int, seed: int) -> pd.DataFrame:
    """F1 drives the label strongly, F2 weakly, F3 not at all."""
    rng = np.random.default_rng(seed)
    features = rng.normal(0.0, 1.0, (rows, 3))
    logits = 3.0 * features[:, 0] + 0.5 * features[:, 1]
    label = (rng.random(rows) < 1 / (1 + np.exp(-logits))).astype(int)
    return pd.DataFrame({"Label": label, "F1": features[:, 0], "F2": features[:, 1], "F3": features[:, 2]})


def _model_data(objects: LocalObjectStore, frame: pd.DataFrame) -> str:
    model = LogisticRegression().fit(frame[["F1", "F2", "F3"]].to_numpy(), frame["Label"].to_numpy())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("model.joblib", _joblib_bytes(model)), ("code/inference.py", INFERENCE.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    uri = f"s3://{BUCKET}/clarify-model/model.tar.gz"
    objects.put(uri, buffer.getvalue())
    return uri


def _joblib_bytes(value: Any) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    return buffer.getvalue()


def test_model_bias_and_explainability_query_the_model_on_a_shadow_endpoint(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    train = _data(400, seed=41)
    model = Model(
        image_uri=SKLEARN_IMAGE, model_data=_model_data(objects, train), role=ROLE, sagemaker_session=session
    )
    create = ModelStep(name="CreateModel", step_args=model.create(instance_type="ml.m5.large"))
    model_config = ModelConfig(
        model_name=create.properties.ModelName,
        instance_count=1,
        instance_type="ml.m5.large",
        content_type="text/csv",
        accept_type="text/csv",
    )
    job_config = check_job_config(session, "ml.c5.xlarge")
    check = _data(60, seed=42)
    dataset = upload_csv(objects, "clarify-model/check.csv", check, header=False)

    bias = ClarifyCheckStep(
        name="ModelBias",
        clarify_check_config=ModelBiasCheckConfig(
            data_config=clarify_data_config(dataset, "clarify-model/bias"),
            data_bias_config=BiasConfig(
                label_values_or_threshold=[1], facet_name="F3", facet_values_or_threshold=[0.0]
            ),
            model_config=model_config,
            model_predicted_label_config=ModelPredictedLabelConfig(probability_threshold=0.5),
        ),
        check_job_config=job_config,
        skip_check=True,
        register_new_baseline=True,
    )
    # a baseline whose ranking is the reverse of the model's: the attribution check must flag it
    reversed_baseline = f"s3://{BUCKET}/clarify-model/reversed/analysis.json"
    objects.put(
        reversed_baseline,
        json.dumps(
            {
                "version": "1.0",
                "explanations": {
                    "kernel_shap": {
                        "label0": {
                            "global_shap_values": {"F1": 0.01, "F2": 0.1, "F3": 0.5},
                            "expected_value": 0.5,
                        }
                    }
                },
            }
        ).encode(),
    )
    explainability = ClarifyCheckStep(
        name="ModelExplainability",
        clarify_check_config=ModelExplainabilityCheckConfig(
            data_config=clarify_data_config(dataset, "clarify-model/explainability"),
            model_config=model_config,
            explainability_config=SHAPConfig(
                baseline=[[0.0, 0.0, 0.0]], num_samples=20, agg_method="mean_abs", seed=1
            ),
        ),
        check_job_config=job_config,
        skip_check=False,
        register_new_baseline=True,
        fail_on_violation=False,
        supplied_baseline_constraints=reversed_baseline,
    )
    pipeline = Pipeline(name="clarify-model", steps=[create, bias, explainability], sagemaker_session=session)
    definition = json.loads(pipeline.definition())
    assert {s["Name"]: s.get("ModelName") for s in definition["Steps"]}["ModelBias"] == {
        "Get": "Steps.CreateModel-CreateModel.ModelName"
    }
    result = run(pipeline)
    assert result.status == "Succeeded", "\n".join(
        str(s.get("FailureReason")) for s in result.document["Steps"]
    )

    bias_metadata = result.step("ModelBias")["Metadata"]["ClarifyCheck"]
    assert bias_metadata["CheckType"] == "MODEL_BIAS"
    analysis = json.loads(objects.get(bias_metadata["CalculatedBaselineConstraints"]))
    [facet] = analysis["post_training_bias_metrics"]["facets"]["F3"]
    metrics = {m["name"]: m for m in facet["metrics"]}
    assert sorted(metrics) == sorted(
        ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "GE", "RD", "SD", "TE"]
    )
    # DPPL by its definition, from the model's own predictions at the 0.5 threshold
    fitted = LogisticRegression().fit(train[["F1", "F2", "F3"]].to_numpy(), train["Label"].to_numpy())
    predicted = fitted.predict_proba(check[["F1", "F2", "F3"]].to_numpy())[:, 1] > 0.5
    d, a = check.F3 > 0.0, check.F3 <= 0.0
    assert metrics["DPPL"]["value"] == pytest.approx(predicted[a].mean() - predicted[d].mean())
    assert "error" in metrics["CDDPL"]  # no group variable: Clarify reports the error, not a value

    explain_metadata = result.step("ModelExplainability")["Metadata"]["ClarifyCheck"]
    explanation = json.loads(objects.get(explain_metadata["CalculatedBaselineConstraints"]))
    shap_values = explanation["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    assert shap_values["F1"] > shap_values["F2"] > shap_values["F3"] >= 0.0
    report = json.loads(objects.get(explain_metadata["ViolationReport"]))
    [violation] = report["violations"]
    assert violation["constraint_check_type"] == "feature_attribution_drift_check"
    assert violation["label"] == "label0" and "exceeds threshold 0.9" in violation["description"]
    local = objects.get(
        f"s3://{BUCKET}/clarify-model/explainability/result/explanations_shap/out.csv"
    ).decode()
    assert local.splitlines()[0] == "F1,F2,F3" and len(local.splitlines()) == 61
