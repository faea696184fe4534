"""Every log group the stack makes keeps its logs as long as ``logRetentionDays`` says and goes
with the stack: one place says how."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Construct


def log_group(scope: Construct, construct_id: str, retention_days: int, **options: Any) -> logs.LogGroup:
    """A log group kept ``retention_days`` and deleted with the stack; ``options`` are its own
    settings (e.g. ``log_group_name``)."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=log_retention(retention_days),
        removal_policy=cdk.RemovalPolicy.DESTROY,
        **options,
    )


def log_retention(days: int) -> logs.RetentionDays:
    """The ``logRetentionDays`` setting as CloudWatch Logs accepts it."""
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
