"""Custom-resource provider of the ``Pipeline`` construct (CDK Provider framework onEvent).

Thin: the request goes to :class:`pipelines.deploy.resource.PipelineResource`, which calls the
deployment's API at ``API_URL`` signed with this function's role.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipelines.deploy.clients import api_clients
from pipelines.deploy.resource import PipelineResource

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.info(
        "pipeline resource request",
        extra={"request_type": event.get("RequestType"), "physical_id": event.get("PhysicalResourceId")},
    )
    clients = api_clients(os.environ["API_URL"], os.environ["AWS_REGION"])
    return PipelineResource(clients).on_event(event)
