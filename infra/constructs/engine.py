"""The engine Lambda and the two Standard state machines it drives.

The ASL comes from the core (`pipelines.stepfunctions`), so what CDK deploys is exactly what
the moto tests run. State machine names are fixed so the engine can be given their ARNs
without a dependency cycle (the machines invoke the engine, the engine starts the machines).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from pipelines.deploy import settings as env
from pipelines.stepfunctions import pipeline_execution_definition, step_runner_definition

from infra.constructs.data import DataTables
from infra.constructs.lambdas import handler_function, log_retention
from infra.nag import acknowledge_unscoped_actions
from infra.settings import Settings

PIPELINE_ROLE_PATH = "/pipelines/"
"""Pipeline execution roles live under this IAM path; the StepRunner may assume only those."""


class Engine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        layer: lambda_.ILayerVersion,
        tables: DataTables,
        bus: events.IEventBus,
        callback_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.step_runner_name = settings.name("step-runner")
        self.pipeline_execution_name = settings.name("pipeline-execution")
        self.step_runner_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.step_runner_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.pipeline_execution_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.pipeline_execution_name,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.pipeline_role_arn_pattern = stack.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=f"{PIPELINE_ROLE_PATH.strip('/')}/*",
        )

        self.function = handler_function(
            self,
            "EngineFunction",
            handler_dir="engine",
            settings=settings,
            layer=layer,
            timeout=cdk.Duration.minutes(1),
            description="Pipeline engine: start, step reports, callbacks, stop and retry",
            environment={
                env.STATE_TABLE: tables.state.table_name,
                env.CACHE_TABLE: tables.cache.table_name,
                env.PAYLOAD_BUCKET: tables.payloads.bucket_name,
                env.STEP_RUNNER_ARN: self.step_runner_arn,
                env.PIPELINE_EXECUTION_ARN: self.pipeline_execution_arn,
                env.EVENT_BUS_NAME: bus.event_bus_name,
                env.CALLBACK_QUEUE_URL: callback_queue.queue_url,
            },
        )
        tables.state.grant_read_write_data(self.function)
        tables.cache.grant_read_write_data(self.function)
        tables.grant_payloads(self.function)
        bus.grant_put_events_to(self.function)
        callback_queue.grant_send_messages(self.function)
        for statement in self.drive_statements():
            self.function.add_to_role_policy(statement)

        self.step_runner = self._state_machine(
            "StepRunner", self.step_runner_name, step_runner_definition(), settings
        )
        self.pipeline_execution = self._state_machine(
            "PipelineExecution", self.pipeline_execution_name, pipeline_execution_definition(), settings
        )
        # Typed tasks run with Credentials.RoleArn = the pipeline's role: the machine role itself
        # only assumes pipeline roles and reports to the engine.
        self.step_runner.add_to_role_policy(
            iam.PolicyStatement(
                sid="AssumePipelineRoles",
                actions=["sts:AssumeRole"],
                resources=[self.pipeline_role_arn_pattern],
            )
        )
        self.step_runner_role = self.step_runner.role
        # cfn-lint's Step Functions schema predates JSONata: it rejects `TimeoutSeconds: "{% ... %}"`,
        # which JSONata states accept (the Lambda route's per-step timeout comes from the input).
        cfn_machine = self.step_runner.node.default_child
        assert isinstance(cfn_machine, cdk.CfnResource)
        cfn_machine.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3601"]}})

    def drive_statements(self) -> list[iam.PolicyStatement]:
        """What carrying out engine decisions takes: start, stop and describe executions of the
        two machines, release their task tokens, and act as pipeline roles (Stop*Job,
        experiments, property files). Only the engine Lambda gets them."""
        return [
            iam.PolicyStatement(
                sid="DriveStateMachines",
                actions=["states:StartExecution"],
                resources=[self.step_runner_arn, self.pipeline_execution_arn],
            ),
            iam.PolicyStatement(
                sid="ControlExecutions",
                actions=["states:StopExecution", "states:DescribeExecution"],
                resources=[
                    self.execution_arn_pattern(name)
                    for name in (self.step_runner_name, self.pipeline_execution_name)
                ],
            ),
            iam.PolicyStatement(
                sid="ReleaseTaskTokens",
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resources=[self.step_runner_arn, self.pipeline_execution_arn],
            ),
            iam.PolicyStatement(
                sid="ActAsPipelineRole",
                actions=["sts:AssumeRole"],
                resources=[self.pipeline_role_arn_pattern],
            ),
        ]

    def execution_arn_pattern(self, machine_name: str) -> str:
        return cdk.Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{machine_name}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def grant_start(self, grantee: iam.IGrantable) -> None:
        """Let an API-side function start, stop and retry executions: it hands them to the
        engine Lambda (pipelines.runtime.engine_client), which alone starts work."""
        self.function.grant_invoke(grantee)

    def _state_machine(
        self, construct_id: str, name: str, asl: dict[str, object], settings: Settings
    ) -> sfn.StateMachine:
        # Under /aws/vendedlogs/: Step Functions adds each log group to the account's CloudWatch
        # Logs resource policy, which holds 5,120 characters; that prefix is exempt.
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            removal_policy=cdk.RemovalPolicy.DESTROY,
            retention=log_retention(settings.log_retention_days),
        )
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(asl)),
            definition_substitutions={"EngineFunctionArn": self.function.function_arn},
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        self.function.grant_invoke(machine)
        acknowledge_unscoped_actions(
            machine.role,
            "X-Ray trace upload and CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends)",
        )
        return machine
