"""boto3 clients for a deployed API: SageMaker, Scheduler and RAM, all signed for execute-api.

API Gateway with AWS_IAM auth verifies SigV4 for the ``execute-api`` service, whatever API the
request speaks; botocore has no option for the signing name, so a ``before-sign`` hook sets it
(:func:`pipelines.api.client.sign_for_execute_api`, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from pipelines.api.client import client as sagemaker_client
from pipelines.api.client import execute_api_scope, sign_for_execute_api

API_SERVICES = ("sagemaker", "scheduler", "ram", "events")


def sign_session_for_execute_api(
    session: boto3.Session, region_name: str, services: tuple[str, ...] = API_SERVICES
) -> None:
    """Every client ``session`` creates afterwards for ``services`` signs for API Gateway.

    For code that builds its own clients from a session -- the SageMaker SDK's
    ``Pipeline.put_triggers`` creates a ``scheduler`` client from ``sagemaker_session.boto_session``;
    combine with ``AWS_ENDPOINT_URL_SCHEDULER`` / ``AWS_ENDPOINT_URL_SAGEMAKER`` set to the API URL.
    """

    scope = execute_api_scope(region_name)
    for service in services:
        session.events.register(f"before-sign.{service}", scope)


__all__ = [
    "API_SERVICES",
    "ApiClients",
    "api_clients",
    "sign_for_execute_api",
    "sign_session_for_execute_api",
]


@dataclass(frozen=True)
class ApiClients:
    sagemaker: Any
    scheduler: Any
    ram: Any
    events: Any


def api_clients(
    endpoint_url: str,
    region_name: str,
    *,
    session: boto3.Session | None = None,
    config: BotoConfig | None = None,
) -> ApiClients:
    """Clients for every API the deployment serves at ``endpoint_url`` (its stage URL)."""
    session = session or boto3.Session(region_name=region_name)
    settings = config or BotoConfig(retries={"max_attempts": 5, "mode": "standard"})

    def rest(service: str) -> Any:
        made = session.client(  # type: ignore[call-overload]
            service, endpoint_url=endpoint_url, region_name=region_name, config=settings
        )
        return sign_for_execute_api(made, region_name)

    return ApiClients(
        sagemaker=sagemaker_client(endpoint_url, region_name, cloud=True, session=session, config=settings),
        scheduler=rest("scheduler"),
        ram=rest("ram"),
        events=rest("events"),
    )
