"""API Lambda: SageMaker pipeline operations (AWS JSON 1.1) plus the Scheduler, RAM and
EventBridge subsets, behind API Gateway (REST, AWS_IAM).

Thin: the proxy event goes to :func:`pipelines.deploy.apigateway.handle_proxy_event` with the
services wired once per container by :func:`pipelines.deploy.wiring.cloud_endpoint`.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipelines.deploy.apigateway import handle_proxy_event, to_proxy_response
from pipelines.deploy.settings import CONSOLE_ORIGIN
from pipelines.deploy.wiring import cloud_endpoint

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(log_event=False, correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    logger.append_keys(caller_account=identity.get("accountId"), caller=identity.get("userArn"))
    service, response = handle_proxy_event(cloud_endpoint(), event)
    metrics.add_dimension(name="api", value=service)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if response.status >= 500:
        metrics.add_metric(name="Faults", unit=MetricUnit.Count, value=1)
    logger.info(
        "answered",
        extra={
            "service": service,
            "status": response.status,
            "target": (event.get("headers") or {}).get("X-Amz-Target"),
        },
    )
    return to_proxy_response(response, allow_origin=os.environ.get(CONSOLE_ORIGIN))
