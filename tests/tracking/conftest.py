"""A real MLflow tracking store (SQLite in tmp) per test, and a definition with MlflowConfig.

Creating an MLflow SQLite store runs its schema migrations, which takes seconds; the session
migrates one template and each test gets a copy, so every test still has a store of its own.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from pipelines.config import Config

from tests.runners.jobs.helpers import processing_arguments

TRACKING_SERVER = "arn:aws:sagemaker:us-east-1:000000000000:mlflow-tracking-server/team"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:score"
BUCKET = "tracking-bucket"
SCRIPT = textwrap.dedent(
    """
    import os
    import mlflow

    mlflow.log_metric("rows", 3)
    mlflow.log_param("from_script", os.environ.get("MLFLOW_EXPERIMENT_NAME", "unset"))
    """
)
LAMBDA = textwrap.dedent(
    """
    def handler(event, context):
        return {"score": event["value"] * 2, "label": "good"}
    """
)


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    client = MlflowClient(f"sqlite:///{path}")
    client.search_experiments()  # creates and migrates the schema
    return path


def tracking_store(template: Path, path: Path) -> str:
    """A fresh copy of the migrated store at ``path``; its tracking URI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def tracking_uri(mlflow_template: Path, tmp_path: Path) -> str:
    return tracking_store(mlflow_template, tmp_path / "mlruns" / "mlflow.db")


@pytest.fixture
def config(tmp_path: Path, tracking_uri: str) -> Config:
    handler = tmp_path / "score.py"
    handler.write_text(LAMBDA)
    return Config(
        state_dir=tmp_path / "state",
        object_root=tmp_path / "objects",
        base_dir=tmp_path,
        functions={FUNCTION_ARN: f"{handler}:handler"},
        images={"*": sys.executable},
        mlflow={"arn:aws:sagemaker:*:*:mlflow-tracking-server/team": tracking_uri},
    )


def put_script(config: Config, source: str = SCRIPT) -> str:
    target = config.object_root / BUCKET / "code" / "script.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    return f"s3://{BUCKET}/code/script.py"


def processing(name: str, code_uri: str, **envelope: Any) -> dict[str, Any]:
    """A Processing step running ``code_uri`` as its script (the job-runner tests' request)."""
    return {"Name": name, "Type": "Processing", "Arguments": processing_arguments(code_uri), **envelope}


def tracked_definition(
    code_uri: str, *, mlflow: dict[str, Any] | None = None, tracked: bool = True, cache: bool = False
) -> str:
    """Process (script logs a metric) -> Check (Threshold > 0.3) -> Score (Lambda) | Fail."""
    process = processing(
        "Process", code_uri, **({"CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"}} if cache else {})
    )
    definition: dict[str, Any] = {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5},
            {"Name": "Label", "Type": "String", "DefaultValue": "nightly"},
        ],
        "Steps": [
            process,
            {
                "Name": "Check",
                "Type": "Condition",
                "DependsOn": ["Process"],
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "GreaterThan",
                            "LeftValue": {"Get": "Parameters.Threshold"},
                            "RightValue": 0.3,
                        }
                    ],
                    "IfSteps": [
                        {
                            "Name": "Score",
                            "Type": "Lambda",
                            "FunctionArn": FUNCTION_ARN,
                            "Arguments": {"value": 21},
                            "OutputParameters": [
                                {"OutputName": "score", "OutputType": "Integer"},
                                {"OutputName": "label", "OutputType": "String"},
                            ],
                        }
                    ],
                    "ElseSteps": [
                        {"Name": "TooLow", "Type": "Fail", "Arguments": {"ErrorMessage": "too low"}}
                    ],
                },
            },
        ],
    }
    if tracked:
        definition["MlflowConfig"] = mlflow or {"MlflowResourceArn": TRACKING_SERVER}
    return json.dumps(definition)


def runs_of(client: MlflowClient, experiment: str) -> list[Run]:
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    return list(client.search_runs([found.experiment_id], max_results=1000))


def split_runs(runs: list[Run]) -> tuple[Run, dict[str, Run]]:
    """(the one parent run, nested runs by step name)."""
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.info.run_name for r in parents]
    children = {r.data.tags["pipelines.step_name"]: r for r in runs if r not in parents}
    return parents[0], children


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    """Runtimes to close at the end (flushes their tracking writes)."""
    opened: list[Any] = []
    yield opened
    for runtime in opened:
        runtime.close()
