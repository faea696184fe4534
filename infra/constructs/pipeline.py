"""Pipelines as infrastructure: the ``Pipeline`` construct, like ``AWS::SageMaker::Pipeline``.

The definition (a file, JSON text or a dict) is validated at synth time with the service's own
validator, so a bad definition fails ``cdk synth`` with every problem listed. The pipeline is
registered by a custom resource whose provider calls the deployment's API (CreatePipeline,
UpdatePipeline -- a changed definition publishes a new version --, tags, RAM shares, Scheduler
schedules; DeletePipeline on removal), so pipelines created from CDK behave exactly like
pipelines created with boto3 or the SageMaker SDK. Event triggers declared on the construct
are EventBridge rules (:class:`~infra.constructs.event_triggers.PipelineEventTrigger`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct
from pipelines.api.schedule_expressions import parse_schedule_expression
from pipelines.definition import DefinitionError, PipelineDefinition, check_definition
from pipelines.deploy.resource import SPEC_PROPERTY, PipelineSpec, ScheduleSpec, ShareSpec
from pipelines.errors import ValidationError
from pipelines.triggers import check_definition_parameters, model_monitor_drift, s3_object_created

from infra.constructs.arns import pipeline_roles_arn
from infra.constructs.deployment import PipelinesDeployment
from infra.constructs.event_triggers import PipelineEventTrigger
from infra.constructs.lambdas import python_function
from infra.constructs.log_groups import log_group
from infra.packaging import core_layer

MAX_INLINE_DEFINITION = 400 * 1024
"""The definition travels inline in the template (CloudFormation allows 1 MB per template)."""


class InvalidPipelineDefinition(DefinitionError):
    """The definition given to a ``Pipeline`` construct does not validate (fails the synth)."""

    def __init__(self, construct_path: str, errors: Sequence[Any]) -> None:
        super().__init__(errors)
        listed = "\n".join(f"  - {problem}" for problem in errors)
        self.message = f"Pipeline {construct_path}: the definition is invalid:\n{listed}"
        self.args = (self.message,)


@dataclass(frozen=True)
class PipelineShare:
    """Share the pipeline with accounts (they accept the RAM invitation); ``allow_execution``
    grants Start/Stop/Retry besides the read-only actions."""

    name: str
    accounts: Sequence[str]
    allow_execution: bool = False

    def spec(self) -> ShareSpec:
        permission = (
            "AWSRAMPermissionSageMakerPipelineAllowExecution"
            if self.allow_execution
            else "AWSRAMDefaultPermissionSageMakerPipeline"
        )
        return ShareSpec(name=self.name, accounts=list(self.accounts), permission=permission)


@dataclass(frozen=True)
class PipelineSchedule:
    """A PipelineSchedule trigger: ``at(...)``, ``rate(...)`` or AWS six-field ``cron(...)``."""

    name: str
    expression: str
    timezone: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    description: str | None = None
    start_date: str | None = None  # ISO-8601
    end_date: str | None = None


def definition_text(definition: str | Path | Mapping[str, Any]) -> str:
    """A file path, JSON text or a dict, as the definition text the API receives."""
    if isinstance(definition, Mapping):
        return json.dumps(definition)
    if isinstance(definition, Path):
        return definition.read_text(encoding="utf-8")
    if definition.lstrip().startswith("{"):
        return definition
    return Path(definition).read_text(encoding="utf-8")


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# What the provider calls on the deployment's pipelines (pipelines.deploy.resource).
PROVIDER_ACTIONS = (
    "StartPipelineExecution",  # a schedule or rule it registers starts the pipeline: the API checks that
    "CreatePipeline",
    "UpdatePipeline",
    "DeletePipeline",
    "DescribePipeline",
    "AddTags",
    "DeleteTags",
    "ListTags",
)


class PipelineProvider(Construct):
    """The custom-resource provider, one per stack: a Lambda calling the deployment's API."""

    ID = "PipelineResourceProvider"

    @classmethod
    def of(
        cls,
        scope: Construct,
        deployment: PipelinesDeployment,
        *,
        arm64: bool = True,
        log_retention_days: int = 30,
    ) -> PipelineProvider:
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        if isinstance(existing, PipelineProvider):
            return existing
        return cls(stack, cls.ID, deployment=deployment, arm64=arm64, log_retention_days=log_retention_days)

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: PipelinesDeployment,
        arm64: bool = True,
        log_retention_days: int = 30,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        layer = deployment.layer or core_layer(self, "CoreLayer", arm64=arm64)
        self.function = python_function(
            self,
            "Function",
            handler_dir="pipeline_resource",
            arm64=arm64,
            log_retention_days=log_retention_days,
            layers=[layer],
            timeout=cdk.Duration.minutes(5),
            memory_size=256,
            description="Registers Pipeline constructs through the pipelines API",
            environment={
                "API_URL": deployment.api_url,
                "POWERTOOLS_SERVICE_NAME": "pipelines-resource",
            },
            log_group_id="Logs",
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="CallPipelinesApi",
                actions=["execute-api:Invoke"],
                resources=deployment.invoke_arns(stack),
            )
        )
        # The API authorizes the provider like any caller, by its IAM policies (docs/deploy.md).
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManagePipelines",
                actions=[f"sagemaker:{a}" for a in PROVIDER_ACTIONS],
                resources=[stack.format_arn(service="sagemaker", resource="pipeline", resource_name="*")],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassPipelineRoles",
                actions=["iam:PassRole"],
                resources=[pipeline_roles_arn(stack)],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        framework_logs = log_group(self, "FrameworkLogs", log_retention_days)
        self.provider = cr.Provider(
            self, "Provider", on_event_handler=self.function, log_group=framework_logs
        )

    @property
    def service_token(self) -> str:
        return self.provider.service_token


class Pipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: PipelinesDeployment,
        definition: str | Path | Mapping[str, Any],
        pipeline_name: str,
        role_arn: str,
        display_name: str | None = None,
        description: str | None = None,
        max_parallel_execution_steps: int | None = None,
        tags: Mapping[str, str] | None = None,
        shares: Sequence[PipelineShare] = (),
        schedules: Sequence[PipelineSchedule] = (),
        provider: PipelineProvider | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        text = definition_text(definition)
        self.definition: PipelineDefinition = self._validated(text)
        if len(text.encode()) > MAX_INLINE_DEFINITION:
            raise ValidationError(
                f"Pipeline {self.node.path}: the definition is {len(text.encode())} bytes; at most "
                f"{MAX_INLINE_DEFINITION} can travel inline in the template"
            )
        self.deployment = deployment
        self.pipeline_name = pipeline_name
        spec = PipelineSpec(
            pipeline_name=pipeline_name,
            definition=text,
            role_arn=role_arn,
            display_name=display_name,
            description=description,
            parallelism=max_parallel_execution_steps,
            tags=dict(tags or {}),
            shares=[s.spec() for s in shares],
            schedules=[self._schedule(s, role_arn) for s in schedules],
        )
        provider = provider or PipelineProvider.of(self, deployment)
        self.resource = cdk.CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::SageMakerPipeline",
            properties={SPEC_PROPERTY: spec.to_property()},
        )
        self.pipeline_arn = self.resource.get_att_string("PipelineArn")
        self.pipeline_version_id = self.resource.get_att_string("PipelineVersionId")

    def _validated(self, text: str) -> PipelineDefinition:
        report = check_definition(text)
        if report.definition is None or report.errors:
            raise InvalidPipelineDefinition(self.node.path, report.errors)
        return report.definition

    def _schedule(self, schedule: PipelineSchedule, role_arn: str) -> ScheduleSpec:
        parse_schedule_expression(schedule.expression, schedule.timezone)
        check_definition_parameters(
            self.definition, self.pipeline_name, dict(schedule.parameters), kind=f"schedule {schedule.name}"
        )
        return ScheduleSpec(
            name=schedule.name,
            expression=schedule.expression,
            timezone=schedule.timezone,
            start_date=_moment(schedule.start_date),
            end_date=_moment(schedule.end_date),
            state="ENABLED" if schedule.enabled else "DISABLED",
            description=schedule.description,
            parameters=dict(schedule.parameters),
            role_arn=role_arn,
        )

    # -- event triggers -----------------------------------------------------------------------------
    def on_event(
        self,
        construct_id: str,
        *,
        pattern: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        rule_name: str | None = None,
        enabled: bool = True,
        event_bus_name: str | None = None,
    ) -> PipelineEventTrigger:
        """Start this pipeline for every event matching ``pattern`` (on the default bus, or on
        ``event_bus_name``: the status bus for another pipeline's events); ``parameters`` are
        static values, ``$.json.paths`` or ``{template}`` strings over the event."""
        trigger = PipelineEventTrigger(
            self,
            construct_id,
            deployment=self.deployment,
            pipeline_arn=self.pipeline_arn,
            pattern=pattern,
            parameters=parameters,
            definition=self.definition,
            pipeline_name=self.pipeline_name,
            rule_name=rule_name,
            enabled=enabled,
            event_bus_name=event_bus_name,
        )
        trigger.node.add_dependency(self.resource)
        return trigger

    def on_s3_object_created(
        self,
        construct_id: str,
        *,
        bucket_name: str,
        prefix: str = "",
        parameters: Mapping[str, str] | None = None,
    ) -> PipelineEventTrigger:
        """Start on each new object under ``prefix`` (the bucket must send events to EventBridge)."""
        return self.on_event(
            construct_id, pattern=s3_object_created(bucket_name, prefix), parameters=parameters
        )

    def on_drift(
        self, construct_id: str, *, alarm_names: Sequence[str], parameters: Mapping[str, str] | None = None
    ) -> PipelineEventTrigger:
        """Start when a model-monitoring drift alarm goes into ALARM."""
        return self.on_event(
            construct_id, pattern=model_monitor_drift(list(alarm_names)), parameters=parameters
        )
