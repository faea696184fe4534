"""A deployed stack on moto, run from the synthesized artifacts: what the scenarios talk to.

One :class:`Rehearsal` is the deployment: moto (in this process, with the test-only Step
Functions/SageMaker patches of ``tests/cloud/moto_patches.py``) also served over HTTP to the
function processes, the template's resources created by :class:`~tests.rehearsal.stack.Deployment`,
the functions run by :class:`~tests.rehearsal.invoker.LocalLambdas`, the API behind
:class:`~tests.rehearsal.apigateway.LocalApiGateway`. EventBridge rule targets and Scheduler
schedules reach the trigger function as the services deliver them (see :meth:`fire_schedule`).

Scenarios act as the owner of the account does: a boto3 ``sagemaker`` client signed for
``execute-api`` against the stage URL, S3 uploads, events put on the default bus.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.utils import iso_8601_datetime_without_milliseconds
from moto.events.models import Rule
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.server import ThreadedMotoServer
from moto.utilities.arns import parse_arn
from pipelines.api.client import client as api_client
from pipelines.objects.s3 import S3ObjectStore
from pipelines.store.base import ListQuery, StepRecord
from pipelines.store.dynamodb import DynamoDBStore, store_from_environment

from tests.cloud.moto_patches import MotoCloud, install
from tests.rehearsal.apigateway import LocalApiGateway
from tests.rehearsal.identities import iam_user, key_holder
from tests.rehearsal.invoker import Invocation, LocalFunction, LocalLambdas
from tests.rehearsal.stack import Deployment
from tests.rehearsal.synth import Assembly

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
OWNER_USER = "owner"
ADMIN = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f} s")
        time.sleep(0.05)


@dataclass(frozen=True)
class Delivery:
    """One EventBridge delivery to a Lambda target: the input the function received."""

    rule: str
    function: str
    payload: Any


@dataclass
class Rehearsal:
    deployment: Deployment
    lambdas: LocalLambdas
    gateway: LocalApiGateway
    moto: MotoCloud
    endpoint_url: str
    owner_key: tuple[str, str]  # the owner's IAM user's access key id and secret
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def region(self) -> str:
        return self.deployment.region

    @property
    def account(self) -> str:
        return self.deployment.account

    def output(self, name: str) -> Any:
        return self.deployment.output(name)

    def function_name(self, logical_prefix: str) -> str:
        """The physical name of the one function whose logical id starts with the prefix."""
        names = [
            self.deployment.created[logical].physical_id
            for logical in self.deployment.logical_ids("AWS::Lambda::Function")
            if logical.startswith(logical_prefix)
        ]
        assert len(names) == 1, f"functions starting with {logical_prefix}: {names}"
        return names[0]

    # -- acting as the owner ---------------------------------------------------------------------

    def owner_session(self) -> boto3.Session:
        """The account's administrator (IAM user ``owner``, allowed everything)."""
        return self.session(*self.owner_key)

    def session(self, access_key: str, secret_key: str, session_token: str | None = None) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            region_name=self.region,
        )

    def sagemaker(self) -> Any:
        """A boto3 SageMaker client for the deployed API, as the docs tell users to make one."""
        return api_client(self.api_url(), self.region, cloud=True, session=self.owner_session())

    def api_url(self) -> str:
        """The stack's ``ApiUrl`` output, as the local API Gateway serves it."""
        return self.deployment.local_url(self.output("ApiUrl"))

    def aws(self, service: str) -> Any:
        """A client for the account's real services (moto)."""
        return boto3.client(service, region_name=self.region)

    def store(self) -> DynamoDBStore:
        """The engine's store, read from the deployed tables (for step-level assertions)."""
        engine = self.lambdas.functions[self.function_name("EngineEngineFunction")]
        s3 = self.aws("s3")
        store = store_from_environment(
            {**engine.environment, "AWS_REGION": self.region},
            client=self.aws("dynamodb"),
            objects=S3ObjectStore(s3),
        )
        assert isinstance(store, DynamoDBStore)
        return store

    def steps(self, execution_arn: str) -> dict[str, StepRecord]:
        page = self.store().list_steps(
            execution_arn.rsplit("/", 1)[-1], ListQuery(limit=1000, ascending=True)
        )
        return {s.step_name: s for s in page.items}

    def wait_execution(self, execution_arn: str, timeout: float = 90.0) -> dict[str, Any]:
        """Until DescribePipelineExecution reports a terminal status and no machine runs for it."""
        sagemaker = self.sagemaker()

        def finished() -> dict[str, Any] | None:
            described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
            if described["PipelineExecutionStatus"] in ("Succeeded", "Failed", "Stopped"):
                return described
            return None

        described = wait_until(finished, timeout, f"{execution_arn} finishing")
        execution_id = execution_arn.rsplit("/", 1)[-1]
        wait_until(lambda: not self.running_machines(execution_id), timeout, "state machines finishing")
        return dict(described)

    def running_machines(self, execution_id: str) -> list[str]:
        sfn = self.aws("stepfunctions")
        running = []
        for logical in self.deployment.logical_ids("AWS::StepFunctions::StateMachine"):
            arn = self.deployment.created[logical].physical_id
            for item in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                if item["name"].startswith(execution_id):
                    running.append(item["name"])
        return running

    def stop_machines(self) -> None:
        sfn = self.aws("stepfunctions")
        for logical in self.deployment.logical_ids("AWS::StepFunctions::StateMachine"):
            arn = self.deployment.created[logical].physical_id
            for item in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=item["executionArn"])

    # -- what the scheduling services deliver ----------------------------------------------------

    def fire_schedule(self, name: str, group: str, scheduled_time: str, attempt: int = 1) -> Invocation:
        """What EventBridge Scheduler does when a schedule comes due (moto stores schedules and
        never fires them): invoke its target with its ``Input``, context attributes filled in."""
        schedule = self.aws("scheduler").get_schedule(Name=name, GroupName=group)
        target = schedule["Target"]
        text = target.get("Input") or "{}"
        for attribute, value in {
            "schedule-arn": schedule["Arn"],
            "scheduled-time": scheduled_time,
            "execution-id": f"{name}-{scheduled_time}",
            "attempt-number": str(attempt),
        }.items():
            text = text.replace(f"<aws.scheduler.{attribute}>", value)
        return self.lambdas.invoke(self.lambdas.by_arn(target["Arn"]).name, json.loads(text))

    def redeliver(self, delivery: Delivery) -> Invocation:
        """EventBridge delivers at least once: the same input again."""
        return self.lambdas.invoke(delivery.function, delivery.payload)

    def deliveries_to(self, function: str) -> list[Delivery]:
        return [d for d in list(self.deliveries) if d.function == function]

    def _deliver(self, rule: Rule, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver a matched event to the rule's Lambda targets; other targets stay moto's."""
        others = []
        for target in rule.targets:
            arn = parse_arn(target["Arn"])
            if arn.service != "lambda":
                others.append(target)
                continue
            payload = _target_input(target, event, rule)
            function = self.lambdas.by_arn(target["Arn"]).name
            self.deliveries.append(Delivery(rule.name, function, payload))
            self.lambdas.invoke_async(function, payload)
        return others


def _target_input(target: dict[str, Any], event: dict[str, Any], rule: Rule) -> Any:
    """What EventBridge sends a target: ``Input``, ``InputPath`` or the ``InputTransformer``'s
    template with its placeholders filled (the predefined ``aws.events.*`` variables too)."""
    if target.get("Input"):
        return json.loads(target["Input"])
    if target.get("InputPath"):
        value: Any = event
        for part in target["InputPath"].lstrip("$.").split("."):
            value = value[part] if part else value
        return value
    transformer = target.get("InputTransformer")
    if not transformer:
        return event
    template = transformer["InputTemplate"]
    values: dict[str, Any] = {
        "aws.events.event.json": event,
        "aws.events.event": event,
        "aws.events.rule-arn": rule.arn,
        "aws.events.rule-name": rule.name,
        "aws.events.event.ingestion-time": iso_8601_datetime_without_milliseconds(
            datetime.datetime.now(datetime.UTC)
        ),
    }
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        value = event
        for part in path.lstrip("$.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values[name] = value
    text = template
    for name, value in values.items():
        placeholder = f"<{name}>"
        if placeholder in text:
            text = text.replace(
                placeholder,
                json.dumps(value) if not isinstance(value, str) or name == "aws.events.event.json" else value,
            )
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _patch_event_delivery(monkeypatch: pytest.MonkeyPatch, rehearsal_ref: list[Rehearsal]) -> None:
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, event: dict[str, Any], transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(event) or self.state != "ENABLED":
            return
        others = rehearsal_ref[0]._deliver(self, event)
        if others:
            rest = copy.copy(self)
            rest.targets = others
            original(rest, event, transform_input)

    monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)


@contextmanager
def rehearse(assembly: Assembly, *, python: str, runtime_path: Path, log_dir: Path) -> Iterator[Rehearsal]:
    """Deploy ``assembly`` into a fresh moto and run it until the block ends."""
    monkeypatch = pytest.MonkeyPatch()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        monkeypatch.setenv("MOTO_ACCOUNT_ID", assembly.account)
        monkeypatch.setenv("AWS_DEFAULT_REGION", assembly.region)
        moto = install(monkeypatch)
        with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            lambdas = LocalLambdas(
                python=python,
                runtime_path=runtime_path,
                endpoint_url=endpoint,
                region=assembly.region,
                log_dir=log_dir,
            )
            lambdas.serve_moto(monkeypatch)

            def invoke(name: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
                done = lambdas.invoke(name, event)
                return done.payload, done.error

            gateway = LocalApiGateway(
                invoke,
                lambda key, headers: key_holder(
                    key, headers, list(lambdas.functions.values()), assembly.account
                ),
            )
            ref: list[Rehearsal] = []
            _patch_event_delivery(monkeypatch, ref)
            deployment = Deployment(assembly, lambdas, gateway)
            rehearsal = Rehearsal(deployment, lambdas, gateway, moto, endpoint, _seed(deployment))
            ref.append(rehearsal)
            try:
                deployment.deploy()
                yield rehearsal
            finally:
                for source in deployment.event_sources:
                    source.close()
                rehearsal.stop_machines()
                lambdas.close()
                gateway.close()
                server.stop()
    finally:
        monkeypatch.undo()


def _seed(deployment: Deployment) -> tuple[str, str]:
    """What a bootstrapped account holds before ``cdk deploy``: the bootstrap version parameter,
    and the administrator who deploys (an IAM user allowed everything): returns its access key."""
    parameter = deployment.template.get("Parameters", {}).get("BootstrapVersion")
    if parameter is not None:
        deployment.client("ssm").put_parameter(Name=parameter["Default"], Value="30", Type="String")
    return iam_user(deployment.account, OWNER_USER, ADMIN, deployment.region)


def add_user_function(rehearsal: Rehearsal, name: str, source: str, directory: Path) -> str:
    """A team's own Lambda function (a pipeline's Lambda step calls it): plain Python 3.12, no
    layers; returns its ARN."""
    code = directory / name
    code.mkdir(parents=True, exist_ok=True)
    (code / "index.py").write_text(source)
    iam = rehearsal.aws("iam")
    try:
        role = iam.get_role(RoleName="team-functions")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="team-functions", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = rehearsal.aws("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"the rehearsal runs the directory"},
        Timeout=30,
    )["FunctionArn"]
    rehearsal.lambdas.add(
        LocalFunction(name=name, arn=arn, handler="index.handler", code=code, timeout=30, role_arn=role)
    )
    return str(arn)


def role_allows(rehearsal: Rehearsal, role_arn: str, action: str, resource: str) -> bool:
    """Whether the role's identity policies, as deployed from the template, allow ``action`` on
    ``resource`` (an explicit Deny wins), evaluated by moto's IAM policy engine."""
    iam = rehearsal.aws("iam")
    name = role_arn.rsplit("/", 1)[-1]
    documents = [
        json.dumps(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    ]
    results = [IAMPolicy(document).is_action_permitted(action, resource) for document in documents]
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results
