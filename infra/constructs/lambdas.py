"""One factory for every handler, so runtime, architecture, tracing, logging and the core layer
are set in one place (the engine adds its MLflow layer after it: ``extra_layers``)."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge_unscoped_actions
from infra.packaging import RUNTIME, handler_code
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
    log_group = logs.LogGroup(
        scope,
        f"{construct_id}Logs",
        retention=log_retention(settings.log_retention_days),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    function = lambda_.Function(
        scope,
        construct_id,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64 if settings.arm64 else lambda_.Architecture.X86_64,
        handler="handler.handler",
        code=handler_code(handler_dir),
        layers=[layer, *extra_layers],
        timeout=timeout,
        memory_size=memory_size,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        description=description,
        dead_letter_queue=dead_letter_queue,
        environment={
            "POWERTOOLS_SERVICE_NAME": f"pipelines-{handler_dir}",
            "POWERTOOLS_METRICS_NAMESPACE": "SelfHostedPipelines",
            "PIPELINES_STAGE": settings.stage,
            **environment,
        },
    )
    acknowledge_unscoped_actions(
        function.role, "X-Ray trace upload (xray:PutTraceSegments, PutTelemetryRecords)"
    )
    return function


def log_retention(days: int) -> logs.RetentionDays:
    """The ``logRetentionDays`` setting as CloudWatch Logs accepts it (every log group uses it)."""
    by_days = {
        1: logs.RetentionDays.ONE_DAY,
        3: logs.RetentionDays.THREE_DAYS,
        5: logs.RetentionDays.FIVE_DAYS,
        7: logs.RetentionDays.ONE_WEEK,
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        60: logs.RetentionDays.TWO_MONTHS,
        90: logs.RetentionDays.THREE_MONTHS,
        180: logs.RetentionDays.SIX_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
    }
    if days not in by_days:
        raise ValueError(f"logRetentionDays must be one of {sorted(by_days)}, got {days}")
    return by_days[days]
