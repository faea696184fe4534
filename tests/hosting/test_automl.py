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
                {
                    "Name": "Config",
                    "Type": "EndpointConfig",
                    "Arguments": {
                        "EndpointConfigName": {
                            "Std:Join": {
                                "On": "-",
                                "Values": [endpoint, {"Get": "Execution.PipelineExecutionId"}],
                            }
                        },
                        "ProductionVariants": [
                            {
                                "VariantName": "AllTraffic",
                                "ModelName": {"Get": "Steps.BestModel.ModelName"},
                                "InitialInstanceCount": 1,
                            }
                        ],
                    },
                },
                {
                    "Name": "Deploy",
                    "Type": "Endpoint",
                    "Arguments": {
                        "EndpointName": endpoint,
                        "EndpointConfigName": {"Get": "Steps.Config.EndpointConfigName"},
                    },
                },
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
