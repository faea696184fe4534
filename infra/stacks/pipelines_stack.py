"""The whole self-hosted Pipelines service in one stack: data, engine, API, triggers, events."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.api import Api
from infra.constructs.data import DataTables
from infra.constructs.engine import Engine
from infra.constructs.execution_role import PipelineExecutionRole
from infra.constructs.lambdas import handler_function
from infra.constructs.messaging import Messaging
from infra.constructs.triggers import Triggers
from infra.packaging import core_layer
from infra.settings import Settings


class PipelinesStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        removal = cdk.RemovalPolicy.DESTROY if settings.stage == "dev" else cdk.RemovalPolicy.RETAIN
        layer = core_layer(self, "CoreLayer", arm64=settings.arm64)
        self.tables = DataTables(self, "Data", removal_policy=removal)
        self.messaging = Messaging(self, "Messaging", settings=settings)
        self.engine = Engine(
            self,
            "Engine",
            settings=settings,
            layer=layer,
            tables=self.tables,
            bus=self.messaging.bus,
            callback_queue=self.messaging.callback_queue,
        )
        shared_env = {
            "STATE_TABLE": self.tables.state.table_name,
            "CACHE_TABLE": self.tables.cache.table_name,
            "PIPELINE_EXECUTION_ARN": self.engine.pipeline_execution_arn,
            "STEP_RUNNER_ARN": self.engine.step_runner_arn,
            "EVENT_BUS_NAME": self.messaging.bus.event_bus_name,
            "ENGINE_FUNCTION_NAME": self.engine.function.function_name,
        }
        self.trigger_function = handler_function(
            self,
            "TriggerFunction",
            handler_dir="trigger",
            settings=settings,
            layer=layer,
            description="Starts pipeline executions for schedules and EventBridge rules",
            environment=shared_env,
        )
        self.triggers = Triggers(self, "Triggers", settings=settings, function=self.trigger_function)
        self.api_function = handler_function(
            self,
            "ApiFunction",
            handler_dir="api",
            settings=settings,
            layer=layer,
            description="SageMaker pipeline API (AWS JSON 1.1) with RAM and Scheduler subsets",
            environment={
                **shared_env,
                "SCHEDULE_GROUP": self.triggers.group.ref,
                "SCHEDULER_ROLE_ARN": self.triggers.scheduler_role.role_arn,
                "TRIGGER_FUNCTION_ARN": self.trigger_function.function_arn,
                "SHARING_ACCOUNTS": ",".join(settings.sharing_accounts),
            },
        )
        for fn in (self.api_function, self.trigger_function):
            self.tables.state.grant_read_write_data(fn)
            self.tables.cache.grant_read_data(fn)
            self.messaging.bus.grant_put_events_to(fn)
            self.engine.function.grant_invoke(fn)
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManageSchedules",
                actions=["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:GetSchedule",
                         "scheduler:DeleteSchedule", "scheduler:ListSchedules"],
                resources=[self.format_arn(service="scheduler", resource="schedule",
                                           resource_name=f"{self.triggers.group.ref}/*")],
            )
        )
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(sid="PassSchedulerRole", actions=["iam:PassRole"],
                                resources=[self.triggers.scheduler_role.role_arn])
        )
        self.api = Api(self, "Api", settings=settings, function=self.api_function)
        self.sample_role = PipelineExecutionRole(
            self,
            "SamplePipelineRole",
            trusted=[r for r in (self.engine.step_runner_role, self.engine.function.role) if r is not None],
            bucket_names=[],
            callback_queue_arn=self.messaging.callback_queue.queue_arn,
        )
        cdk.CfnOutput(self, "ApiUrl", value=self.api.url)
        cdk.CfnOutput(self, "StepRunnerArn", value=self.engine.step_runner.state_machine_arn)
        cdk.CfnOutput(self, "PipelineExecutionArn", value=self.engine.pipeline_execution.state_machine_arn)
        cdk.CfnOutput(self, "SamplePipelineRoleArn", value=self.sample_role.role.role_arn)
        cdk.CfnOutput(self, "CallbackQueueUrl", value=self.messaging.callback_queue.queue_url)
        cdk.CfnOutput(self, "EventBusName", value=self.messaging.bus.event_bus_name)
