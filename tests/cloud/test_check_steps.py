"""QualityCheck and ClarifyCheck steps in the cloud runtime on moto: SDK v2-made definitions, the
container played by :mod:`tests.cloud.check_containers` on moto's processing jobs, and the
Guide's baseline semantics applied by the engine around it (``pipelines.checks``, the same code
the embedded runner uses): the ``CalculatedBaseline*``/``BaselineUsedForDriftCheck*``
properties, ``SkipCheck``, ``RegisterNewBaseline``, ``FailOnViolation``, supplied baselines and
the latest Approved package's ``DriftCheckBaselines``."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
import sagemaker.config
import sagemaker.utils
from botocore.exceptions import ClientError
from pipelines.config import Config
from pipelines.definition import load_definition
from pipelines.engine import StartRequest
from pipelines.engine.resolution import raw_step_fields
from pipelines.objects import LocalObjectStore
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runners.base import StepFailed, StepRequest
from pipelines.runtime.check_steps import prepare_check
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.base import ListQuery
from sagemaker.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig
from sagemaker.model import Model
from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.clarify_check_step import ClarifyCheckStep, DataBiasCheckConfig, ModelBiasCheckConfig
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
from sagemaker.workflow.step_collections import RegisterModel

from tests.checks.conftest import register_checked_model
from tests.cloud.check_containers import CheckContainers
from tests.cloud.harness import DATA_BUCKET, REGION, Cloud
from tests.sdk_integ.conftest import TELEMETRY_OFF

DATA = f"s3://{DATA_BUCKET}"
GROUP = "cloud-checks"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@functools.cache
def _boto_session() -> boto3.Session:
    """One boto3 session for the module's SDK sessions: its loader decodes each service model
    once (a new session per test decoded SageMaker's multi-megabyte model again, seconds each).
    Its clients are made inside each test's moto, so nothing of one test's moto leaks."""
    return boto3.Session(region_name=REGION)


@functools.cache
def _validated(config: str) -> None:
    sagemaker.config.validate_sagemaker_config(json.loads(config))


@pytest.fixture
def session(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> PipelineSession:
    # The SDK validates its config dict against its JSON schema on every lookup (about 30 per
    # check step, seconds in all); the dict is a constant here, so it is validated once.
    monkeypatch.setattr(
        sagemaker.utils,
        "validate_sagemaker_config",
        lambda config: _validated(json.dumps(config, sort_keys=True)),
    )
    boto_session = _boto_session()
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        sagemaker_config=TELEMETRY_OFF,
        default_bucket=DATA_BUCKET,
    )


@pytest.fixture
def containers(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[CheckContainers]:
    stand_in = CheckContainers(S3ObjectStore(cloud.s3), monkeypatch)
    cloud.moto.jobs.decide = stand_in.decide
    yield stand_in
    cloud.moto.jobs.decide = None


def _dataset(cloud: Cloud, key: str, *, seed: int, shift: float) -> str:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(shift, 1.0, 500), "y": rng.integers(0, 5, 500)})
    uri = f"{DATA}/checks/{key}"
    S3ObjectStore(cloud.s3).put(uri, frame.to_csv(index=False).encode())
    return uri


def _json(cloud: Cloud, uri: str) -> Any:
    return json.loads(S3ObjectStore(cloud.s3).get(uri))


def _quality_check(
    session: PipelineSession,
    cloud: Cloud,
    dataset: str,
    output: str,
    *,
    skip: bool | ParameterBoolean = False,
    register: bool = False,
    fail_on_violation: bool = True,
    supplied: tuple[Any, Any] | None = None,
    group: str | None = None,
) -> QualityCheckStep:
    constraints, statistics = supplied or (None, None)
    return QualityCheckStep(
        name="DataQualityCheck",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=dataset, dataset_format=DatasetFormat.csv(header=True), output_s3_uri=output
        ),
        check_job_config=CheckJobConfig(
            role=cloud.role_arn, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=session
        ),
        skip_check=skip,
        register_new_baseline=register,
        fail_on_violation=fail_on_violation,
        supplied_baseline_constraints=constraints,
        supplied_baseline_statistics=statistics,
        model_package_group_name=group,
    )


def _run(cloud: Cloud, pipeline: Pipeline, **parameters: str) -> Any:
    cloud.register(pipeline.definition(), name=pipeline.name)
    return cloud.run(pipeline.name, parameters=parameters, timeout=60)


def _metadata(cloud: Cloud, execution_id: str, step: str = "DataQualityCheck") -> dict[str, Any]:
    record = cloud.steps(execution_id)[step]
    return dict(record.metadata.get("QualityCheck") or record.metadata.get("ClarifyCheck") or {})


def _baseline(session: PipelineSession, cloud: Cloud, name: str, output: str) -> tuple[str, str]:
    """A SkipCheck/RegisterNewBaseline run; the baseline's (constraints, statistics) URIs."""
    dataset = _dataset(cloud, f"{name}.csv", seed=1, shift=0.0)
    check = _quality_check(session, cloud, dataset, output, skip=True, register=True)
    final = _run(cloud, Pipeline(name=name, steps=[check], sagemaker_session=session))
    assert final.status == "Succeeded", final.failure_reason
    return f"{output}/constraints.json", f"{output}/statistics.json"


def test_a_baselining_run_calculates_the_baseline_and_hands_it_on(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    output = f"{DATA}/checks/first"
    dataset = _dataset(cloud, "first.csv", seed=1, shift=0.0)
    check = _quality_check(session, cloud, dataset, output, skip=True, register=True)
    final = _run(cloud, Pipeline(name="baselining", steps=[check], sagemaker_session=session))

    assert final.status == "Succeeded", final.failure_reason
    record = cloud.steps(final.execution_id)["DataQualityCheck"]
    assert record.properties == {
        "CalculatedBaselineConstraints": f"{output}/constraints.json",
        "CalculatedBaselineStatistics": f"{output}/statistics.json",
        "BaselineUsedForDriftCheckConstraints": f"{output}/constraints.json",
        "BaselineUsedForDriftCheckStatistics": f"{output}/statistics.json",
    }
    metadata = _metadata(cloud, final.execution_id)
    assert metadata["CheckType"] == "DATA_QUALITY"
    assert (metadata["SkipCheck"], metadata["RegisterNewBaseline"]) == (True, True)
    assert metadata["CheckJobArn"].lower().endswith(f"/{record.job_name}".lower())
    assert "ViolationReport" not in metadata
    # the container got no baseline and so checked nothing
    (request,) = containers.requests
    assert not any(k.startswith("baseline_") for k in request["environment"])
    assert _json(cloud, f"{output}/statistics.json")["dataset"] == {"item_count": 500}
    assert not S3ObjectStore(cloud.s3).exists(f"{output}/constraint_violations.json")


@pytest.mark.parametrize("fail_on_violation", [True, False])
def test_a_violation_against_a_supplied_baseline_fails_the_step_unless_told_not_to(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers, fail_on_violation: bool
) -> None:
    supplied = _baseline(session, cloud, "supplier", f"{DATA}/checks/supplier")
    output = f"{DATA}/checks/drifted"
    drifted = _dataset(cloud, "drifted.csv", seed=2, shift=3.0)
    check = _quality_check(
        session, cloud, drifted, output, supplied=supplied, fail_on_violation=fail_on_violation
    )
    final = _run(cloud, Pipeline(name="drifted", steps=[check], sagemaker_session=session))

    record = cloud.steps(final.execution_id)["DataQualityCheck"]
    report = f"{output}/constraint_violations.json"
    metadata = _metadata(cloud, final.execution_id)
    assert metadata["ViolationReport"] == report
    assert metadata["BaselineUsedForDriftCheckConstraints"] == supplied[0]
    assert metadata["BaselineUsedForDriftCheckStatistics"] == supplied[1]
    assert metadata["CalculatedBaselineConstraints"] == f"{output}/constraints.json"
    violations = _json(cloud, report)["violations"]
    assert {"feature_name": "x", "constraint_check_type": "baseline_drift_check"}.items() <= violations[
        0
    ].items()
    if fail_on_violation:
        assert (final.status, record.status) == ("Failed", "Failed")
        assert record.failure_reason is not None
        assert record.failure_reason.startswith(
            f"ClientError: Quality check failed. See violation report at {report}. 1 violation(s): "
            "x: baseline_drift_check"
        )
    else:
        assert (final.status, record.status) == ("Succeeded", "Succeeded"), record.failure_reason
        assert record.properties is not None
        assert record.properties["BaselineUsedForDriftCheckConstraints"] == supplied[0]
    # the container was handed the supplied files by the Model Monitor contract
    request = containers.requests[-1]
    assert request["environment"]["baseline_constraints"] == (
        "/opt/ml/processing/baseline/constraints/constraints.json"
    )
    assert (
        request["environment"]["baseline_statistics"]
        == "/opt/ml/processing/baseline/statistics/statistics.json"
    )
    staged = {i["InputName"]: i["S3Input"] for i in request["processing_inputs"]}
    assert staged["baseline_constraints"]["S3Uri"] == supplied[0]
    assert staged["baseline_statistics"]["LocalPath"] == "/opt/ml/processing/baseline/statistics"


def test_no_violation_against_a_supplied_baseline_hands_on_the_supplied_one(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    supplied = _baseline(session, cloud, "same-supplier", f"{DATA}/checks/same-supplier")
    output = f"{DATA}/checks/same"
    check = _quality_check(
        session, cloud, _dataset(cloud, "same.csv", seed=1, shift=0.0), output, supplied=supplied
    )
    final = _run(cloud, Pipeline(name="same", steps=[check], sagemaker_session=session))

    assert final.status == "Succeeded"
    record = cloud.steps(final.execution_id)["DataQualityCheck"]
    assert record.properties == {
        "CalculatedBaselineConstraints": f"{output}/constraints.json",
        "CalculatedBaselineStatistics": f"{output}/statistics.json",
        "BaselineUsedForDriftCheckConstraints": supplied[0],
        "BaselineUsedForDriftCheckStatistics": supplied[1],
    }
    assert "ViolationReport" not in _metadata(cloud, final.execution_id)
    assert _json(cloud, f"{output}/constraint_violations.json") == {"violations": []}


def test_register_new_baseline_hands_on_the_calculated_one_after_checking(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    supplied = _baseline(session, cloud, "renew-supplier", f"{DATA}/checks/renew-supplier")
    output = f"{DATA}/checks/renew"
    check = _quality_check(
        session,
        cloud,
        _dataset(cloud, "renew.csv", seed=3, shift=3.0),
        output,
        supplied=supplied,
        register=True,
        fail_on_violation=False,
    )
    final = _run(cloud, Pipeline(name="renew", steps=[check], sagemaker_session=session))

    assert final.status == "Succeeded"
    metadata = _metadata(cloud, final.execution_id)
    assert metadata["BaselineUsedForDriftCheckConstraints"] == f"{output}/constraints.json"
    assert metadata["BaselineUsedForDriftCheckStatistics"] == f"{output}/statistics.json"
    assert metadata["ViolationReport"] == f"{output}/constraint_violations.json"  # it did check


def test_skip_check_hands_on_a_supplied_baseline_unread(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    not_yet = (f"{DATA}/checks/future/constraints.json", f"{DATA}/checks/future/statistics.json")
    output = f"{DATA}/checks/skipped"
    check = _quality_check(
        session, cloud, _dataset(cloud, "skipped.csv", seed=4, shift=0.0), output, skip=True, supplied=not_yet
    )
    final = _run(cloud, Pipeline(name="skipped", steps=[check], sagemaker_session=session))

    assert final.status == "Succeeded", final.failure_reason
    metadata = _metadata(cloud, final.execution_id)
    assert metadata["BaselineUsedForDriftCheckConstraints"] == not_yet[0]
    assert metadata["BaselineUsedForDriftCheckStatistics"] == not_yet[1]
    assert metadata["CalculatedBaselineStatistics"] == f"{output}/statistics.json"
    (request,) = containers.requests
    assert "baseline_constraints" not in request["environment"]


def test_a_missing_baseline_fails_the_step_before_its_job(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    gone = (f"{DATA}/checks/gone/constraints.json", None)
    check = _quality_check(
        session, cloud, _dataset(cloud, "gone.csv", seed=5, shift=0.0), f"{DATA}/checks/x", supplied=gone
    )
    missing = _run(cloud, Pipeline(name="gone", steps=[check], sagemaker_session=session))
    step = cloud.steps(missing.execution_id)["DataQualityCheck"]
    assert missing.status == "Failed"
    assert step.failure_reason == (
        f"step DataQualityCheck: the baseline constraints {gone[0]} (the supplied baseline) does not exist"
    )

    nothing = _quality_check(
        session,
        cloud,
        _dataset(cloud, "none.csv", seed=5, shift=0.0),
        f"{DATA}/checks/y",
        group="empty-group",
    )
    unregistered = _run(cloud, Pipeline(name="unregistered", steps=[nothing], sagemaker_session=session))
    step = cloud.steps(unregistered.execution_id)["DataQualityCheck"]
    assert step.failure_reason is not None
    assert step.failure_reason.startswith(
        "step DataQualityCheck: a previous DATA_QUALITY baseline is required"
    )
    assert "model package group empty-group has no Approved version" in step.failure_reason
    assert step.metadata["QualityCheck"] == {
        "CheckType": "DATA_QUALITY",
        "SkipCheck": False,
        "RegisterNewBaseline": False,
        "ModelPackageGroupName": "empty-group",
    }
    assert containers.requests == []  # neither ran a job
    assert cloud.moto.jobs.created == []


def test_a_failed_check_job_keeps_its_reason_and_names_the_job(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    containers.fail_with = "ClientError: the dataset has no rows"
    check = _quality_check(
        session,
        cloud,
        _dataset(cloud, "empty.csv", seed=6, shift=0.0),
        f"{DATA}/checks/z",
        skip=True,
        register=True,
    )
    final = _run(cloud, Pipeline(name="broken", steps=[check], sagemaker_session=session))

    record = cloud.steps(final.execution_id)["DataQualityCheck"]
    assert (final.status, record.failure_reason) == ("Failed", "ClientError: the dataset has no rows")
    metadata = record.metadata["QualityCheck"]
    assert metadata["CheckJobArn"].lower().endswith(f"/{record.job_name}".lower())
    assert metadata["CalculatedBaselineConstraints"] == f"{DATA}/checks/z/constraints.json"


def _register(session: PipelineSession, cloud: Cloud, check: QualityCheckStep) -> RegisterModel:
    return register_checked_model(
        session, check, group=GROUP, role=cloud.role_arn, model_data=f"{DATA}/checks/model.tar.gz"
    )


def test_the_latest_approved_packages_drift_check_baselines_are_the_next_checks_baseline(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    cloud.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    first_output = f"{DATA}/checks/registered"
    check = _quality_check(
        session,
        cloud,
        _dataset(cloud, "registered.csv", seed=7, shift=0.0),
        first_output,
        skip=True,
        register=True,
        group=GROUP,
    )
    first = _run(
        cloud,
        Pipeline(
            name="lifecycle-first", steps=[check, _register(session, cloud, check)], sagemaker_session=session
        ),
    )
    assert first.status == "Succeeded", [s.failure_reason for s in cloud.steps(first.execution_id).values()]
    (package,) = cloud.sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    registered = cloud.sagemaker.describe_model_package(ModelPackageName=package["ModelPackageArn"])
    quality = registered["DriftCheckBaselines"]["ModelDataQuality"]
    assert quality["Constraints"]["S3Uri"] == f"{first_output}/constraints.json"
    # a newer version that is not Approved is not the baseline
    cloud.sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        DriftCheckBaselines={
            "ModelDataQuality": {
                "Constraints": {
                    "ContentType": "application/json",
                    "S3Uri": f"{DATA}/checks/pending/constraints.json",
                }
            }
        },
    )

    skip = ParameterBoolean(name="SkipCheck", default_value=False)
    second_output = f"{DATA}/checks/against-registry"
    drifted = _quality_check(
        session,
        cloud,
        _dataset(cloud, "against-registry.csv", seed=8, shift=3.0),
        second_output,
        skip=skip,
        group=GROUP,
    )
    second = Pipeline(
        name="lifecycle-second",
        parameters=[skip],
        steps=[drifted, _register(session, cloud, drifted)],
        sagemaker_session=session,
    )
    failed = _run(cloud, second)
    steps = cloud.steps(failed.execution_id)
    assert failed.status == "Failed"
    assert "x: baseline_drift_check" in str(steps["DataQualityCheck"].failure_reason)
    metadata = steps["DataQualityCheck"].metadata["QualityCheck"]
    assert metadata["ModelPackageGroupName"] == GROUP
    assert metadata["BaselineUsedForDriftCheckConstraints"] == f"{first_output}/constraints.json"
    assert metadata["BaselineUsedForDriftCheckStatistics"] == f"{first_output}/statistics.json"
    assert "RegisterModel-RegisterModel" not in steps
    assert containers.requests[-1]["environment"]["baseline_constraints"].endswith("/constraints.json")

    # skipping the check, the registry's baseline is still what the new version registers
    skipped = _run(cloud, second, SkipCheck="true")
    assert skipped.status == "Succeeded", [
        s.failure_reason for s in cloud.steps(skipped.execution_id).values()
    ]
    newest = cloud.sagemaker.list_model_packages(
        ModelPackageGroupName=GROUP, SortBy="CreationTime", SortOrder="Descending"
    )["ModelPackageSummaryList"][0]
    latest = cloud.sagemaker.describe_model_package(ModelPackageName=newest["ModelPackageArn"])
    assert latest["DriftCheckBaselines"]["ModelDataQuality"] == quality
    assert (
        latest["ModelMetrics"]["ModelDataQuality"]["Statistics"]["S3Uri"]
        == f"{second_output}/statistics.json"
    )


def test_a_clarify_bias_drift_fails_the_step_with_clarifys_reason(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    rng = np.random.default_rng(9)
    rows = 400
    facet = rng.integers(0, 2, rows)
    fair = pd.DataFrame({"label": rng.integers(0, 2, rows), "facet": facet, "other": rng.normal(0, 1, rows)})
    biased = fair.assign(label=np.where(facet == 1, 1, rng.integers(0, 2, rows)))
    objects = S3ObjectStore(cloud.s3)
    for name, frame in (("fair", fair), ("biased", biased)):
        objects.put(f"{DATA}/clarify/{name}.csv", frame.to_csv(index=False, header=False).encode())

    def check(name: str, *, skip: bool, register: bool, supplied: Any = None) -> ClarifyCheckStep:
        return ClarifyCheckStep(
            name="DataBiasCheck",
            clarify_check_config=DataBiasCheckConfig(
                data_config=DataConfig(
                    s3_data_input_path=f"{DATA}/clarify/{name}.csv",
                    s3_output_path=f"{DATA}/clarify/{name}-output",
                    label="label",
                    headers=["label", "facet", "other"],
                    dataset_type="text/csv",
                ),
                data_bias_config=BiasConfig(
                    label_values_or_threshold=[1], facet_name="facet", facet_values_or_threshold=[1]
                ),
            ),
            check_job_config=CheckJobConfig(
                role=cloud.role_arn, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=session
            ),
            skip_check=skip,
            register_new_baseline=register,
            supplied_baseline_constraints=supplied,
        )

    baseline = _run(
        cloud,
        Pipeline(
            name="bias-baseline", steps=[check("fair", skip=True, register=True)], sagemaker_session=session
        ),
    )
    assert baseline.status == "Succeeded", baseline.failure_reason
    calculated = cloud.steps(baseline.execution_id)["DataBiasCheck"].properties
    assert calculated == {
        "CalculatedBaselineConstraints": f"{DATA}/clarify/fair-output/analysis.json",
        "BaselineUsedForDriftCheckConstraints": f"{DATA}/clarify/fair-output/analysis.json",
    }
    supplied = ParameterString(name="Baseline", default_value="")
    drifted = Pipeline(
        name="bias-drift",
        parameters=[supplied],
        steps=[check("biased", skip=False, register=False, supplied=supplied)],
        sagemaker_session=session,
    )
    final = _run(cloud, drifted, Baseline=calculated["CalculatedBaselineConstraints"])

    record = cloud.steps(final.execution_id)["DataBiasCheck"]
    assert final.status == "Failed"
    report = f"{DATA}/clarify/biased-output/constraint_violations.json"
    assert record.failure_reason is not None
    assert record.failure_reason.startswith(
        f"ClientError: Clarify check failed. See violation report at {report}."
    )
    assert "bias_drift_check" in record.failure_reason
    metadata = record.metadata["ClarifyCheck"]
    assert metadata["ViolationReport"] == report
    assert metadata["BaselineUsedForDriftCheckConstraints"] == calculated["CalculatedBaselineConstraints"]
    assert "CalculatedBaselineStatistics" not in metadata


def test_model_bias_names_the_steps_model_in_clarifys_analysis_config(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers
) -> None:
    """The SDK drops ``predictor.model_name`` from the config it uploads (the step's ModelName
    replaces it); the container serves that model on its shadow endpoint, so the engine writes a
    completed copy for the attempt."""
    rng = np.random.default_rng(10)
    rows = 300
    features = rng.normal(0.0, 1.0, (rows, 2))
    label = (features[:, 0] > 0).astype(int)
    frame = pd.DataFrame({"Label": label, "F1": features[:, 0], "F2": features[:, 1], "Pred": label})
    dataset = f"{DATA}/clarify-model/data.csv"
    S3ObjectStore(cloud.s3).put(dataset, frame.to_csv(index=False, header=False).encode())
    model = Model(
        image_uri=IMAGE,
        model_data=f"{DATA}/checks/model.tar.gz",
        role=cloud.role_arn,
        sagemaker_session=session,
    )
    create = ModelStep(name="CreateModel", step_args=model.create(instance_type="ml.m5.large"))
    config_path = f"{DATA}/clarify-model/config"
    bias = ClarifyCheckStep(
        name="ModelBias",
        clarify_check_config=ModelBiasCheckConfig(
            data_config=DataConfig(
                s3_data_input_path=dataset,
                s3_output_path=f"{DATA}/clarify-model/result",
                s3_analysis_config_output_path=config_path,
                label="Label",
                headers=["Label", "F1", "F2", "Pred"],
                predicted_label="Pred",
                dataset_type="text/csv",
            ),
            data_bias_config=BiasConfig(
                label_values_or_threshold=[1], facet_name="F2", facet_values_or_threshold=[0.0]
            ),
            model_config=ModelConfig(
                model_name=create.properties.ModelName,
                instance_count=1,
                instance_type="ml.m5.large",
                content_type="text/csv",
                accept_type="text/csv",
            ),
            model_predicted_label_config=ModelPredictedLabelConfig(probability_threshold=0.5),
        ),
        check_job_config=CheckJobConfig(
            role=cloud.role_arn, instance_count=1, instance_type="ml.m5.xlarge", sagemaker_session=session
        ),
        skip_check=True,
        register_new_baseline=True,
    )
    final = _run(cloud, Pipeline(name="model-bias", steps=[create, bias], sagemaker_session=session))

    steps = cloud.steps(final.execution_id)
    assert final.status == "Succeeded", [s.failure_reason for s in steps.values()]
    model_name = steps["CreateModel-CreateModel"].properties["ModelName"]
    (config,) = containers.configs
    assert config["predictor"]["model_name"] == model_name
    (request,) = containers.requests
    staged = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["processing_inputs"]}
    assert staged["analysis_config"] == f"{config_path}/{steps['ModelBias'].job_name}/analysis_config.json"
    # the uploaded config is left as the SDK wrote it
    uploaded = _json(cloud, next(iter(S3ObjectStore(cloud.s3).list(f"{config_path}/analysis_config.json"))))
    assert "model_name" not in uploaded["predictor"]
    assert steps["ModelBias"].properties == {
        "CalculatedBaselineConstraints": f"{DATA}/clarify-model/result/analysis.json",
        "BaselineUsedForDriftCheckConstraints": f"{DATA}/clarify-model/result/analysis.json",
    }
    analysis = _json(cloud, f"{DATA}/clarify-model/result/analysis.json")
    assert {m["name"] for m in analysis["post_training_bias_metrics"]["facets"]["F2"][0]["metrics"]} >= {
        "DPPL",
        "DI",
    }


class _Refusing:
    """A client as a pipeline role that may not read the registry."""

    def get_paginator(self, operation: str) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": f"not authorized to perform {operation}"}},
            operation,
        )


def test_a_refused_registry_read_fails_the_step_naming_the_call(
    cloud: Cloud, session: PipelineSession
) -> None:
    check = _quality_check(session, cloud, f"{DATA}/checks/any.csv", f"{DATA}/checks/out", group="private")
    definition = load_definition(Pipeline(name="p", steps=[check], sagemaker_session=session).definition())
    step = definition.steps[0]
    request = StepRequest(
        pipeline_name="p",
        pipeline_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/p",
        execution_id="x",
        execution_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x",
        step=step,
        arguments=step.arguments,
        job_name="job",
        attempt=1,
        step_fields=raw_step_fields(step),
    )
    with pytest.raises(StepFailed) as refused:
        prepare_check(request, lambda service: _Refusing() if service == "sagemaker" else cloud.s3)
    assert str(refused.value) == (
        "step DataQualityCheck: the check's inputs could not be prepared as the pipeline's role: "
        "AccessDeniedException: not authorized to perform list_model_packages"
    )
    assert refused.value.error_code == "AccessDeniedException"


def test_both_runtimes_give_a_check_the_same_outcome(
    cloud: Cloud, session: PipelineSession, containers: CheckContainers, tmp_path: Path
) -> None:
    """The same SDK definitions, run by the cloud (the container stand-in on moto) and by the
    embedded runtime (its local check job), end with the same properties, metadata, failure
    reasons and violation reports: one piece of code decides for both."""
    config = Config(
        state_dir=tmp_path / "state", object_root=tmp_path / "objects", base_dir=tmp_path, region=REGION
    )
    local_objects = LocalObjectStore(config.object_root)
    embedded = EmbeddedRuntime(config, objects=local_objects)
    cloud_objects = S3ObjectStore(cloud.s3)
    for key, shift in (("parity-base.csv", 0.0), ("parity-drift.csv", 3.0)):
        uri = _dataset(cloud, key, seed=11, shift=shift)
        local_objects.put(uri, cloud_objects.get(uri))

    base_output = f"{DATA}/checks/parity-base"
    baseline = (f"{base_output}/constraints.json", f"{base_output}/statistics.json")
    pipelines = [
        Pipeline(
            name="parity-base",
            steps=[
                _quality_check(
                    session, cloud, f"{DATA}/checks/parity-base.csv", base_output, skip=True, register=True
                )
            ],
            sagemaker_session=session,
        ),
        *(
            Pipeline(
                name=f"parity-drift-{fail}",
                steps=[
                    _quality_check(
                        session,
                        cloud,
                        f"{DATA}/checks/parity-drift.csv",
                        f"{DATA}/checks/parity-drift-{fail}",
                        supplied=baseline,
                        fail_on_violation=fail,
                    )
                ],
                sagemaker_session=session,
            )
            for fail in (False, True)
        ),
    ]
    outcomes: list[tuple[str, bool]] = []  # (status, had a violation report) per pipeline
    try:
        for pipeline in pipelines:
            in_cloud = _run(cloud, pipeline)
            embedded.register(pipeline.name, pipeline.definition())
            locally = embedded.run(request=StartRequest(pipeline_name=pipeline.name))
            assert (in_cloud.status, in_cloud.failure_reason) == (locally.status, locally.failure_reason)
            cloud_step = cloud.steps(in_cloud.execution_id)["DataQualityCheck"]
            (local_step,) = embedded.store.list_steps(locally.execution_id, ListQuery(limit=10)).items
            assert (cloud_step.status, cloud_step.failure_reason, cloud_step.properties) == (
                local_step.status,
                local_step.failure_reason,
                local_step.properties,
            )
            without_arn = [
                {k: v for k, v in step.metadata["QualityCheck"].items() if k != "CheckJobArn"}
                for step in (cloud_step, local_step)
            ]
            assert without_arn[0] == without_arn[1]
            report = without_arn[0].get("ViolationReport")
            if report is not None:
                assert json.loads(cloud_objects.get(report)) == json.loads(local_objects.get(report))
            outcomes.append((in_cloud.status, report is not None))
    finally:
        embedded.close()
    assert outcomes == [("Succeeded", False), ("Succeeded", True), ("Failed", True)]
