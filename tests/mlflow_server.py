"""A real MLflow tracking server for tests (mlflow's own server app over a SQLite file), and a
moto job that logs to it as a container's script would.

It stands in for a SageMaker managed MLflow tracking server (moto has none). Cloud code reaches
it only through the sagemaker-mlflow plugin's own ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT``: the
tracking URI stays the server's ARN, as deployed. Used by tests/cloud/test_mlflow_cloud.py and
the deploy rehearsal's MLflow scenario.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from moto.sagemaker.responses import SageMakerResponse
from pipelines.hosting.model_server import free_port
from pipelines.testing import stop_process

from tests.cloud.harness import wait_until
from tests.cloud.moto_patches import Complete, Hold, JobControl, JobOutcome


@contextmanager
def running_tracking_server(root: Path) -> Iterator[str]:
    """A tracking server (SQLite under ``root``) on a free loopback port, for the block; its URL."""
    port = free_port()
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
        stop_process(process, grace=10)
        log.close()


def runs_of(client: MlflowClient, experiment: str) -> tuple[Run, dict[str, Run]]:
    """The experiment's one parent run, and its nested runs by step name."""
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    runs = client.search_runs([found.experiment_id], max_results=100)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, [r.info.run_name for r in parents]
    return parents[0], {r.data.tags["pipelines.step_name"]: r for r in runs if r not in parents}


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
