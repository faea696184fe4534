"""The services of one cloud Lambda container, wired once from the stack's environment.

The API and trigger Lambdas run the same operations as ``pipelines serve``, except that job,
model and registry operations are forwarded to SageMaker (:mod:`pipelines.api.forward`); only
their dependencies differ: the DynamoDB store (large bodies offloaded to the payload bucket), S3
objects, the cloud execution runtime (engine decisions carried out by the state machines and
the engine Lambda), RAM shares kept in the state table, schedules on EventBridge Scheduler and
rules on EventBridge. Deleting a pipeline deletes its schedules, removes it from rule targets
and from shares.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines import aws
from pipelines.api.forward import forwarded_handlers
from pipelines.api.ops import Operations, sagemaker_handlers
from pipelines.api.ops.context import ExecutionRuntime
from pipelines.api.ram import ResourceShares
from pipelines.api.rest import RestService
from pipelines.api.scheduler import scheduler_handlers
from pipelines.api.wire import JsonService
from pipelines.authorization import (
    Authorizer,
    Evaluator,
    IamPolicySource,
    LocalEvaluator,
    SimulatorEvaluator,
    authorized_handlers,
)
from pipelines.deploy.apigateway import CloudEndpoint
from pipelines.deploy.ram_store import DynamoDBShareStorage
from pipelines.deploy.settings import CloudSettings, MissingSetting
from pipelines.objects.base import ObjectStore
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runtime.engine_client import EngineClient
from pipelines.store import Store
from pipelines.store.dynamodb import store_from_environment
from pipelines.triggers.fire import StartExecution, operations_starter
from pipelines.triggers.rules import EventRuleTriggers
from pipelines.triggers.schedules import CloudScheduler

ClientFactory = Callable[[str], Any]
RuntimeFactory = Callable[[CloudSettings, Store, ObjectStore], ExecutionRuntime]


@dataclass
class CloudServices:
    settings: CloudSettings
    store: Store
    objects: ObjectStore
    operations: Operations
    shares: ResourceShares
    scheduler: CloudScheduler | None
    rules: EventRuleTriggers | None
    sagemaker: Any = None  # the api Lambda's own SageMaker client (forwarded job/model/registry calls)
    sts: Any = None
    authorizer: Authorizer | None = None  # the callers' IAM policies (None: turned off)
    _account: str | None = field(default=None, repr=False)

    def is_owner(self, account: str) -> bool:
        """Whether a caller's account is the deployment's own (the only one that creates)."""
        return account == (self.settings.owner_account or self.account_id())

    def account_id(self) -> str:
        """The deployment's account: whose jobs, models and registry the forwarded calls reach."""
        if self._account is None:
            self._account = str(self.sts.get_caller_identity()["Account"])
        return self._account

    def endpoint(self) -> CloudEndpoint:
        handlers = sagemaker_handlers(self.operations)
        if self.sagemaker is not None:  # jobs, models and the registry: SageMaker's own
            handlers.update(forwarded_handlers(self.sagemaker, self.account_id()))
        guard = functools.partial(
            authorized_handlers, authorizer=self.authorizer, ops=self.operations, is_owner=self.is_owner
        )
        return CloudEndpoint(
            sagemaker=JsonService("sagemaker", guard(handlers)),
            region=self.settings.region,
            events=JsonService("events", guard(self.rules.handlers(), service="events"))
            if self.rules is not None
            else None,
            scheduler=RestService("scheduler", guard(scheduler_handlers(self.scheduler), service="scheduler"))
            if self.scheduler
            else None,
            ram=RestService("ram", self.shares.handlers()),
        )

    def starter(self) -> StartExecution:
        return operations_starter(self.operations, self.settings.region)


def default_runtime(settings: CloudSettings, store: Store, objects: ObjectStore) -> ExecutionRuntime:
    """Start, stop, retry and callbacks go to the engine Lambda, which alone starts work."""
    return EngineClient(
        aws.client("lambda", settings.region),
        _required(settings.engine_function_name, "ENGINE_FUNCTION_NAME"),
    )


def build_cloud_services(
    settings: CloudSettings,
    *,
    client: ClientFactory | None = None,
    runtime: RuntimeFactory = default_runtime,
) -> CloudServices:
    make = client or (lambda service: aws.client(service, settings.region))
    objects = S3ObjectStore(make("s3"))
    store = store_from_environment(settings.store_environment(), client=make("dynamodb"), objects=objects)
    shares = ResourceShares(DynamoDBShareStorage(make("dynamodb"), settings.state_table), store)
    operations = Operations(
        store=store,
        runtime=runtime(settings, store, objects),
        objects=objects,
        region=settings.region,
        sharing=shares,
    )
    scheduler = None
    if settings.schedule_group:
        scheduler = CloudScheduler(
            make("scheduler"),
            group_name=settings.schedule_group,
            trigger_function_arn=_required(settings.trigger_function_arn, "TRIGGER_FUNCTION_ARN"),
            scheduler_role_arn=_required(settings.scheduler_role_arn, "SCHEDULER_ROLE_ARN"),
            store=store,
            sharing=shares,
        )
        operations.on_pipeline_deleted.append(scheduler.delete_schedules_for_target)
    rules = None
    if settings.rule_prefix:
        rules = EventRuleTriggers(
            make("events"),
            rule_prefix=settings.rule_prefix,
            trigger_function_arn=_required(settings.trigger_function_arn, "TRIGGER_FUNCTION_ARN"),
            store=store,
            sharing=shares,
            declared=settings.trigger_sources,
        )
        operations.on_pipeline_deleted.append(rules.delete_targets_for_pipeline)
    operations.on_pipeline_deleted.append(shares.forget_resource)
    services = CloudServices(
        settings, store, objects, operations, shares, scheduler, rules, make("sagemaker"), make("sts")
    )
    services.authorizer = cloud_authorizer(settings, make("iam"), services.is_owner)
    return services


def cloud_authorizer(settings: CloudSettings, iam: Any, is_owner: Callable[[str], bool]) -> Authorizer | None:
    """The deployment account's users and roles are authorized by their IAM policies (its root
    is not bound by them; other accounts act through RAM shares); None when turned off."""
    if settings.authorization == "off":
        return None
    evaluator: Evaluator = (
        SimulatorEvaluator(iam)
        if settings.authorization == "simulate"
        else LocalEvaluator(IamPolicySource(iam))
    )
    return Authorizer(evaluator, lambda principal: principal.kind != "root" and is_owner(principal.account))


def _required(value: str | None, name: str) -> str:
    if not value:
        raise MissingSetting(name)
    return value


@functools.cache
def cloud_services() -> CloudServices:
    """This container's services (built on first use, reused by later invocations)."""
    return build_cloud_services(CloudSettings.from_environment())


def cloud_endpoint() -> CloudEndpoint:
    return _endpoint()


@functools.cache
def _endpoint() -> CloudEndpoint:
    return cloud_services().endpoint()


def cloud_starter() -> StartExecution:
    return cloud_services().starter()
