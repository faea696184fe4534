"""The environment contract between the CDK stack and the Lambda handlers.

The stack sets these variables (``infra`` imports the names from here, so both sides agree);
the handlers read them once per container with :meth:`CloudSettings.from_environment`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipelines.errors import ValidationError
from pipelines.triggers.sources import DeclaredSources

STATE_TABLE = "STATE_TABLE"
CACHE_TABLE = "CACHE_TABLE"
PAYLOAD_BUCKET = "PAYLOAD_BUCKET"  # large record bodies go to s3://<bucket>/payloads/
STEP_RUNNER_ARN = "STEP_RUNNER_ARN"
PIPELINE_EXECUTION_ARN = "PIPELINE_EXECUTION_ARN"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
CALLBACK_QUEUE_URL = "CALLBACK_QUEUE_URL"
REPORT_QUEUE_URL = "REPORT_QUEUE_URL"  # the engine's FIFO queue (reports, registrations, re-drives)
ENGINE_FUNCTION_NAME = "ENGINE_FUNCTION_NAME"
SCHEDULE_GROUP = "SCHEDULE_GROUP"
SCHEDULER_ROLE_ARN = "SCHEDULER_ROLE_ARN"
TRIGGER_FUNCTION_ARN = "TRIGGER_FUNCTION_ARN"
RULE_PREFIX = "RULE_PREFIX"
# How the api Lambda authorizes callers (pipelines.authorization): "policies" (the caller's IAM
# policies, read from IAM and evaluated here; the default), "simulate" (iam:SimulatePrincipalPolicy)
# or "off" (any principal the API Gateway resource policy admits; a single-team deployment).
AUTHORIZATION = "AUTHORIZATION"
AUTHORIZATION_MODES = ("policies", "simulate", "off")
# The deployment's own account (the stack sets it; without it, STS GetCallerIdentity): the one
# account that creates pipelines, schedules and rules, and whose users' policies are evaluated.
OWNER_ACCOUNT = "OWNER_ACCOUNT"
# The web console's origin (``https://<distribution>.cloudfront.net``) when the stack deploys
# it: the api Lambda answers that origin's cross-origin calls with CORS headers (API Gateway
# answers the preflight itself); unset, no CORS header is sent.
CONSOLE_ORIGIN = "CONSOLE_ORIGIN"
# What rules registered through the API may select (pipelines.triggers.sources): comma-separated
# bucket names, alarm names and custom event sources; an entry ending in "*" is a prefix, "*"
# alone anything. Unset: none of that kind (the deployment declares its trigger sources).
TRIGGER_BUCKETS = "TRIGGER_BUCKETS"
TRIGGER_ALARMS = "TRIGGER_ALARMS"
TRIGGER_SOURCES = "TRIGGER_SOURCES"
REGION = "AWS_REGION"  # set by the Lambda runtime


class MissingSetting(ValidationError):
    """A handler runs without a variable the stack sets: a deployment error, named precisely."""

    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set; deploy the function with the CDK stack")


@dataclass(frozen=True)
class CloudSettings:
    region: str
    state_table: str
    cache_table: str
    payload_bucket: str | None
    step_runner_arn: str | None
    pipeline_execution_arn: str | None
    event_bus_name: str | None
    callback_queue_url: str | None
    report_queue_url: str | None
    engine_function_name: str | None
    schedule_group: str | None
    scheduler_role_arn: str | None
    trigger_function_arn: str | None
    rule_prefix: str | None
    authorization: str = "policies"
    owner_account: str | None = None
    trigger_sources: DeclaredSources = field(default_factory=DeclaredSources)

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> CloudSettings:
        env = os.environ if env is None else env

        def required(name: str) -> str:
            value = env.get(name)
            if not value:
                raise MissingSetting(name)
            return value

        return cls(
            region=required(REGION),
            state_table=required(STATE_TABLE),
            cache_table=required(CACHE_TABLE),
            payload_bucket=env.get(PAYLOAD_BUCKET) or None,
            step_runner_arn=env.get(STEP_RUNNER_ARN) or None,
            pipeline_execution_arn=env.get(PIPELINE_EXECUTION_ARN) or None,
            event_bus_name=env.get(EVENT_BUS_NAME) or None,
            callback_queue_url=env.get(CALLBACK_QUEUE_URL) or None,
            report_queue_url=env.get(REPORT_QUEUE_URL) or None,
            engine_function_name=env.get(ENGINE_FUNCTION_NAME) or None,
            schedule_group=env.get(SCHEDULE_GROUP) or None,
            scheduler_role_arn=env.get(SCHEDULER_ROLE_ARN) or None,
            trigger_function_arn=env.get(TRIGGER_FUNCTION_ARN) or None,
            rule_prefix=env.get(RULE_PREFIX) or None,
            authorization=_authorization(env.get(AUTHORIZATION) or "policies"),
            owner_account=env.get(OWNER_ACCOUNT) or None,
            trigger_sources=DeclaredSources(
                buckets=declared_names(env.get(TRIGGER_BUCKETS)),
                alarms=declared_names(env.get(TRIGGER_ALARMS), arn_marker=":alarm:"),
                sources=declared_names(env.get(TRIGGER_SOURCES)),
            ),
        )

    def store_environment(self) -> dict[str, str]:
        """The variables :func:`pipelines.store.dynamodb.store_from_environment` reads."""
        names = {STATE_TABLE: self.state_table, CACHE_TABLE: self.cache_table, REGION: self.region}
        if self.payload_bucket:
            names[PAYLOAD_BUCKET] = self.payload_bucket
        return names


def declared_names(value: str | None, *, arn_marker: str | None = None) -> tuple[str, ...] | None:
    """A declaration variable's entries (None: ``*``, anything); ARNs given for alarms become
    their names."""
    entries = [e.strip() for e in (value or "").split(",") if e.strip()]
    if "*" in entries:
        return None
    if arn_marker is not None:
        entries = [e.split(arn_marker, 1)[1] if arn_marker in e else e for e in entries]
    return tuple(entries)


def _authorization(mode: str) -> str:
    if mode not in AUTHORIZATION_MODES:
        raise ValidationError(f"{AUTHORIZATION}={mode!r} is not one of {', '.join(AUTHORIZATION_MODES)}")
    return mode
