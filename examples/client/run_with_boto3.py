"""Run the abalone example through ``pipelines serve`` as an unseen client: boto3 and nothing else.

This script knows only what any SageMaker user knows: the public S3 and SageMaker APIs. It does
not import this project, the SageMaker Python SDK or any helper, so if it works, the server is
speaking the services' wire protocol -- any other client of those APIs can do the same.

1. S3: create the code bucket (if missing) and upload ``preprocess.py``, ``evaluate.py`` and
   ``sourcedir.tar.gz`` (``train.py``) to ``s3://abalone-example/code/``, where
   ``examples/abalone/pipeline.json`` reads them. The example's data set ships with
   scikit-learn, so there is no data to upload.
2. SageMaker: CreatePipeline from ``pipeline.json`` (UpdatePipeline if it already exists),
   StartPipelineExecution, DescribePipelineExecution until the status is terminal, then
   ListPipelineExecutionSteps.

Exit status: 0 iff the execution Succeeded, 1 if it ended otherwise (or timed out), 2 when the
service could not be called.

    python examples/client/run_with_boto3.py --endpoint-url http://127.0.0.1:8080 [-p MseThreshold=100]
"""

from __future__ import annotations

import argparse
import io
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ABALONE = Path(__file__).resolve().parents[1] / "abalone"
PIPELINE_NAME = "AbalonePipeline"
CODE_BUCKET = "abalone-example"  # where pipeline.json reads the code from
CODE_PREFIX = "code"
ROLE_ARN = "arn:aws:iam::123456789012:role/AbaloneSageMakerRole"  # the definition's role
RUNNING_STATUSES = frozenset({"Executing", "Stopping"})  # every other status is terminal


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:8080", help="the `pipelines serve` URL")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline parameter for this execution (repeatable)",
    )
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    parser.add_argument("--timeout-seconds", type=float, default=900.0)
    return parser.parse_args(argv)


def pipeline_parameters(pairs: list[str]) -> list[dict[str, str]]:
    parameters = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--parameter {pair!r}: expected NAME=VALUE")
        parameters.append({"Name": name, "Value": value})
    return parameters


def sourcedir_tar_gz(script: Path) -> bytes:
    """Script mode's ``sourcedir.tar.gz``: the training script at the archive's root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(script, arcname=script.name)
    return buffer.getvalue()


def upload_code(s3: Any) -> list[str]:
    """Put the example's code where the definition reads it; the URIs written."""
    try:
        s3.head_bucket(Bucket=CODE_BUCKET)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
        s3.create_bucket(Bucket=CODE_BUCKET)
    code = ABALONE / "code"
    objects = {
        "preprocess.py": (code / "preprocess.py").read_bytes(),
        "evaluate.py": (code / "evaluate.py").read_bytes(),
        "sourcedir.tar.gz": sourcedir_tar_gz(code / "train.py"),
    }
    uris = []
    for name, body in objects.items():
        key = f"{CODE_PREFIX}/{name}"
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=body)
        uris.append(f"s3://{CODE_BUCKET}/{key}")
    return uris


def upsert_pipeline(sagemaker: Any, definition: str) -> str:
    """CreatePipeline, or UpdatePipeline when the name is taken (as ``Pipeline.upsert`` does)."""
    try:
        sagemaker.describe_pipeline(PipelineName=PIPELINE_NAME)
    except sagemaker.exceptions.ResourceNotFound:
        created = sagemaker.create_pipeline(
            PipelineName=PIPELINE_NAME, PipelineDefinition=definition, RoleArn=ROLE_ARN
        )
        return str(created["PipelineArn"])
    updated = sagemaker.update_pipeline(
        PipelineName=PIPELINE_NAME, PipelineDefinition=definition, RoleArn=ROLE_ARN
    )
    return str(updated["PipelineArn"])


def wait_until_terminal(
    sagemaker: Any, execution_arn: str, poll_seconds: float, timeout: float
) -> dict[str, Any]:
    """DescribePipelineExecution until the status leaves Executing/Stopping (or time runs out)."""
    deadline = time.monotonic() + timeout
    last_status = None
    while True:
        described: dict[str, Any] = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        status = described["PipelineExecutionStatus"]
        if status != last_status:
            print(f"status: {status}", flush=True)
            last_status = status
        if status not in RUNNING_STATUSES or time.monotonic() >= deadline:
            return described
        time.sleep(poll_seconds)


def step_lines(sagemaker: Any, execution_arn: str) -> list[str]:
    """One line per ListPipelineExecutionSteps entry, oldest first."""
    lines = []
    paginator = sagemaker.get_paginator("list_pipeline_execution_steps")
    for page in paginator.paginate(PipelineExecutionArn=execution_arn, SortOrder="Ascending"):
        for step in page["PipelineExecutionSteps"]:
            metadata = step.get("Metadata") or {}
            kind = next(iter(metadata), "-")
            notes = []
            if "CacheHitResult" in step:
                notes.append(f"cache hit of {step['CacheHitResult']['SourcePipelineExecutionArn']}")
            if kind == "Condition":
                notes.append(f"outcome {metadata['Condition'].get('Outcome')}")
            if step.get("FailureReason"):
                notes.append(step["FailureReason"])
            lines.append(f"{step['StepName']:<36} {step['StepStatus']:<10} {kind:<16} {'; '.join(notes)}")
    return lines


def run(args: argparse.Namespace) -> int:
    session = boto3.Session(region_name=args.region)
    if session.get_credentials() is None:
        print(
            "no AWS credentials: any key pair will do for `pipelines serve`, e.g. "
            "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
            file=sys.stderr,
        )
        return 2
    s3 = session.client("s3", endpoint_url=args.endpoint_url, config=Config(s3={"addressing_style": "path"}))
    sagemaker = session.client("sagemaker", endpoint_url=args.endpoint_url)

    for uri in upload_code(s3):
        print(f"uploaded {uri}")
    definition = (ABALONE / "pipeline.json").read_text()
    print(f"pipeline: {upsert_pipeline(sagemaker, definition)}")
    started = sagemaker.start_pipeline_execution(
        PipelineName=PIPELINE_NAME, PipelineParameters=pipeline_parameters(args.parameter)
    )
    execution_arn = started["PipelineExecutionArn"]
    print(f"execution: {execution_arn}", flush=True)

    described = wait_until_terminal(sagemaker, execution_arn, args.poll_seconds, args.timeout_seconds)
    print("steps:")
    for line in step_lines(sagemaker, execution_arn):
        print(f"  {line}")
    status = described["PipelineExecutionStatus"]
    if status in RUNNING_STATUSES:
        print(f"gave up after {args.timeout_seconds:g} s: still {status}", file=sys.stderr)
        return 1
    if status != "Succeeded":
        print(f"{status}: {described.get('FailureReason', '')}", file=sys.stderr)
        return 1
    print("Succeeded")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (BotoCoreError, ClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
