"""MLflow logging in the embedded runtime, against a real MLflow SQLite tracking store."""

from __future__ import annotations

import json
import socket
import subprocess
import venv
from pathlib import Path

from mlflow.tracking import MlflowClient
from pipelines.cli import app
from pipelines.config import Config
from pipelines.engine import StartRequest
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.base import TrackingWarningRecord
from pipelines.store.sqlite import open_store
from pipelines.tracking import read_warnings
from typer.testing import CliRunner

from tests.tracking.conftest import (
    BUCKET,
    TRACKING_SERVER,
    processing,
    put_script,
    runs_of,
    split_runs,
    tracked_definition,
)


def warnings_of(config: Config, execution_id: str) -> list[TrackingWarningRecord]:
    """The execution's tracking warnings, as another process reads them from the store."""
    store = open_store(config)
    try:
        return read_warnings(store, execution_id)
    finally:
        store.close()


def run(config: Config, definition: str, request: StartRequest):
    runtime = EmbeddedRuntime(config)
    try:
        return runtime.run(definition, request)
    finally:
        runtime.close()  # flushes the tracking writes


def test_an_execution_is_a_parent_run_with_a_nested_run_per_step(config: Config, tracking_uri: str) -> None:
    definition = tracked_definition(put_script(config))
    final = run(
        config,
        definition,
        StartRequest(pipeline_name="tracked", parameters={"Threshold": "0.9"}, display_name="nightly-42"),
    )
    assert final.status == "Succeeded"

    client = MlflowClient(tracking_uri)
    parent, steps = split_runs(runs_of(client, "tracked"))  # the experiment is the pipeline name
    assert parent.info.run_name == "nightly-42"
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"Threshold": "0.9", "Label": "nightly"}  # coerced, defaults included
    tags = parent.data.tags
    assert tags["pipelines.execution_arn"] == final.execution_arn
    assert tags["pipelines.pipeline_name"] == "tracked"
    assert tags["pipelines.pipeline_version_id"] == "1"
    assert tags["pipelines.status"] == "Succeeded"

    assert set(steps) == {"Process", "Check", "Score"}
    for step in steps.values():
        assert step.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert step.info.status == "FINISHED"
        assert step.data.tags["pipelines.status"] == "Succeeded"
        assert step.data.tags["pipelines.cache_hit"] == "false"
        assert step.data.metrics["duration_seconds"] >= 0
    process = steps["Process"]
    assert process.info.run_name == "Process (attempt 1)"
    assert (process.data.tags["pipelines.step_type"], process.data.tags["pipelines.attempt"]) == (
        "Processing",
        "1",
    )
    # what the script logged with bare mlflow calls landed in its step's nested run
    assert process.data.metrics["rows"] == 3
    assert process.data.params["from_script"] == "tracked"
    assert steps["Check"].data.params == {"outcome": "True"}
    assert steps["Score"].data.params == {"output.score": "42", "output.label": "good"}
    assert warnings_of(config, final.execution_id) == []


def test_the_start_request_chooses_the_experiment_and_failures_mark_the_runs(
    config: Config, tracking_uri: str
) -> None:
    definition = tracked_definition(put_script(config))
    final = run(
        config,
        definition,
        StartRequest(
            pipeline_name="tracked", parameters={"Threshold": "0.1"}, mlflow_experiment_name="override"
        ),
    )
    assert final.status == "Failed"

    client = MlflowClient(tracking_uri)
    assert client.get_experiment_by_name("tracked") is None
    parent, steps = split_runs(runs_of(client, "override"))
    assert parent.info.run_name == final.execution_id  # no display name: the execution id
    assert parent.info.status == "FAILED"
    assert parent.data.tags["pipelines.failure_reason"] == final.failure_reason
    assert steps["Check"].data.params == {"outcome": "False"}
    assert steps["TooLow"].info.status == "FAILED"
    assert steps["TooLow"].data.tags["pipelines.failure_reason"] == "too low"
    assert "Score" not in steps


