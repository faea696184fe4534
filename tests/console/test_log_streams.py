"""The log stream the console tails keeps its name from the job's start to its end: it is named
after the job's CreationTime, which must not move when the job's final record is written (it
did, by a fraction of a second, and the stream was renamed whenever a second boundary fell in
between: the console then lost its place in the log)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.console.conftest import wait_until
from tests.console.pipelines import create, processing
from tests.sdk_integ.upstream_plugin import Server

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package


def test_a_running_jobs_stream_keeps_its_name(sm: Any, server: Server, tmp_path: Path) -> None:
    logs = boto3.client(
        "logs",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDCONSOLE",
        aws_secret_access_key="secret",
    )
    gate = tmp_path / "gate"
    script = f"import os, time\nprint('up', flush=True)\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.02)\n"
    create(sm, "streams", [processing("Hold", script)])
    arn = sm.start_pipeline_execution(PipelineName="streams")["PipelineExecutionArn"]
    execution = arn.rsplit("/", 1)[1]

    def streams() -> list[str]:
        found = logs.describe_log_streams(logGroupName="/aws/sagemaker/ProcessingJobs")["logStreams"]
        return [s["logStreamName"] for s in found if f"-{execution}-" in s["logStreamName"]]

    running = wait_until(streams, "the running job's stream")
    job = running[0].split("/")[0]
    created = sm.describe_processing_job(ProcessingJobName=job)["CreationTime"]
    gate.write_text("open")
    wait_until(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        == "Succeeded",
        "the run",
    )
    assert sm.describe_processing_job(ProcessingJobName=job)["CreationTime"] == created
    assert streams() == running
