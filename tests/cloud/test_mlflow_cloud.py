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
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from moto.sagemaker.responses import SageMakerResponse

from tests.cloud.harness import Cloud, wait_until
from tests.cloud.moto_patches import Complete, Hold, JobControl, JobOutcome
from tests.cloud.scenarios import REGION, lambda_step, pipeline, processing

SERVER_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:mlflow-tracking-server/team"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server (SQLite) on a free loopback port; its URL."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("w")
    # mlflow's own tracking server app (Flask), served by waitress: the skinny package's
    # `mlflow server` command wants the full package's extras (uvicorn app, huey, aiohttp)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waitress",
            "--listen",
            f"127.0.0.1:{port}",
            "--threads",
            "4",
            "mlflow.server:app",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "_MLFLOW_SERVER_FILE_STORE": f"sqlite:///{root / 'mlflow.db'}",
            "_MLFLOW_SERVER_ARTIFACT_ROOT": str(root / "artifacts"),
        },
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, (root / "server.log").read_text()
            assert time.monotonic() < deadline, "mlflow server did not start in 120 s"
            time.sleep(0.2)
        # the first request creates and migrates the SQLite store (seconds): not in a test's time
        MlflowClient(url).search_experiments()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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


CONTAINER_SCRIPT = "import mlflow; mlflow.log_metric('rows', 3)"


def container(seen: list[dict[str, str]], jobs: JobControl, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The moto jobs' decision: log as the job's container would, then complete. moto's
    CreateProcessingJob drops Environment, so the request's is read where moto parses it."""
    environments: dict[str, dict[str, str]] = {}
    real = SageMakerResponse.create_processing_job

    def create_processing_job(self: SageMakerResponse) -> Any:
        environments[self._get_param("ProcessingJobName")] = dict(self._get_param("Environment") or {})
        return real(self)

    monkeypatch.setattr(SageMakerResponse, "create_processing_job", create_processing_job)

    def run_script(job_name: str, environment: dict[str, str]) -> None:
        """The container's script: a bare mlflow call in its own process; then the job ends."""
        subprocess.run(
            [sys.executable, "-c", CONTAINER_SCRIPT],
            env={
                **os.environ,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                **environment,
            },
            check=False,
            timeout=120,
        )
        wait_until(lambda: job_name in jobs.held)
        jobs.release(job_name)

    def decide(kind: str, job_name: str, request: dict[str, Any]) -> JobOutcome:
        environment = environments.get(job_name, {})
        seen.append(environment)
        if "MLFLOW_RUN_ID" not in environment:
            return Complete()
        threading.Thread(target=run_script, args=(job_name, environment), daemon=True).start()
        return Hold()  # InProgress while the script runs

    return decide


def runs_of(client: MlflowClient, experiment: str) -> tuple[Run, dict[str, Run]]:
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id], max_results=100)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.info.run_name for r in parents]
    return parents[0], {r.data.tags["pipelines.step_name"]: r for r in runs if r not in parents}


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
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
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
