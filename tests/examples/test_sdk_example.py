"""examples/sdk/run.py, the SageMaker SDK v2 journey, as a user runs it: its own process against
a real ``pipelines serve`` over examples/sdk/pipelines.toml (state in tmp_path). It must run the
pipeline, read a @step result, print the processing job's logs and approve the model, and
nothing may leave the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipelines.api.embedded import build_embedded_api
from pipelines.api.server import ApiServer
from pipelines.config import load_config
from pipelines.events import MODEL_PACKAGE_STATE_CHANGE, events_path, read_events

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sdk"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    config = load_config(EXAMPLE / "pipelines.toml").model_copy(
        update={"state_dir": tmp_path / "state", "object_root": tmp_path / "objects"}
    )
    api = build_embedded_api(config, strict_shapes=True)
    served = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
    yield served
    served.stop()


def test_the_sdk_example_runs_reads_results_and_logs_and_approves(server: ApiServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    # no credentials or SDK config from this machine; no instance metadata; HOME without ~/.config/sagemaker
    env.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull)
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py"), "--endpoint", server.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status: Succeeded" in done.stdout
    assert "Summarize result(): {'count': 10, 'mean': 5.5}" in done.stdout
    assert "prepared 10 numbers" in done.stdout and "wrote model.tar.gz" in done.stdout  # wait(logs=True)
    assert ": Approved" in done.stdout
    assert "Traceback" not in done.stderr  # telemetry opted out: nothing tried to reach AWS

    # the approval is announced as SageMaker announces it
    config = load_config(EXAMPLE / "pipelines.toml").model_copy(update={"state_dir": tmp_path / "state"})
    approvals = [
        e for e in read_events(events_path(config)) if e["detail-type"] == MODEL_PACKAGE_STATE_CHANGE
    ]
    assert [e["detail"]["ModelApprovalStatus"] for e in approvals] == ["Approved"]  # type: ignore[index]
