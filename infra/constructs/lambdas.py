"""One factory for every handler, so runtime, architecture, tracing, logging and the core layer
are set in one place (the engine adds its MLflow layer after it: ``extra_layers``; the Pipeline
construct's provider, which has no stack settings, uses :func:`python_function` itself)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.log_groups import log_group
from infra.nag import acknowledge_unscoped_actions
from infra.packaging import RUNTIME, architecture, handler_code
from infra.settings import Settings


def handler_function(
    scope: Construct,
    construct_id: str,
    *,
    handler_dir: str,
    settings: Settings,
    layer: lambda_.ILayerVersion,
    environment: dict[str, str],
    extra_layers: Sequence[lambda_.ILayerVersion] = (),
    timeout: cdk.Duration = cdk.Duration.seconds(30),
    memory_size: int = 512,
    description: str,
    dead_letter_queue: sqs.IQueue | None = None,
) -> lambda_.Function:
    """A handler of the stack: Powertools' service name and metrics namespace, and the stage."""
    return python_function(
        scope,
        construct_id,
        handler_dir=handler_dir,
        arm64=settings.arm64,
        log_retention_days=settings.log_retention_days,
        layers=[layer, *extra_layers],
        timeout=timeout,
        memory_size=memory_size,
        description=description,
        dead_letter_queue=dead_letter_queue,
        environment={
            "POWERTOOLS_SERVICE_NAME": f"pipelines-{handler_dir}",
            "POWERTOOLS_METRICS_NAMESPACE": "SelfHostedPipelines",
            "PIPELINES_STAGE": settings.stage,
            **environment,
        },
    )


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    handler_dir: str,
    arm64: bool,
    log_retention_days: int,
    layers: Sequence[lambda_.ILayerVersion],
    environment: dict[str, str],
    timeout: cdk.Duration,
    memory_size: int,
    description: str,
    dead_letter_queue: sqs.IQueue | None = None,
    log_group_id: str | None = None,
) -> lambda_.Function:
    """The thin handler ``functions/<handler_dir>`` on ``layers``, traced with X-Ray, logging to
    a log group of its own (``log_group_id``, by default ``<construct_id>Logs``)."""
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=RUNTIME,
        architecture=architecture(arm64),
        handler="handler.handler",
        code=handler_code(handler_dir),
        layers=list(layers),
        timeout=timeout,
        memory_size=memory_size,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group(scope, log_group_id or f"{construct_id}Logs", log_retention_days),
        description=description,
        dead_letter_queue=dead_letter_queue,
        environment=environment,
    )
    acknowledge_unscoped_actions(
        function.role, "X-Ray trace upload (xray:PutTraceSegments, PutTelemetryRecords)"
    )
    return function
