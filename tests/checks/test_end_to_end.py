"""The whole lifecycle of issue 14: a pipeline that checks its data against the registered
baseline, trains, registers the model with drift-check baselines, deploys an endpoint, and the
endpoint answers boto3's ``sagemaker-runtime`` through ``pipelines serve``.

Built with the SDK v2 against ``pipelines serve``; run with ``pipelines run``. The first run
bootstraps (``SkipCheck`` and ``RegisterNewBaseline`` true: no approved model yet); the second,
on drifted data, is stopped by the check before anything is trained or registered, and the first
run's endpoint keeps answering.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.config import Config as BotoConfig
from pipelines.objects import LocalObjectStore
from sagemaker.inputs import TrainingInput
from sagemaker.sklearn.estimator import SKLearn
from sagemaker.sklearn.model import SKLearnModel
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join
from sagemaker.workflow.model_step import ModelStep
from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.steps import TrainingStep

from tests.checks.conftest import Runner, approved_registration, data_quality_step, upload_csv
from tests.sdk.steps import endpoint_steps
from tests.sdk_integ.upstream_plugin import BUCKET, REGION, ROLE, Server

GROUP = "houses"
ENDPOINT = "houses-live"
FEATURES = ["rooms", "age", "distance"]
TRAIN = """\
import os

import joblib
import pandas as pd
from sklearn.linear_model import LinearRegression

frame = pd.read_csv(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"))
model = LinearRegression().fit(frame[["rooms", "age", "distance"]], frame["price"])
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
print("trained on", len(frame), "rows")
"""
INFERENCE = """\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""


def _houses(rows: int, *, seed: int, rooms_mean: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "rooms": np.round(rng.normal(rooms_mean, 1.0, rows), 2),
            "age": rng.integers(0, 60, rows),
            "distance": np.round(rng.uniform(1.0, 30.0, rows), 2),
        }
    )
    frame["price"] = 50.0 * frame["rooms"] - 1.0 * frame["age"] - 2.0 * frame["distance"] + 100.0
    return frame


def _pipeline(session: PipelineSession, code: Path) -> Pipeline:
    data = ParameterString(name="TrainData")
    skip = ParameterBoolean(name="SkipDataQualityCheck", default_value=False)
    register = ParameterBoolean(name="RegisterNewBaseline", default_value=False)
    check = data_quality_step(
        session,
        "CheckDataQuality",
        data,
        Join(on="/", values=[f"s3://{BUCKET}/e2e", ExecutionVariables.PIPELINE_EXECUTION_ID, "quality"]),
        skip_check=skip,
        register_new_baseline=register,
        model_package_group_name=GROUP,
    )
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(code),
        framework_version="1.2-1",
        instance_type="ml.m5.large",
        instance_count=1,
        output_path=f"s3://{BUCKET}/e2e/models",
        role=ROLE,
        sagemaker_session=session,
    )
    train = TrainingStep(
        name="Train",
        step_args=estimator.fit({"train": TrainingInput(data, content_type="text/csv")}),
        depends_on=[check],
    )
    model = SKLearnModel(
        model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
        entry_point="inference.py",
        source_dir=str(code),
        framework_version="1.2-1",
        role=ROLE,
        sagemaker_session=session,
    )
    register_step = ModelStep(
        name="Register", step_args=model.register(**approved_registration(check, GROUP))
    )
    create = ModelStep(name="CreateModel", step_args=model.create(instance_type="ml.m5.large"))
    config, deploy = endpoint_steps(
        session, create, ENDPOINT, config_step_name="EndpointConfig", depends_on=[register_step]
    )
    return Pipeline(
        name="houses-e2e",
        parameters=[data, skip, register],
        steps=[check, train, register_step, create, config, deploy],
        sagemaker_session=session,
    )


def test_check_train_register_deploy_and_invoke(
    session: PipelineSession, run: Runner, objects: LocalObjectStore, server: Server, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    (code / "inference.py").write_text(INFERENCE)
    first_data = upload_csv(objects, "e2e/data/first/train.csv", _houses(1500, seed=51, rooms_mean=5.0))
    pipeline = _pipeline(session, code)

    first = run(pipeline, TrainData=first_data, SkipDataQualityCheck="true", RegisterNewBaseline="true")
    assert first.status == "Succeeded", "\n".join(
        f"{s['StepName']}: {s.get('FailureReason')}" for s in first.document["Steps"]
    )
    check = first.step("CheckDataQuality")["Metadata"]["QualityCheck"]
    execution = first.document["Execution"]["PipelineExecutionId"]
    calculated = f"s3://{BUCKET}/e2e/{execution}/quality"
    assert check["CalculatedBaselineStatistics"] == f"{calculated}/statistics.json"
    assert check["BaselineUsedForDriftCheckConstraints"] == f"{calculated}/constraints.json"

    sagemaker = session.sagemaker_client
    [version] = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    package = sagemaker.describe_model_package(ModelPackageName=version["ModelPackageArn"])
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["DriftCheckBaselines"]["ModelDataQuality"] == {
        "Statistics": {"ContentType": "application/json", "S3Uri": f"{calculated}/statistics.json"},
        "Constraints": {"ContentType": "application/json", "S3Uri": f"{calculated}/constraints.json"},
    }
    assert first.step("Deploy")["StepStatus"] == "Succeeded"

    # The endpoint the run deployed answers boto3's sagemaker-runtime through pipelines serve
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=server.url,
        region_name=REGION,
        config=BotoConfig(retries={"total_max_attempts": 1}, read_timeout=120),
    )
    rows = pd.DataFrame({"rooms": [4.0, 6.0], "age": [10, 30], "distance": [5.0, 20.0]})
    answer = runtime.invoke_endpoint(
        EndpointName=ENDPOINT,
        Body=rows.to_csv(index=False, header=False),
        ContentType="text/csv",
        Accept="application/json",
    )
    predicted = np.ravel(json.loads(answer["Body"].read()))
    expected = 50.0 * rows["rooms"] - rows["age"] - 2.0 * rows["distance"] + 100.0
    assert np.allclose(predicted, expected, atol=1e-6)

    # Retraining on drifted data: the check against the registered baseline stops the pipeline
    drifted_data = upload_csv(objects, "e2e/data/drifted/train.csv", _houses(1500, seed=52, rooms_mean=8.0))
    second = run(pipeline, TrainData=drifted_data)
    assert second.status == "Failed"
    failed = second.step("CheckDataQuality")
    assert "rooms: baseline_drift_check" in failed["FailureReason"]
    assert (
        failed["Metadata"]["QualityCheck"]["BaselineUsedForDriftCheckConstraints"]
        == f"{calculated}/constraints.json"
    )
    assert {s["StepName"] for s in second.document["Steps"]} == {"CheckDataQuality"}
    assert len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]) == 1
    again = runtime.invoke_endpoint(
        EndpointName=ENDPOINT, Body="5.0,0,1.0\n", ContentType="text/csv", Accept="application/json"
    )
    assert np.ravel(json.loads(again["Body"].read()))[0] == pytest.approx(50.0 * 5.0 - 2.0 * 1.0 + 100.0)
