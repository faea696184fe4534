"""Talking to a local ``pipelines serve`` from the hosting tests: boto3 clients pointed at the
server, and waiting for an endpoint to come into service (the CLI on a project is
``tests.cli.helpers.pipelines``)."""

from __future__ import annotations

import time
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

# One attempt: a test sees the server's first answer, not a retried one. Model servers answer
# InvokeEndpoint within the read timeout even on a loaded CI machine.
_CLIENT_CONFIG = BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=120)


def local_client(service: str, url: str) -> Any:
    """A boto3 client of ``service`` (``sagemaker``, ``sagemaker-runtime``, ``s3``) for the server
    at ``url``, signing for us-east-1 with placeholder keys."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key="unused",
        config=_CLIENT_CONFIG,
    )


def in_service(url: str, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """DescribeEndpoint once the endpoint is InService; only Creating/SystemUpdating on the way."""
    sagemaker = local_client("sagemaker", url)
    deadline = time.monotonic() + timeout
    while True:
        described = sagemaker.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] == "InService":
            return dict(described)
        assert described["EndpointStatus"] in ("SystemUpdating", "Creating"), described
        assert time.monotonic() < deadline, described
        time.sleep(0.2)
