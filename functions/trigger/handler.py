"""Trigger Lambda: starts a pipeline execution for a schedule occurrence or a matched event.

Thin: the input (sent by EventBridge Scheduler or by a rule's input transformer) is parsed by
:func:`pipelines.triggers.parse_invocation` and fired through StartPipelineExecution of the
API's own operations, with a ClientRequestToken per firing so a redelivery starts nothing new.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipelines.deploy.wiring import cloud_starter
from pipelines.triggers import fire, parse_invocation

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    invocation = parse_invocation(event)
    arn = fire(invocation, cloud_starter())
    metrics.add_dimension(name="kind", value=invocation.kind)
    metrics.add_metric(name="TriggeredStarts", unit=MetricUnit.Count, value=1)
    logger.info("started", extra={"trigger": invocation.target.trigger, "execution_arn": arn})
    return {"PipelineExecutionArn": arn}
