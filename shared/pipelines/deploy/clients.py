"""boto3 clients for a deployed API: SageMaker, Scheduler and RAM, all signed for execute-api.

API Gateway with AWS_IAM auth verifies SigV4 for the ``execute-api`` service, whatever API the
request speaks; botocore has no option for the signing name, so a ``before-sign`` hook sets it
(the same hook :func:`pipelines.api.client.use_execute_api_signing` installs for SageMaker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from pipelines.api.client import EXECUTE_API
from pipelines.api.client import client as sagemaker_client


def sign_for_execute_api(service_client: Any, region_name: str) -> Any:
    """Make ``service_client`` sign its requests for API Gateway; returns it."""
    service = service_client.meta.service_model.service_name

    def scope(request: Any, **_: Any) -> None:
        request.context.setdefault("signing", {}).update(signing_name=EXECUTE_API, region=region_name)

    service_client.meta.events.register(f"before-sign.{service}", scope)
    return service_client


API_SERVICES = ("sagemaker", "scheduler", "ram", "events")


def sign_session_for_execute_api(
    session: boto3.Session, region_name: str, services: tuple[str, ...] = API_SERVICES
) -> None:
    """Every client ``session`` creates afterwards for ``services`` signs for API Gateway.

    For code that builds its own clients from a session -- the SageMaker SDK's
    ``Pipeline.put_triggers`` creates a ``scheduler`` client from ``sagemaker_session.boto_session``;
    combine with ``AWS_ENDPOINT_URL_SCHEDULER`` / ``AWS_ENDPOINT_URL_SAGEMAKER`` set to the API URL.
    """

    def scope(request: Any, **_: Any) -> None:
        request.context.setdefault("signing", {}).update(signing_name=EXECUTE_API, region=region_name)

    for service in services:
        session.events.register(f"before-sign.{service}", scope)


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
