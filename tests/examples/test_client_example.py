"""examples/client/run_with_boto3.py, a boto3-only client, runs the abalone example against a
real ``pipelines serve`` (in-process, on a free port, over examples/abalone/pipelines.toml with
its state in tmp_path), and the server answers a bad call with the service's error code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from pipelines.api.embedded import build_embedded_api
from pipelines.api.server import ApiServer
from pipelines.config import load_config

from tests.project_files import ABALONE_GOOD_MODEL_STEPS, EXAMPLES

CLIENT = EXAMPLES / "client" / "run_with_boto3.py"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # examples/abalone/pipelines.toml


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    config = load_config(EXAMPLES / "abalone" / "pipelines.toml").model_copy(
        update={"state_dir": tmp_path / "state", "object_root": tmp_path / "objects"}
    )
    api = build_embedded_api(config, strict_shapes=True)
    served = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
    yield served
    served.stop()


def sagemaker_client(server: ApiServer) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def run_client(server: ApiServer, *args: str) -> subprocess.CompletedProcess[str]:
    """The script as a user runs it: its own process, credentials from the environment, and no
    endpoint variables (it must pass the endpoint to its clients itself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    command = [sys.executable, str(CLIENT), "--endpoint-url", server.url, "--poll-seconds", "0.5", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_boto3_client_runs_the_abalone_example_through_the_server(server: ApiServer) -> None:
    done = run_client(server)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "uploaded s3://abalone-example/code/sourcedir.tar.gz" in done.stdout
    # pipeline ARNs keep the name's letter case (the SDK's integration tests match
    # CreatePipeline's ARN against ``pipeline/{pipeline_name}``)
    assert f"pipeline: arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/AbalonePipeline" in done.stdout
    sagemaker = sagemaker_client(server)
    [execution] = sagemaker.list_pipeline_executions(PipelineName="AbalonePipeline")[
        "PipelineExecutionSummaries"
    ]
    assert execution["PipelineExecutionStatus"] == "Succeeded"
    assert execution["PipelineExecutionArn"] in done.stdout
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution["PipelineExecutionArn"])
    statuses = {s["StepName"]: s["StepStatus"] for s in steps["PipelineExecutionSteps"]}
    assert statuses == dict.fromkeys(ABALONE_GOOD_MODEL_STEPS, "Succeeded")
    for name in statuses:  # the script printed every step
        assert f"  {name} " in done.stdout

    # a second run (the pipeline now exists: UpdatePipeline; the jobs are cache hits) with a
    # threshold no model meets takes the Fail branch, and the script exits non-zero
    failed = run_client(server, "-p", "MseThreshold=100")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    # the execution's reason is the service's generic one; the Fail step carries the message
    assert "Failed: Step failure: One or multiple steps failed" in failed.stderr
    assert "Execution failed due to MSE > 100.0" in failed.stdout
    assert "AbaloneMSEFail" in failed.stdout and "cache hit of " in failed.stdout


def test_a_bad_call_gets_the_service_error_code(server: ApiServer) -> None:
    """An unknown (well-formed) execution ARN is the modelled ``ResourceNotFound`` -- no
    ``Exception`` suffix -- with HTTP 400, the JSON protocol's status for client errors; an ARN
    that breaks the member's pattern, which botocore does not check client-side, is the
    service's ``ValidationException``."""
    sagemaker = sagemaker_client(server)
    unknown = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/abalonepipeline/execution/0123456789ab"
    with pytest.raises(sagemaker.exceptions.ResourceNotFound) as not_found:
        sagemaker.describe_pipeline_execution(PipelineExecutionArn=unknown)
    assert not_found.value.response["Error"]["Code"] == "ResourceNotFound"
    assert not_found.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    with pytest.raises(ClientError) as invalid:
        sagemaker.describe_pipeline_execution(PipelineExecutionArn="not-an-arn")
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    assert invalid.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
