"""The whole self-hosted Pipelines service in one stack: data, engine, API, triggers, events."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from cdk_nag import RegexAppliesTo
from constructs import Construct
from pipelines.api.forward import DEFAULT_JOB_PREFIX
from pipelines.authorization.sources import POLICY_READ_ACTIONS
from pipelines.deploy import settings as env

from infra.constructs.api import Api
from infra.constructs.console import Console
from infra.constructs.data import DataTables
from infra.constructs.deployment import PipelinesDeployment
from infra.constructs.engine import Engine
from infra.constructs.execution_role import PipelineExecutionRole
from infra.constructs.lambdas import handler_function
from infra.constructs.messaging import Messaging, dead_letter_alarm, dead_letter_queue
from infra.constructs.triggers import Triggers
from infra.nag import acknowledge, acknowledge_unscoped_actions, resource_pattern
from infra.packaging import core_layer
from infra.settings import Settings

_JOB_NOUNS = ("ProcessingJob", "TrainingJob", "TransformJob", "HyperParameterTuningJob")
RULE_ACTIONS = [
    "events:PutRule",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
    "events:TagResource",
    "events:ListTagsForResource",
]
SCHEDULE_ACTIONS = [
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:GetSchedule",
    "scheduler:DeleteSchedule",
]


class PipelinesStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        removal = cdk.RemovalPolicy.DESTROY if settings.stage == "dev" else cdk.RemovalPolicy.RETAIN
        self.layer = core_layer(self, "CoreLayer", arm64=settings.arm64)
        self.tables = DataTables(self, "Data", removal_policy=removal)
        self.messaging = Messaging(self, "Messaging", settings=settings)
        self.engine = Engine(
            self,
            "Engine",
            settings=settings,
            layer=self.layer,
            tables=self.tables,
            bus=self.messaging.bus,
            callback_queue=self.messaging.callback_queue,
            engine_queue=self.messaging.engine_queue,
        )
        shared_env = {
            env.STATE_TABLE: self.tables.state.table_name,
            env.CACHE_TABLE: self.tables.cache.table_name,
            env.PAYLOAD_BUCKET: self.tables.payloads.bucket_name,
            env.PIPELINE_EXECUTION_ARN: self.engine.pipeline_execution_arn,
            env.STEP_RUNNER_ARN: self.engine.step_runner_arn,
            env.EVENT_BUS_NAME: self.messaging.bus.event_bus_name,
            env.CALLBACK_QUEUE_URL: self.messaging.callback_queue.queue_url,
            env.ENGINE_FUNCTION_NAME: self.engine.function.function_name,
        }
        # Schedules and rules invoke the trigger asynchronously: an invocation that still fails
        # after Lambda's retries lands here, and the alarm says a start was lost.
        self.trigger_dlq = dead_letter_queue(self, "TriggerDeadLetters")
        self.trigger_dlq_alarm = dead_letter_alarm(self, "TriggerDeadLettersAlarm", self.trigger_dlq)
        self.trigger_function = handler_function(
            self,
            "TriggerFunction",
            dead_letter_queue=self.trigger_dlq,
            handler_dir="trigger",
            settings=settings,
            layer=self.layer,
            timeout=cdk.Duration.minutes(1),
            description="Starts pipeline executions for schedules and EventBridge rules",
            environment=shared_env,
        )
        self.triggers = Triggers(
            self,
            "Triggers",
            settings=settings,
            function=self.trigger_function,
            status_bus_name=self.messaging.bus.event_bus_name,
        )
        self.api_function = handler_function(
            self,
            "ApiFunction",
            handler_dir="api",
            settings=settings,
            layer=self.layer,
            timeout=cdk.Duration.seconds(29),  # API Gateway's integration limit
            memory_size=1024,
            description="SageMaker pipeline API (AWS JSON 1.1) with Scheduler, RAM and EventBridge subsets",
            environment={
                **shared_env,
                env.SCHEDULE_GROUP: self.triggers.group.ref,
                env.SCHEDULER_ROLE_ARN: self.triggers.scheduler_role.role_arn,
                env.TRIGGER_FUNCTION_ARN: self.trigger_function.function_arn,
                env.RULE_PREFIX: self.triggers.rule_prefix,
                env.AUTHORIZATION: settings.authorization,
                env.OWNER_ACCOUNT: self.account,
                env.TRIGGER_BUCKETS: ",".join(settings.trigger_buckets),
                env.TRIGGER_ALARMS: ",".join(settings.trigger_alarms),
                env.TRIGGER_SOURCES: ",".join(settings.trigger_sources),
            },
        )
        for fn in (self.api_function, self.trigger_function):
            self.tables.state.grant_read_write_data(fn)
            self.tables.cache.grant_read_data(fn)
            self.tables.grant_payloads(fn)
            self.engine.grant_start(fn)  # status events are the engine's to publish
        self._grant_sagemaker_forwarding()
        self._grant_trigger_management()
        self._grant_policy_reads(settings)
        self._grant_definition_reads()
        self.api = Api(self, "Api", settings=settings, function=self.api_function)
        self.console: Console | None = None
        if settings.console:
            self.console = Console(
                self,
                "Console",
                settings=settings,
                rest_api=self.api.rest_api,
                api_url=self.api.url,
                removal_policy=removal,
            )
            self.api.allow_browser_origin(self.console.origin)
            self.api_function.add_environment(env.CONSOLE_ORIGIN, self.console.origin)
        self.sample_role = PipelineExecutionRole(
            self,
            "SamplePipelineRole",
            trusted=[r for r in (self.engine.step_runner_role, self.engine.function.role) if r is not None],
            bucket_names=[],
            callback_queue_arn=self.messaging.callback_queue.queue_arn,
        )
        self._outputs()

    def _grant_policy_reads(self, settings: Settings) -> None:
        """The API reads (or simulates) its account's users' and roles' policies to authorize them."""
        if settings.authorization == "off":
            return
        actions = (
            ["iam:GetUser", "iam:GetRole", "iam:SimulatePrincipalPolicy"]
            if settings.authorization == "simulate"
            else [f"iam:{a}" for a in POLICY_READ_ACTIONS]
        )
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadCallerPolicies",
                actions=actions,
                resources=[
                    self.format_arn(service="iam", region="", resource=kind, resource_name="*")
                    for kind in ("user", "role", "group", "policy")
                ],
            )
        )

    def _grant_trigger_management(self) -> None:
        """The API manages schedules in its group and rules with its prefix, nothing else."""
        group = self.triggers.group.ref
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManageSchedules",
                actions=SCHEDULE_ACTIONS,
                resources=[
                    self.format_arn(service="scheduler", resource="schedule", resource_name=f"{group}/*")
                ],
            )
        )
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassSchedulerRole",
                actions=["iam:PassRole"],
                resources=[self.triggers.scheduler_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ManageRules", actions=RULE_ACTIONS, resources=[self.triggers.rule_arn_pattern]
            )
        )
        # ListSchedules and ListRules support no resource-level permissions: '*' is the only form.
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ListSchedulesAndRules",
                actions=["scheduler:ListSchedules", "events:ListRules"],
                resources=["*"],
            )
        )
        acknowledge_unscoped_actions(
            self.api_function.role,
            "scheduler:ListSchedules and events:ListRules (the API filters both to its own), and "
            "SageMaker's List* of jobs, models and the model registry (the API keeps only pipeline jobs)",
        )

    def _grant_sagemaker_forwarding(self) -> None:
        """The API forwards job, model and registry calls to SageMaker (pipelines.api.forward):
        jobs and models only when their names carry the pipeline job prefix."""

        def arns(*resources: tuple[str, str]) -> list[str]:
            return [self.format_arn(service="sagemaker", resource=r, resource_name=n) for r, n in resources]

        prefix = f"{DEFAULT_JOB_PREFIX}*"
        kinds = ("processing-job", "training-job", "transform-job", "hyper-parameter-tuning-job")
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="PipelineJobsAndModels",
                actions=[
                    *(f"sagemaker:{verb}{noun}" for verb in ("Describe", "Stop") for noun in _JOB_NOUNS),
                    "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                ],
                resources=arns(*((kind, prefix) for kind in kinds), ("model", prefix)),
            )
        )
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ModelRegistry",
                actions=[
                    f"sagemaker:{action}"
                    for action in (
                        "CreateModelPackageGroup",
                        "DescribeModelPackageGroup",
                        "DeleteModelPackageGroup",
                        "CreateModelPackage",
                        "DescribeModelPackage",
                        "UpdateModelPackage",
                        "DeleteModelPackage",
                        "AddTags",
                    )
                ],
                resources=arns(("model-package-group", "*"), ("model-package", "*")),
            )
        )
        # List* of jobs, models and the registry support no resource-level permissions.
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ListJobsModelsAndRegistry",
                actions=[
                    *(f"sagemaker:List{noun}s" for noun in _JOB_NOUNS),
                    "sagemaker:ListModels",
                    "sagemaker:ListModelPackageGroups",
                    "sagemaker:ListModelPackages",
                ],
                resources=["*"],
            )
        )

    def _grant_definition_reads(self) -> None:
        """CreatePipeline/UpdatePipeline with ``PipelineDefinitionS3Location``: the API reads the
        object with its own role. The SageMaker SDK uploads every definition over 100 KB to its
        default bucket, ``sagemaker-<region>-<account>``; ``definitionBuckets`` adds others."""
        buckets = [f"sagemaker-{self.region}-{self.account}", *self.settings.definition_buckets]
        self.api_function.add_to_role_policy(
            iam.PolicyStatement(
                sid="ReadDefinitionsFromS3",
                actions=["s3:GetObject"],
                resources=[f"arn:{self.partition}:s3:::{bucket}/*" for bucket in buckets],
            )
        )
        policy = self.api_function.role.node.find_child("DefaultPolicy") if self.api_function.role else None
        assert policy is not None
        patterns = [r"arn:{partition}:s3:::sagemaker-{region}-{account}\/\*"]
        patterns += [
            r"arn:{partition}:s3:::" + re.escape(bucket) + r"\/\*"
            for bucket in self.settings.definition_buckets
        ]
        acknowledge(
            policy,
            "AwsSolutions-IAM5",
            "The API reads pipeline definitions sent by PipelineDefinitionS3Location (any key: the "
            "caller names it) from the SDK's default bucket and the configured definitionBuckets only.",
            applies_to=[RegexAppliesTo(regex=resource_pattern(p)) for p in patterns],
        )

    @property
    def deployment(self) -> PipelinesDeployment:
        """This deployment, for ``Pipeline`` constructs in the same app."""
        return PipelinesDeployment(
            api_url=self.api.url,
            api_id=self.api.rest_api.rest_api_id,
            stage=self.api.stage_name,
            trigger_function_arn=self.trigger_function.function_arn,
            rule_prefix=self.triggers.rule_prefix,
            layer=self.layer,
        )

    def _engine_role(self) -> iam.IRole:
        role = self.engine.function.role
        if role is None:
            raise ValueError("the engine Lambda has no execution role")
        return role

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": self.api.url,
            "ApiId": self.api.rest_api.rest_api_id,
            "Stage": self.api.stage_name,
            "TriggerFunctionArn": self.trigger_function.function_arn,
            "RulePrefix": self.triggers.rule_prefix,
            "ScheduleGroup": self.triggers.group.ref,
            "StepRunnerArn": self.engine.step_runner.state_machine_arn,
            "PipelineExecutionArn": self.engine.pipeline_execution.state_machine_arn,
            "SamplePipelineRoleArn": self.sample_role.role.role_arn,
            # Pipeline roles trust these two (and live under /pipelines/): the StepRunner runs
            # typed steps as the pipeline's role, the engine acts as it (Stop*Job, experiments).
            "StepRunnerRoleArn": self.engine.step_runner.role.role_arn,
            "EngineRoleArn": self._engine_role().role_arn,
            "CallbackQueueUrl": self.messaging.callback_queue.queue_url,
            "EventBusName": self.messaging.bus.event_bus_name,
            "PayloadBucket": self.tables.payloads.bucket_name,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)
