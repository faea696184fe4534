"""A cloud deployment in moto: the api Lambda's real wiring (DynamoDB store, payload bucket,
Scheduler, EventBridge, RAM in the state table) behind the API Gateway harness.

Only the execution runtime differs from the deployed one: executions are carried out by the
embedded runtime over the same DynamoDB store (the cloud runtime's state machines are
exercised in tests/cloud), so a triggered start really runs.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pipelines.api.client import client as sagemaker_client
from pipelines.config import Config
from pipelines.deploy.clients import api_clients
from pipelines.deploy.settings import CloudSettings
from pipelines.deploy.wiring import CloudServices, build_cloud_services
from pipelines.objects.base import ObjectStore
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store import Store

from tests.cloud.moto_dynamodb import new_tables, serialised_dynamodb
from tests.deploy.gateway import API_URL, Gateway

REGION = "us-east-1"
DEPLOYMENT_ACCOUNT = "123456789012"  # moto's default account: where the real resources live
OWNER = "111111111111"  # the caller API Gateway authenticated
OTHER = "222222222222"
ROLE = "arn:aws:iam::111111111111:role/pipelines/execution"
TRIGGER_FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{DEPLOYMENT_ACCOUNT}:function:smp-dev-trigger"
SCHEDULER_ROLE_ARN = f"arn:aws:iam::{DEPLOYMENT_ACCOUNT}:role/smp-dev-scheduler"
SCHEDULE_GROUP = "smp-dev-schedules"
RULE_PREFIX = "smp-dev-trigger-"
TRIGGER_BUCKETS = ("uploads-bucket", "raw-*")
TRIGGER_ALARMS = ("feature-drift", "drift-*")
TRIGGER_SOURCES = ("my.app",)
REPO = Path(__file__).resolve().parents[2]
_SESSION = boto3.Session(region_name=REGION)  # one session: service models load once per process


def definition(*, required_input: bool = True) -> str:
    """InputData (no default unless ``required_input`` is False) and Threshold; runs without runners."""
    parameters: list[dict[str, Any]] = [{"Name": "InputData", "Type": "String"}]
    if not required_input:
        parameters[0]["DefaultValue"] = "s3://data/default.csv"
    parameters.append({"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5})
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": parameters,
            "Steps": [
                {
                    "Name": "Check",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [
                            {
                                "Type": "GreaterThanOrEqualTo",
                                "LeftValue": {"Get": "Parameters.Threshold"},
                                "RightValue": 0.3,
                            }
                        ],
                        "IfSteps": [],
                        "ElseSteps": [
                            {"Name": "TooLow", "Type": "Fail", "Arguments": {"ErrorMessage": "too low"}}
                        ],
                    },
                }
            ],
        }
    )


def load_handler(name: str) -> ModuleType:
    """functions/<name>/handler.py as its own module (every handler file is called handler.py)."""
    path = REPO / "functions" / name / "handler.py"
    spec = importlib.util.spec_from_file_location(f"lambda_{name}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = TRIGGER_FUNCTION_ARN
    aws_request_id = "req-1"


@dataclass
class Cloud:
    services: CloudServices
    runtime: EmbeddedRuntime
    settings: CloudSettings
    gateway: Gateway
    _clients: dict[tuple[str | None, int], Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.services.store

    def clients(self, account: str | None = OWNER, gateway: Gateway | None = None) -> Any:
        """sagemaker/scheduler/ram/events clients signed for execute-api, through the gateway as ``account``."""
        key = (account, id(gateway))
        if key not in self._clients:
            gateway = gateway or Gateway(self.gateway.endpoint, account_id=account)
            made = api_clients(API_URL, REGION, session=_SESSION)
            for service_client in (made.sagemaker, made.scheduler, made.ram, made.events):
                gateway.attach(service_client)
            self._clients[key] = made
        return self._clients[key]

    def sagemaker(self, account: str = OWNER, **options: Any) -> Any:
        client = sagemaker_client(API_URL, REGION, session=_SESSION, **options)
        return Gateway(self.gateway.endpoint, account_id=account).attach(client)

    def create_pipeline(self, name: str, text: str | None = None, account: str = OWNER) -> str:
        response = self.clients(account).sagemaker.create_pipeline(
            PipelineName=name, PipelineDefinition=text or definition(), RoleArn=ROLE
        )
        return str(response["PipelineArn"])

    def real(self, service: str) -> Any:
        """A plain client of the (moto) AWS service itself, to see what the API created."""
        return boto3.client(service, region_name=REGION)


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDTESTING",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "SelfHostedPipelinesTest",
        "POWERTOOLS_SERVICE_NAME": "pipelines-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def moto() -> Iterator[None]:
    with mock_aws(), serialised_dynamodb():
        yield


@contextmanager
def deployed_services(
    tmp_path: Path, authorization: str, owner: str = OWNER
) -> Iterator[tuple[CloudServices, EmbeddedRuntime]]:
    """The api Lambda's services over moto (call inside ``mock_aws``): the stack's tables, payload
    bucket and schedule group, with an embedded runtime carrying out the starts; ``owner`` owns the
    deployment, and ``authorization`` is the stack's AUTHORIZATION mode."""
    tables = new_tables(boto3.client("dynamodb", region_name=REGION))
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="smp-dev-payloads")
    boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=SCHEDULE_GROUP)
    settings = CloudSettings.from_environment(
        {
            "AWS_REGION": REGION,
            "STATE_TABLE": tables.state,
            "CACHE_TABLE": tables.cache,
            "PAYLOAD_BUCKET": "smp-dev-payloads",
            "SCHEDULE_GROUP": SCHEDULE_GROUP,
            "SCHEDULER_ROLE_ARN": SCHEDULER_ROLE_ARN,
            "TRIGGER_FUNCTION_ARN": TRIGGER_FUNCTION_ARN,
            "RULE_PREFIX": RULE_PREFIX,
            "OWNER_ACCOUNT": owner,
            "AUTHORIZATION": authorization,
            # the trigger sources the tests' rules select (pipelines.triggers.sources)
            "TRIGGER_BUCKETS": ",".join(TRIGGER_BUCKETS),
            "TRIGGER_ALARMS": ",".join(TRIGGER_ALARMS),
            "TRIGGER_SOURCES": ",".join(TRIGGER_SOURCES),
        }
    )
    runtimes: list[EmbeddedRuntime] = []

    def embedded(settings: CloudSettings, store: Store, objects: ObjectStore) -> EmbeddedRuntime:
        config = Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects", region=REGION)
        runtime = EmbeddedRuntime(config, store=store, poll_interval=0.02)
        runtimes.append(runtime)
        return runtime

    services = build_cloud_services(settings, runtime=embedded)
    try:
        yield services, runtimes[0]
    finally:
        runtimes[0].close()


@pytest.fixture
def cloud(moto: None, tmp_path: Path) -> Iterator[Cloud]:
    # Single-team mode: the users' IAM policies are not evaluated here (tests/authorization does).
    with deployed_services(tmp_path, authorization="off") as (services, runtime):
        yield Cloud(services, runtime, services.settings, Gateway(services.endpoint()))
        for execution in services.store.list_unfinished_executions():
            runtime.wait(execution.execution_id, timeout=10)
