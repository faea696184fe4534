"""The experiment override through boto3's StartPipelineExecution against `pipelines serve`,
logging to the default local store (``sqlite:///<state_dir>/mlflow.db``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
from mlflow.tracking import MlflowClient
from pipelines.api.embedded import build_embedded_api
from pipelines.config import Config
from pipelines.tracking import default_tracking_uri

from tests.tracking.conftest import (
    TRACKING_SERVER,
    put_script,
    runs_of,
    split_runs,
    tracked_definition,
    tracking_store,
)


def wait_done(sm: Any, arn: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if answer["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return answer
        assert time.monotonic() < deadline, f"{arn} still {answer['PipelineExecutionStatus']}"
        time.sleep(0.1)


def test_start_pipeline_execution_chooses_the_experiment(config: Config, mlflow_template: Path) -> None:
    local = config.model_copy(update={"mlflow": {}})  # no mapping: the default store
    uri = tracking_store(mlflow_template, local.state_dir / "mlflow.db")
    assert uri == default_tracking_uri(local.state_dir)
    api = build_embedded_api(local, strict_shapes=True)
    server = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
    try:
        sm = boto3.client(
            "sagemaker",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="AKIDLOCAL",
            aws_secret_access_key="secret",
        )
        sm.create_pipeline(
            PipelineName="served",
            PipelineDefinition=tracked_definition(put_script(local)),
            RoleArn="arn:aws:iam::000000000000:role/pipelines",
        )
        arn = sm.start_pipeline_execution(
            PipelineName="served",
            PipelineExecutionDisplayName="from-boto3",
            PipelineParameters=[{"Name": "Label", "Value": "weekly"}],
            MlflowExperimentName="chosen-per-run",
        )["PipelineExecutionArn"]
        described = wait_done(sm, arn)
        assert described["PipelineExecutionStatus"] == "Succeeded"
        assert described["MLflowConfig"] == {
            "MlflowResourceArn": TRACKING_SERVER,
            "MlflowExperimentName": "chosen-per-run",
        }
    finally:
        server.stop()
        api.close()

    parent, steps = split_runs(runs_of(MlflowClient(uri), "chosen-per-run"))
    assert parent.info.run_name == "from-boto3"
    assert parent.data.tags["pipelines.execution_arn"] == arn
    assert parent.data.params["Label"] == "weekly"
    assert parent.info.status == "FINISHED"
    assert steps["Process"].data.metrics["rows"] == 3
    assert set(steps) == {"Process", "Check", "Score"}
