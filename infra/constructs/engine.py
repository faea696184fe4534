"""The engine Lambda, the two Standard state machines it drives, and what keeps runs moving.

The ASL comes from the core (`pipelines.stepfunctions`), so what CDK deploys is exactly what
the moto tests run. State machine names are fixed so the engine can be given their ARNs
without a dependency cycle. The StepRunner queues its reports in the engine's FIFO queue
(consumed by the engine in batches, group = pipeline execution); the PipelineExecution machine
keeps its task token on the run's item in the state table. An EventBridge rule sends the
engine every run of either machine that ends FAILED, TIMED_OUT or ABORTED, and a schedule
runs the engine's sweep (docs/engine-cloud.md).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from pipelines.deploy import settings as env
from pipelines.stepfunctions import pipeline_execution_definition, step_runner_definition

from infra.constructs.arns import pipeline_roles_arn
from infra.constructs.data import DataTables
from infra.constructs.lambdas import handler_function
from infra.constructs.log_groups import log_group
from infra.constructs.messaging import ENGINE_TIMEOUT
from infra.nag import acknowledge_unscoped_actions
from infra.packaging import tracking_layer
from infra.settings import Settings

SWEEP_EVERY = cdk.Duration.minutes(5)
"""How often the engine's sweep looks for executions that made no progress."""


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
        engine_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.step_runner_name = settings.name("step-runner")
        self.pipeline_execution_name = settings.name("pipeline-execution")
        self.step_runner_arn = self._states_arn("stateMachine", self.step_runner_name)
        self.pipeline_execution_arn = self._states_arn("stateMachine", self.pipeline_execution_name)
        self.pipeline_role_arn_pattern = pipeline_roles_arn(stack)

        # MLflow (pipelines.tracking.cloud) only for the engine, the one handler that logs runs.
        self.tracking_layer = tracking_layer(self, "MlflowLayer", arm64=settings.arm64)
        self.function = handler_function(
            self,
            "EngineFunction",
            handler_dir="engine",
            settings=settings,
            layer=layer,
            extra_layers=[self.tracking_layer],
            timeout=ENGINE_TIMEOUT,
            description="Pipeline engine: start, step reports, callbacks, stop and retry",
            environment={
                env.STATE_TABLE: tables.state.table_name,
                env.CACHE_TABLE: tables.cache.table_name,
                env.PAYLOAD_BUCKET: tables.payloads.bucket_name,
                env.STEP_RUNNER_ARN: self.step_runner_arn,
                env.PIPELINE_EXECUTION_ARN: self.pipeline_execution_arn,
                env.EVENT_BUS_NAME: bus.event_bus_name,
                env.CALLBACK_QUEUE_URL: callback_queue.queue_url,
                env.REPORT_QUEUE_URL: engine_queue.queue_url,
            },
        )
        self.tables = tables
        self.engine_queue = engine_queue
        # One batch holds at most 10 messages (FIFO); a group that fails comes back whole.
        self.function.add_event_source(
            event_sources.SqsEventSource(engine_queue, batch_size=10, report_batch_item_failures=True)
        )
        engine_queue.grant_send_messages(self.function)  # re-drives and forwarded runner ends
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
        engine_queue.grant_send_messages(self.step_runner)
        self.pipeline_execution.add_to_role_policy(
            iam.PolicyStatement(
                sid="KeepRunTaskToken",
                actions=["dynamodb:UpdateItem", "dynamodb:GetItem"],
                resources=[tables.state.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["EXECUTION#*"]}},
            )
        )
        self.step_runner_role = self.step_runner.role
        self._route_runs_that_end_badly()
        self.sweep = events.Rule(
            self,
            "Sweep",
            description="The engine re-drives executions that made no progress",
            schedule=events.Schedule.rate(SWEEP_EVERY),
            targets=[
                targets.LambdaFunction(
                    self.function, event=events.RuleTargetInput.from_object({"action": "Sweep"})
                )
            ],
        )
        # cfn-lint's Step Functions schema predates JSONata: it rejects `TimeoutSeconds: "{% ... %}"`,
        # which JSONata states accept (the Lambda route's per-step timeout comes from the input).
        cfn_machine = self.step_runner.node.default_child
        assert isinstance(cfn_machine, cdk.CfnResource)
        cfn_machine.add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3601"]}})

    def _route_runs_that_end_badly(self) -> None:
        """Step Functions status-change events (default bus, best effort) of both machines'
        runs that end without a normal finish go to the engine, which queues each in its
        execution's group: a StepRunner that never reported fails its step."""
        self.runs_that_end = events.Rule(
            self,
            "RunsThatEnd",
            description="StepRunner and PipelineExecution runs that end FAILED, TIMED_OUT or ABORTED",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [self.step_runner_arn, self.pipeline_execution_arn],
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                },
            ),
            targets=[targets.LambdaFunction(self.function, retry_attempts=8)],
        )

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
        return self._states_arn("execution", f"{machine_name}:*")

    def _states_arn(self, resource: str, name: str) -> str:
        """A Step Functions ARN (``arn:...:states:<region>:<account>:<resource>:<name>``)."""
        return cdk.Stack.of(self).format_arn(
            service="states",
            resource=resource,
            resource_name=name,
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
        logs = log_group(
            self,
            f"{construct_id}Logs",
            settings.log_retention_days,
            log_group_name=f"/aws/vendedlogs/states/{name}",
        )
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(asl)),
            definition_substitutions={
                "ReportQueueUrl": self.engine_queue.queue_url,
                "StateTable": self.tables.state.table_name,
            },
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=logs, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge_unscoped_actions(
            machine.role,
            "X-Ray trace upload and CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends)",
        )
        return machine
