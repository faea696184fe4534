"""The baseline lifecycle through the model registry: a check's properties registered as a model
version's DriftCheckBaselines, then found there by the next pipeline's check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pipelines.objects import LocalObjectStore
from sagemaker.workflow.parameters import ParameterBoolean
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.quality_check_step import QualityCheckStep
from sagemaker.workflow.step_collections import RegisterModel

from tests.checks.conftest import Runner, data_quality_step, register_checked_model, upload_csv
from tests.sdk_integ.upstream_plugin import BUCKET, ROLE

GROUP = "checks-lifecycle"


def _dataset(objects: LocalObjectStore, key: str, *, seed: int, shift: float) -> str:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(shift, 1.0, 1500), "y": rng.integers(0, 5, 1500)})
    return upload_csv(objects, f"lifecycle/{key}", frame)


def _check(
    session: PipelineSession, dataset: str, output: str, *, skip: bool | ParameterBoolean, register: bool
) -> QualityCheckStep:
    return data_quality_step(
        session,
        "DataQualityCheck",
        dataset,
        output,
        skip_check=skip,
        register_new_baseline=register,
        model_package_group_name=GROUP,
    )


def _register(session: PipelineSession, check: QualityCheckStep) -> RegisterModel:
    return register_checked_model(
        session, check, group=GROUP, role=ROLE, model_data=f"s3://{BUCKET}/lifecycle/model.tar.gz"
    )


def test_registered_drift_check_baselines_are_the_next_checks_baseline(
    session: PipelineSession, run: Runner, objects: LocalObjectStore
) -> None:
    first_output = f"s3://{BUCKET}/lifecycle/first"
    check = _check(
        session, _dataset(objects, "first.csv", seed=31, shift=0.0), first_output, skip=True, register=True
    )
    first = run(
        Pipeline(name="lifecycle-first", steps=[check, _register(session, check)], sagemaker_session=session)
    )
    assert first.status == "Succeeded", [s.get("FailureReason") for s in first.document["Steps"]]
    package_arn = first.step("RegisterModel-RegisterModel")["Metadata"]["RegisterModel"]["Arn"]
    sagemaker = session.sagemaker_client
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    quality = package["DriftCheckBaselines"]["ModelDataQuality"]
    assert quality["Statistics"]["S3Uri"] == f"{first_output}/statistics.json"
    assert quality["Constraints"]["S3Uri"] == f"{first_output}/constraints.json"
    assert (
        package["ModelMetrics"]["ModelDataQuality"]["Constraints"]["S3Uri"]
        == f"{first_output}/constraints.json"
    )

    # The next run checks against the registry's baseline and hands it on (RegisterNewBaseline false)
    skip = ParameterBoolean(name="SkipCheck", default_value=False)
    second_output = f"s3://{BUCKET}/lifecycle/second"
    drifted = _dataset(objects, "second.csv", seed=32, shift=3.0)
    check = _check(session, drifted, second_output, skip=skip, register=False)
    second_pipeline = Pipeline(
        name="lifecycle-second",
        parameters=[skip],
        steps=[check, _register(session, check)],
        sagemaker_session=session,
    )
    second = run(second_pipeline)
    assert second.status == "Failed"
    step = second.step("DataQualityCheck")
    assert "x: baseline_drift_check" in step["FailureReason"]
    metadata = step["Metadata"]["QualityCheck"]
    assert metadata["ModelPackageGroupName"] == GROUP
    assert metadata["BaselineUsedForDriftCheckConstraints"] == f"{first_output}/constraints.json"
    assert "RegisterModel-RegisterModel" not in {s["StepName"] for s in second.document["Steps"]}

    # Skipping the check, the registry's baseline is still the one registered with the new version
    skipped = run(second_pipeline, SkipCheck="true")
    assert skipped.status == "Succeeded", [s.get("FailureReason") for s in skipped.document["Steps"]]
    arn = skipped.step("RegisterModel-RegisterModel")["Metadata"]["RegisterModel"]["Arn"]
    latest = sagemaker.describe_model_package(ModelPackageName=arn)
    assert latest["ModelPackageVersion"] == package["ModelPackageVersion"] + 1
    assert latest["DriftCheckBaselines"]["ModelDataQuality"] == quality
    assert (
        latest["ModelMetrics"]["ModelDataQuality"]["Statistics"]["S3Uri"]
        == f"{second_output}/statistics.json"
    )
    assert json.loads(objects.get(f"{second_output}/statistics.json"))["dataset"]["item_count"] == 1500
