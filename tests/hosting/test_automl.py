"""AutoML steps locally for tabular data: each problem type searched within CompletionCriteria,
the best candidate created by a Model step and served by an Endpoint step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import urllib3
from pipelines.config import Config
from pipelines.errors import PipelinesError
from pipelines.hosting import EndpointHost
from pipelines.objects.local import LocalObjectStore
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store import ListQuery

from tests.hosting.test_endpoint_lifecycle import endpoint_steps

ROLE = "arn:aws:iam::000000000000:role/pipelines"
BEST = "Steps.Search.BestCandidate.InferenceContainers[0]"


def dataset(problem: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    size = 160
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=size),
            "b": rng.normal(size=size),
            "colour": rng.choice(["red", "green"], size=size),
        }
    )
    signal = 2 * frame["a"] - frame["b"] + (frame["colour"] == "red") * 1.5
    if problem == "Regression":
        frame["target"] = signal + rng.normal(scale=0.05, size=size)
    elif problem == "BinaryClassification":
        frame["target"] = np.where(signal > 0.5, "yes", "no")
    else:
        frame["target"] = pd.cut(signal, [-np.inf, -0.5, 1.5, np.inf], labels=["low", "mid", "high"]).astype(
            str
        )
    return frame


def definition(problem: str | None, metric: str | None, endpoint: str, max_candidates: int = 2) -> str:
    job_config: dict[str, Any] = {
        "CompletionCriteria": {
            "MaxCandidates": max_candidates,
            "MaxRuntimePerTrainingJobInSeconds": 120,
            "MaxAutoMLJobRuntimeInSeconds": 300,
        },
        "Mode": "ENSEMBLING",
    }
    automl: dict[str, Any] = {
        "InputDataConfig": [
            {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/automl/train.csv"}
                },
                "TargetAttributeName": "target",
                "ContentType": "text/csv;header=present",
                "ChannelType": "training",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/automl/output"},
        "AutoMLJobConfig": job_config,
        "RoleArn": ROLE,
    }
    if problem:
        automl["ProblemType"] = problem
    if metric:
        automl["AutoMLJobObjective"] = {"MetricName": metric}
    env_keys = (
        "MODEL_NAME",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT",
        "SAGEMAKER_SUBMIT_DIRECTORY",
        "SAGEMAKER_INFERENCE_SUPPORTED",
        "SAGEMAKER_INFERENCE_OUTPUT",
        "SAGEMAKER_PROGRAM",
    )
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [],
            "Steps": [
                {"Name": "Search", "Type": "AutoML", "Arguments": automl},
                {  # what the SDK's AutoMLStep.get_best_auto_ml_model() + ModelStep emit
                    "Name": "BestModel",
                    "Type": "Model",
                    "Arguments": {
                        "ExecutionRoleArn": ROLE,
                        "PrimaryContainer": {
                            "Image": {"Get": f"{BEST}.Image"},
                            "ModelDataUrl": {"Get": f"{BEST}.ModelDataUrl"},
                            "Environment": {k: {"Get": f"{BEST}.Environment['{k}']"} for k in env_keys},
                        },
                    },
                },
                *endpoint_steps("BestModel", endpoint),
            ],
        }
    )


@pytest.fixture
def runtime(tmp_path: Path) -> Any:
    config = Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects", base_dir=tmp_path)
    runtime = EmbeddedRuntime(config)
    yield runtime
    EndpointHost.for_config(config).close()
    runtime.close()


def search_properties(runtime: EmbeddedRuntime, execution_id: str) -> dict[str, Any]:
    steps = runtime.store.list_steps(execution_id, ListQuery(limit=100)).items
    [search] = [s for s in steps if s.step_name == "Search"]
    assert search.properties is not None
    return dict(search.properties)


@pytest.mark.parametrize(
    ("problem", "metric", "inferred"),
    [
        ("Regression", "MSE", "Regression"),
        ("BinaryClassification", None, "BinaryClassification"),
        (None, "Accuracy", "MulticlassClassification"),  # inferred from the 3-valued target
    ],
)
def test_automl_searches_and_its_best_candidate_is_served(
    runtime: EmbeddedRuntime, problem: str | None, metric: str | None, inferred: str
) -> None:
    frame = dataset(inferred)
    objects = LocalObjectStore(runtime.config.object_root)
    objects.put("s3://data/automl/train.csv", frame.to_csv(index=False).encode())
    endpoint = f"automl-{inferred.lower()}"
    final = runtime.run(definition(problem, metric, endpoint))
    assert final.status == "Succeeded", final.failure_reason
    described_job = search_properties(runtime, final.execution_id)
    assert described_job["AutoMLJobStatus"] == "Completed"
    assert described_job["ResolvedAttributes"]["ProblemType"] == inferred
    best = described_job["BestCandidate"]
    objective = best["FinalAutoMLJobObjectiveMetric"]
    assert objective["MetricName"] == (metric or "F1")
    assert {m["MetricName"] for m in best["CandidateProperties"]["CandidateMetrics"]} >= {
        objective["MetricName"]
    }
    [container] = best["InferenceContainers"]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert objects.get(container["ModelDataUrl"])  # the model data is in the object store
    insights = json.loads(
        objects.get(described_job["BestCandidateProperties"]["ModelInsightsJsonReportPath"])
    )
    assert insights["problem_type"] == inferred
    host = EndpointHost.for_config(runtime.config)
    described = host.describe_endpoint(endpoint)
    assert described["EndpointStatus"] == "InService"
    _, port = host.target(endpoint)
    rows = frame.drop(columns=["target"]).head(5).to_csv(index=False, header=False).encode()
    answer = urllib3.request(
        "POST", f"http://127.0.0.1:{port}/invocations", body=rows, headers={"Content-Type": "text/csv"}
    )
    assert answer.status == 200, answer.data
    predicted = [line for line in answer.data.decode().splitlines() if line]
    assert len(predicted) == 5
    truth = frame["target"].head(5)
    if inferred == "Regression":
        assert np.allclose([float(v) for v in predicted], truth, atol=1.0)
    else:
        assert set(predicted) <= set(frame["target"])
        assert sum(p == t for p, t in zip(predicted, truth, strict=True)) >= 3


@pytest.mark.parametrize(
    ("config_key", "what"),
    [
        ("TextClassificationJobConfig", "text classification"),
        ("ImageClassificationJobConfig", "image classification"),
        ("TimeSeriesForecastingJobConfig", "time-series forecasting"),
    ],
)
def test_text_image_and_time_series_jobs_are_refused_with_the_reason(
    runtime: EmbeddedRuntime, config_key: str, what: str
) -> None:
    step = {
        "Name": "Search",
        "Type": "AutoML",
        "Arguments": {
            "AutoMLJobInputDataConfig": [
                {
                    "ChannelType": "training",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://d/x"}},
                }
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://d/out"},
            "AutoMLProblemTypeConfig": {config_key: {}},
            "RoleArn": ROLE,
        },
    }
    with pytest.raises(PipelinesError) as refused:
        runtime.run(json.dumps({"Version": "2020-12-01", "Steps": [step]}))
    assert "step Search" in str(refused.value)
    assert f"{what} AutoML jobs ({config_key}) are not supported locally" in str(refused.value)


def test_an_sdk_made_automl_pipeline_runs_and_its_endpoint_answers_boto3(tmp_path: Path) -> None:
    """The SDK v2's AutoMLStep -> get_best_auto_ml_model() ModelStep -> EndpointConfigStep ->
    EndpointStep, with ``pipelines run``, then InvokeEndpoint through ``pipelines serve``."""
    from pipelines.testing import ServeProcess

    from tests.cli.helpers import pipelines
    from tests.hosting.sdk_automl import TRAIN_URI, automl_deploy_definition
    from tests.hosting.serving import in_service, local_client

    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    frame = dataset("BinaryClassification")
    LocalObjectStore(tmp_path / "objects").put(TRAIN_URI, frame.to_csv(index=False).encode())
    (tmp_path / "automl.json").write_text(automl_deploy_definition(tmp_path / "sdk", "churn"))
    ran = pipelines(tmp_path, "run", "automl.json", "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with ServeProcess(tmp_path) as served:
        in_service(served.url, "churn")
        rows = frame.drop(columns=["target"]).head(6).to_csv(index=False, header=False).encode()
        answer = local_client("sagemaker-runtime", served.url).invoke_endpoint(
            EndpointName="churn", Body=rows, ContentType="text/csv"
        )
        predicted = answer["Body"].read().decode().split()
        assert len(predicted) == 6 and set(predicted) <= {"yes", "no"}
        assert sum(p == t for p, t in zip(predicted, frame["target"].head(6), strict=True)) >= 4
        # the AutoML job itself, as the SDK's AutoML.attach() / list_candidates() read it
        sagemaker = local_client("sagemaker", served.url)
        [summary] = sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]
        assert summary["AutoMLJobStatus"] == "Completed"
        job = sagemaker.describe_auto_ml_job(AutoMLJobName=summary["AutoMLJobName"])
        assert job["ProblemType"] == "BinaryClassification"
        assert job["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "Accuracy"
        candidates = sagemaker.list_candidates_for_auto_ml_job(
            AutoMLJobName=summary["AutoMLJobName"], SortBy="FinalObjectiveMetricValue", SortOrder="Descending"
        )["Candidates"]
        assert len(candidates) == 2  # CompletionCriteria.MaxCandidates
        assert candidates[0]["CandidateName"] == job["BestCandidate"]["CandidateName"]
        v2 = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=summary["AutoMLJobName"])
        assert v2["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] == "target"


def test_a_target_that_is_not_a_column_fails_the_step_with_the_reason(runtime: EmbeddedRuntime) -> None:
    LocalObjectStore(runtime.config.object_root).put(
        "s3://data/automl/train.csv",
        dataset("Regression").rename(columns={"target": "price"}).to_csv(index=False).encode(),
    )
    final = runtime.run(definition("Regression", "MSE", "never"))
    assert final.status == "Failed"
    steps = runtime.store.list_steps(final.execution_id, ListQuery(limit=100)).items
    [search] = [s for s in steps if s.step_name == "Search"]
    assert search.status == "Failed"
    assert "the target attribute 'target' is not a column of the data (a, b, colour, price)" in (
        search.failure_reason or ""
    )
    [job] = runtime.jobs.of_kind("AutoMLJob")
    assert job.status == "Failed" and "target" in job.describe["FailureReason"]
