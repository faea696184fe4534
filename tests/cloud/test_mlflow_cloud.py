"""MLflow from the deployed engine (issue 17, cloud side), on moto with a real tracking server.

A real ``mlflow server`` over a SQLite file stands in for the SageMaker managed server. The
engine writes through the ``sagemaker-mlflow`` plugin with the ARN as tracking URI, as deployed;
the only test-side redirection is the plugin's own SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT (moto has no
MLflow tracking servers). The moto processing job acts as the container: it logs with the
MLFLOW_* variables of the job's Environment, as a script's bare ``mlflow.log_metric`` would.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from pipelines.hosting.model_server import free_port
from pipelines.tracking import cloud as tracking_cloud
from pipelines.tracking import read_warnings

from tests.cloud.harness import Cloud
from tests.cloud.scenarios import REGION, lambda_step, pipeline, processing
from tests.mlflow_server import container, running_tracking_server, runs_of

SERVER_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:mlflow-tracking-server/team"


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (SQLite) on a free loopback port; its URL."""
    with running_tracking_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture(autouse=True)
def fresh_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's engine is a fresh container: no memory of an earlier test's dropped writes."""
    monkeypatch.setattr(tracking_cloud, "_last_failure", [])


@pytest.fixture
def server(tracking_server: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    """The plugin resolves every ARN to the local server; a client reading it directly."""
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", tracking_server)
    return MlflowClient(tracking_server)


def tracked(experiment: str | None = None) -> str:
    """Process (its job logs a metric) -> Score (Lambda), with MlflowConfig."""
    config: dict[str, Any] = {"MlflowResourceArn": SERVER_ARN}
    if experiment:
        config["MlflowExperimentName"] = experiment
    return json.dumps(
        pipeline(
            processing("Process"),
            lambda_step("Score", "score", {"value": 21}, {"score": "Integer"}) | {"DependsOn": ["Process"]},
            parameters=[{"Name": "Label", "Type": "String", "DefaultValue": "nightly"}],
            MlflowConfig=config,
        )
    )


def test_an_execution_logs_a_parent_run_and_nested_step_runs_through_the_plugin(
    cloud: Cloud, server: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []
    cloud.function("score", lambda event, context: {"score": event["value"] * 2})
    cloud.moto.jobs.decide = container(seen, cloud.moto.jobs, monkeypatch)
    cloud.register(tracked(), "cloudtracked")
    final = cloud.run("cloudtracked", display_name="nightly-7", parameters={"Label": "adhoc"})
    assert final.status == "Succeeded"

    parent, steps = runs_of(server, "cloudtracked")  # the experiment is the pipeline name
    assert parent.info.run_name == "nightly-7"
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"Label": "adhoc"}
    assert parent.data.tags["pipelines.execution_arn"] == final.execution_arn
    assert parent.data.tags["pipelines.pipeline_name"] == "cloudtracked"
    assert parent.data.tags["pipelines.status"] == "Succeeded"
    assert set(steps) == {"Process", "Score"}
    for run in steps.values():
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert (run.info.status, run.data.tags["pipelines.status"]) == ("FINISHED", "Succeeded")
        assert run.data.tags["pipelines.cache_hit"] == "false"
        assert run.data.metrics["duration_seconds"] >= 0
    assert steps["Process"].data.tags["pipelines.step_type"] == "Processing"
    assert steps["Score"].data.params == {"output.score": "42"}
    # the job got its nested run, and what it logged landed there
    (environment,) = seen
    assert environment["MLFLOW_RUN_ID"] == steps["Process"].info.run_id
    assert environment["MLFLOW_TRACKING_ARN"] == environment["MLFLOW_TRACKING_URI"] == SERVER_ARN
    assert environment["MLFLOW_EXPERIMENT_NAME"] == "cloudtracked"
    assert steps["Process"].data.metrics["rows"] == 3
    # the ARN was the tracking URI only around the engine's writes: nothing else inherits it
    assert os.environ.get("MLFLOW_TRACKING_URI") != SERVER_ARN


def test_the_start_request_overrides_the_experiment(
    cloud: Cloud, server: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, str]] = []
    cloud.function("score", lambda event, context: {"score": 1})
    cloud.moto.jobs.decide = container(seen, cloud.moto.jobs, monkeypatch)
    cloud.register(tracked("from-definition"), "overridden")
    final = cloud.run("overridden", mlflow_experiment_name="from-start")
    assert final.status == "Succeeded"
    parent, steps = runs_of(server, "from-start")
    assert parent.data.tags["pipelines.execution_arn"] == final.execution_arn
    assert set(steps) == {"Process", "Score"}
    assert seen[0]["MLFLOW_EXPERIMENT_NAME"] == "from-start"
    assert server.get_experiment_by_name("from-definition") is None


def test_a_tracking_server_that_is_down_fails_nothing_and_warns(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    seen: list[dict[str, str]] = []
    cloud.function("score", lambda event, context: {"score": 1})
    cloud.moto.jobs.decide = container(seen, cloud.moto.jobs, monkeypatch)
    cloud.register(tracked(), "down")
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="pipelines.tracking"):
        final = cloud.run("down", timeout=60)
    assert final.status == "Succeeded"
    assert {s.status for s in cloud.steps(final.execution_id).values()} == {"Succeeded"}
    assert time.monotonic() - started < 45  # bounded: the run went on without the server
    # no run to log into: the job learns only where to log (its script's run is its own)
    assert seen[0]["MLFLOW_TRACKING_ARN"] == SERVER_ARN
    assert "MLFLOW_RUN_ID" not in seen[0]
    warnings = [r for r in caplog.records if getattr(r, "execution_id", None) == final.execution_id]
    assert warnings, "a dropped write must leave a warning naming the execution"
    assert any("could not log" in r.getMessage() for r in warnings)
    # kept in the deployed store too, as embedded: where `pipelines steps` reads them
    kept = read_warnings(cloud.store, final.execution_id)
    assert [w.message for w in kept] == [r.getMessage().removeprefix("tracking warning: ") for r in warnings]
    assert {w.step_name for w in kept} >= {None, "Process"}
