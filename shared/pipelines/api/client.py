"""A real boto3 SageMaker client pointed at our API, embedded or cloud.

Locally (``pipelines serve``) requests go unsigned unless credentials are given, and then act
as the account the access key maps to in ``[accounts]``. In the cloud the API sits behind API
Gateway with AWS_IAM auth, which requires the ``execute-api`` signing scope instead of
``sagemaker``; botocore has no option for that, so a ``before-sign`` hook sets it (verified:
retries are re-signed the same way; :func:`sign_for_execute_api` does it for any client). With ``per_operation_paths`` each call goes to
``<endpoint>/<Operation>`` so IAM policies can scope by operation; the server checks the path
against ``X-Amz-Target``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig

EXECUTE_API = "execute-api"


def execute_api_scope(region_name: str) -> Callable[..., None]:
    """A ``before-sign`` hook that signs for API Gateway (``execute-api``) in ``region_name``."""

    def scope(request: Any, **_: Any) -> None:
        request.context.setdefault("signing", {}).update(signing_name=EXECUTE_API, region=region_name)

    return scope


def sign_for_execute_api(service_client: Any, region_name: str) -> Any:
    """Make any boto3 client (SageMaker, Scheduler, RAM, EventBridge) sign its requests for API
    Gateway instead of its own service; returns it."""
    service = service_client.meta.service_model.service_name
    service_client.meta.events.register(f"before-sign.{service}", execute_api_scope(region_name))
    return service_client


def use_per_operation_paths(sagemaker_client: Any) -> None:
    """Send each call to ``<endpoint>/<Operation>`` (set before signing, so the path is signed)."""

    def path(model: Any, params: dict[str, Any], **_: Any) -> None:
        params["url"] = params["url"].rstrip("/") + "/" + model.name

    sagemaker_client.meta.events.register("before-call.sagemaker", path)


def client(
    endpoint_url: str,
    region_name: str = "us-east-1",
    *,
    cloud: bool = False,
    per_operation_paths: bool = False,
    session: boto3.Session | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
    config: BotoConfig | None = None,
) -> Any:
    """A boto3 ``sagemaker`` client for our endpoint (see the module docstring)."""
    session = session or boto3.Session(
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        region_name=region_name,
    )
    settings = config or BotoConfig()
    if not cloud and session.get_credentials() is None:
        settings = settings.merge(BotoConfig(signature_version=UNSIGNED))
    sagemaker_client = session.client(
        "sagemaker", endpoint_url=endpoint_url, region_name=region_name, config=settings
    )
    if cloud:
        sign_for_execute_api(sagemaker_client, region_name)
    if per_operation_paths or cloud:
        use_per_operation_paths(sagemaker_client)
    return sagemaker_client