def test_a_cache_hit_is_marked_on_its_nested_run(config: Config, tracking_uri: str) -> None:
    definition = tracked_definition(put_script(config), cache=True)
    first = run(config, definition, StartRequest(pipeline_name="cached"))
    second = run(config, definition, StartRequest(pipeline_name="cached"))
    assert (first.status, second.status) == ("Succeeded", "Succeeded")

    runs = runs_of(MlflowClient(tracking_uri), "cached")
    by_execution = {
        arn: split_runs([r for r in runs if r.data.tags["pipelines.execution_arn"] == arn])
        for arn in (first.execution_arn, second.execution_arn)
    }
    original = by_execution[first.execution_arn][1]["Process"]
    reused = by_execution[second.execution_arn][1]["Process"]
    assert original.data.tags["pipelines.cache_hit"] == "false"
    assert reused.data.tags["pipelines.cache_hit"] == "true"
    assert reused.data.tags["pipelines.cache_hit_source_arn"] == first.execution_arn
    assert reused.info.status == "FINISHED"
    assert "rows" not in reused.data.metrics  # nothing ran: the script logged nothing there


def test_a_tracking_server_that_is_down_fails_nothing_and_leaves_warnings(
    config: Config, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = config.model_copy(update={"mlflow": {TRACKING_SERVER: f"http://127.0.0.1:{port}"}})
    final = run(down, tracked_definition(put_script(down)), StartRequest(pipeline_name="tracked"))

    assert final.status == "Succeeded"
    warnings = warnings_of(down, final.execution_id)
    assert warnings, "the dropped writes are recorded"
    assert all(w.message.startswith("MLflow") for w in warnings)
    assert any("started without its MLflow run" in w.message for w in warnings)
    assert {w.step_name for w in warnings} >= {None, "Process"}

    # `pipelines steps` shows them (from another command, reading the store)
    toml = tmp_path / "pipelines.toml"
    toml.write_text(
        f'state_dir = "{down.state_dir}"\nobject_root = "{down.object_root}"\n'
        f'[mlflow]\n"{TRACKING_SERVER}" = "http://127.0.0.1:{port}"\n'
    )
    shown = CliRunner().invoke(
        app, ["steps", final.execution_id, "--config", str(toml)], catch_exceptions=False
    )
    assert shown.exit_code == 0, shown.output
    assert (
        f"MLflow: experiment 'tracked', run '{final.execution_id}' at http://127.0.0.1:{port}" in shown.output
    )
    assert "warning: step Process: MLflow: attempt 1 started without its MLflow run" in " ".join(
        shown.output.split()
    )
    listed = CliRunner().invoke(app, ["steps", final.execution_id, "--config", str(toml), "--json"])
    assert len(json.loads(listed.stdout)["TrackingWarnings"]) == len(warnings)


def test_a_definition_without_mlflow_config_logs_nothing(config: Config, tracking_uri: str) -> None:
    final = run(
        config, tracked_definition(put_script(config), tracked=False), StartRequest(pipeline_name="plain")
    )
    assert final.status == "Succeeded" and final.mlflow is None
    client = MlflowClient(tracking_uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]
    assert not (config.state_dir / "mlflow.db").exists()


ENV_SCRIPT = """
import json, os
names = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID")
with open("/opt/ml/processing/output/env.json", "w") as out:
    json.dump({n: os.environ.get(n) for n in names}, out)
"""


def test_a_job_interpreter_without_mlflow_runs_and_gets_its_runs_variables(
    config: Config, tracking_uri: str, tmp_path: Path
) -> None:
    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)  # an interpreter with no mlflow
    interpreter = bare / "bin" / "python"
    assert subprocess.run([interpreter, "-c", "import mlflow"], capture_output=True).returncode != 0
    local = config.model_copy(update={"images": {"*": str(interpreter)}})
    step = processing("Process", put_script(local, ENV_SCRIPT))
    step["Arguments"]["ProcessingOutputConfig"] = {
        "Outputs": [
            {
                "OutputName": "env",
                "AppManaged": False,
                "S3Output": {
                    "S3Uri": f"s3://{BUCKET}/env",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    definition = {
        "Version": "2020-12-01",
        "MlflowConfig": {"MlflowResourceArn": TRACKING_SERVER},
        "Steps": [step],
    }
    final = run(local, json.dumps(definition), StartRequest(pipeline_name="bare"))
    assert final.status == "Succeeded"

    seen = json.loads((local.object_root / BUCKET / "env" / "env.json").read_text())
    _parent, steps = split_runs(runs_of(MlflowClient(tracking_uri), "bare"))
    assert seen == {
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": "bare",
        "MLFLOW_RUN_ID": steps["Process"].info.run_id,
    }
