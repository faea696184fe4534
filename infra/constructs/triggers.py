"""Schedules and event-driven starts: an EventBridge Scheduler group and the role it uses to
invoke the trigger Lambda, which starts executions with the pipeline's default parameters
(schedules) or parameters mapped from the event (EventBridge rules)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.settings import Settings


class Triggers(Construct):
    """The schedule group, the role Scheduler invokes the trigger Lambda with, and the trigger
    Lambda's permission for pipeline rules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        function: lambda_.IFunction,
        status_bus_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = function
        self.group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=settings.name("schedules"))
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler invokes the trigger Lambda for pipeline schedules",
        )
        function.grant_invoke(self.scheduler_role)
        # Rules that start pipelines (from the Pipeline construct or the API's EventBridge subset)
        # are named with this prefix; EventBridge may invoke the trigger Lambda for those only.
        self.rule_prefix = settings.name("trigger-")
        stack = cdk.Stack.of(self)
        self.rule_arn_pattern = stack.format_arn(
            service="events", resource="rule", resource_name=f"{self.rule_prefix}*"
        )
        function.add_permission(
            "InvokeFromPipelineRules",
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            source_arn=self.rule_arn_pattern,
            source_account=stack.account,
        )
        # ... and rules on the status bus (a pipeline started by another pipeline's events).
        function.add_permission(
            "InvokeFromStatusBusRules",
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            source_arn=stack.format_arn(
                service="events", resource="rule", resource_name=f"{status_bus_name}/{self.rule_prefix}*"
            ),
            source_account=stack.account,
        )
