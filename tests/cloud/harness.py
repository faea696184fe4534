"""The cloud runtime in moto, end to end: our two machines in moto's interpreter, the engine
Lambda's handler running in-process, DynamoDB, SQS and S3 on moto, jobs decided by JobControl.

Everything goes through the same doors as on AWS: API-originated requests invoke the engine
function (``EngineClient`` -> moto Lambda -> ``functions/engine/handler.handler``), the
StepRunner queues its reports in the engine's SQS FIFO queue, and :class:`FifoEventSource`
plays Lambda's event source mapping (moto's own fires synchronously inside SendMessage, one
message per invocation, and ignores ReportBatchItemFailures): it receives batches of up to 10
(SQS keeps a group's messages from two receivers at once), invokes the engine with the SQS
event, deletes what succeeded and makes the failed messages visible again. The queue hides a
received batch for 6x the engine's timeout, as deployed, so a batch is never delivered again
while its invocation still runs, however slow the machine. The engine starts
and stops executions, creates and stops jobs and sends SQS messages through boto3.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from moto import mock_aws
from pipelines import aws
from pipelines.engine import Engine, StartRequest, upsert_pipeline
from pipelines.events import EXECUTION_STATUS_CHANGE, StatusEvent
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runtime.aws_access import AwsAccess
from pipelines.runtime.cloud import CloudRuntime, EngineSettings, cloud_unsupported_steps
from pipelines.runtime.engine_client import EngineClient
from pipelines.stepfunctions import pipeline_execution_definition, render_definition, step_runner_definition
from pipelines.store.base import TERMINAL_EXECUTION_STATUSES, ExecutionRecord, ListQuery, StepRecord
from pipelines.store.dynamodb import DynamoDBStore
from pipelines.tracking.cloud import cloud_observers

from tests.cloud.moto_dynamodb import new_tables
from tests.cloud.moto_patches import MotoCloud, install, lambda_context

REGION = "us-east-1"
ACCOUNT = "123456789012"
ENGINE_FUNCTION = "pipelines-engine"
REPORT_QUEUE = "pipelines-engine.fifo"
POLLERS = 4
LOG = logging.getLogger(__name__)
_RECEIVE_LOCK = threading.Lock()
ENGINE_TIMEOUT_SECONDS = 300
"""The deployed engine function's timeout (infra/constructs/messaging.py ``ENGINE_TIMEOUT``)."""
ENGINE_QUEUE_VISIBILITY_SECONDS = 6 * ENGINE_TIMEOUT_SECONDS
"""The deployed engine queue's visibility timeout. Lambda ends an invocation at its timeout, so
a received batch stays hidden for as long as its invocation can run: no other poller gets it,
or its group's next messages, meanwhile. The in-process engine has no timeout; a shorter value
here (it was 60 s) let a long invocation, a 500-wide launch on a loaded machine, be delivered
again while it still ran, which the deployed stack never does."""
RETRY_VISIBILITY_SECONDS = 1
"""A failed batch's messages come back after this (the deployed queue waits its visibility
timeout, 6x the function's timeout; tests do not wait minutes)."""
PAYLOAD_BUCKET = "pipelines-payloads"
DATA_BUCKET = "pipelines-data"
REPO = Path(__file__).resolve().parents[2]
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
POWERTOOLS_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "SelfHostedPipelinesTest",
    "POWERTOOLS_SERVICE_NAME": "pipelines-engine",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


class RecordingPublisher:
    """Status events as the runtime published them, in order."""

    def __init__(self) -> None:
        self.events: list[StatusEvent] = []
        self.lock = threading.Lock()

    def publish(self, events: Sequence[StatusEvent]) -> None:
        with self.lock:
            self.events.extend(events)

    def changes(self, step: str | None = None) -> list[tuple[str | None, str]]:
        """(previous, current) status of the execution (``step`` None) or of one step."""
        found = []
        for event in list(self.events):
            detail = event.detail
            if step is None and event.detail_type == EXECUTION_STATUS_CHANGE:
                found.append(
                    (detail.get("previousPipelineExecutionStatus"), detail["currentPipelineExecutionStatus"])
                )
            elif step is not None and detail.get("stepName") == step:
                found.append((detail.get("previousStepStatus"), detail["currentStepStatus"]))
        return found


def load_engine_handler() -> ModuleType:
    """``functions/engine/handler.py`` as Lambda loads it (a top-level module of its folder)."""
    name = "pipelines_engine_lambda_handler"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "functions" / "engine" / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FifoEventSource:
    """Lambda's SQS event source mapping for the engine's FIFO queue (see the module docstring)."""

    def __init__(
        self, queue_url: str, lambdas: Any, sqs: Any, pollers: int = POLLERS, function: str = ENGINE_FUNCTION
    ) -> None:
        self.queue_url = queue_url
        self.function = function
        self.lambdas = lambdas
        self.sqs = sqs
        self.delivered: list[dict[str, Any]] = []  # every message body handed to the engine
        self.failed: list[str] = []  # message ids the engine gave back
        self.receives = 0  # ReceiveMessage calls made (one at a time)
        self.paused = threading.Event()
        self._stop = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._poll, daemon=True) for _ in range(pollers)]
        for thread in self._threads:
            thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            if self.paused.is_set():
                time.sleep(0.01)
                continue
            with self._lock:
                self._busy += 1
            try:
                delivered = self._deliver_once()
            except Exception:  # Lambda's poller outlives a failed poll; so does this one
                LOG.exception("polling %s failed", self.queue_url)
                delivered = False
            finally:
                with self._lock:
                    self._busy -= 1
            if not delivered:
                time.sleep(0.005)

    def _deliver_once(self) -> bool:
        with _RECEIVE_LOCK:  # moto's FIFO receive is not thread-safe (SQS serves it atomically)
            messages = self._receive()
        if not messages:
            return False
        return self._handle(messages)

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        with self._lock:
            self.receives += 1
        return messages

    def _handle(self, messages: list[dict[str, Any]]) -> bool:
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
        with self._lock:
            self.delivered.extend(json.loads(m["Body"]) for m in messages)
        response = self.lambdas.invoke(
            FunctionName=self.function, Payload=json.dumps({"Records": records}).encode()
        )
        answer = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError") or not isinstance(answer, dict):
            failed = {r["messageId"] for r in records}
        else:
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] in failed:
                with self._lock:
                    self.failed.append(message["MessageId"])
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=RETRY_VISIBILITY_SECONDS,
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return True

    def idle(self) -> bool:
        """Nothing queued and no batch being handled."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        with self._lock:
            busy = self._busy
        return busy == 0 and all(int(v) == 0 for v in attributes.values())

    def reports(self, step: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            bodies = list(self.delivered)
        return [
            b
            for b in bodies
            if b.get("action") == "StepRunnerReport" and (step is None or b["report"]["stepName"] == step)
        ]

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


@dataclass
class Cloud:
    moto: MotoCloud
    runtime: CloudRuntime
    store: DynamoDBStore
    api: EngineClient
    publisher: RecordingPublisher
    role_arn: str
    sfn: Any
    sqs: Any
    s3: Any
    sagemaker: Any
    events: FifoEventSource
    machines: dict[str, str] = field(default_factory=dict)

    # -- setting up ------------------------------------------------------------------------------

    def register(self, definition: str | dict[str, Any], name: str = "p", **options: Any) -> str:
        text = definition if isinstance(definition, str) else json.dumps(definition)
        upsert_pipeline(
            self.store, name, text, region=REGION, account_id=ACCOUNT, role_arn=self.role_arn, **options
        )
        return name

    def function(self, name: str, handler: Callable[[Any, Any], Any]) -> str:
        """A Lambda function whose handler runs in-process; returns its ARN."""
        self.moto.handlers[name] = handler
        return str(
            aws.client("lambda", REGION).create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=self.role_arn,
                Handler="index.handler",
                Code={"ZipFile": b"the handler runs in-process"},
            )["FunctionArn"]
        )

    def queue(self, name: str) -> str:
        return str(self.sqs.create_queue(QueueName=name)["QueueUrl"])

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return found
            found.extend(json.loads(m["Body"]) for m in batch)

    # -- running ---------------------------------------------------------------------------------

    def start(self, pipeline: str = "p", **fields: Any) -> ExecutionRecord:
        """Start through the API Lambda's EngineClient; ``fields`` are StartRequest fields."""
        return self.api.start(StartRequest(pipeline_name=pipeline, **fields))

    def run(self, pipeline: str = "p", *, timeout: float = 30.0, **kwargs: Any) -> ExecutionRecord:
        return self.wait(self.start(pipeline, **kwargs).execution_arn, timeout)

    def execution(self, arn_or_id: str) -> ExecutionRecord:
        record = self.store.get_execution(arn_or_id.rsplit("/", 1)[-1])
        assert record is not None
        return record

    def steps(self, arn_or_id: str) -> dict[str, StepRecord]:
        page = self.store.list_steps(arn_or_id.rsplit("/", 1)[-1], ListQuery(limit=1000, ascending=True))
        return {s.step_name: s for s in page.items}

    def wait(self, arn_or_id: str, timeout: float = 30.0) -> ExecutionRecord:
        """Until the execution is terminal and none of its state machine executions runs."""
        execution_id = arn_or_id.rsplit("/", 1)[-1]
        wait_until(lambda: self.execution(execution_id).status in TERMINAL_EXECUTION_STATUSES, timeout)
        wait_until(lambda: not self.running_executions(execution_id), timeout)
        wait_until(self.events.idle, timeout)
        return self.execution(execution_id)

    def running_executions(self, execution_id: str = "") -> list[str]:
        names = []
        for machine in self.machines.values():
            for item in self.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")[
                "executions"
            ]:
                if item["name"].startswith(execution_id):
                    names.append(item["name"])
        return names

    def runner_executions(self, execution_id: str) -> list[dict[str, Any]]:
        """Every StepRunner execution of one pipeline execution (any status)."""
        pages = self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.machines["StepRunner"]
        )
        return [i for page in pages for i in page["executions"] if i["name"].startswith(f"{execution_id}-")]

    def status_change(self, execution_arn: str) -> dict[str, Any]:
        """Deliver the Step Functions status-change event of an ended execution to the engine, as
        the stack's EventBridge rule does (moto's Step Functions emits none); returns its answer."""
        described = self.sfn.describe_execution(executionArn=execution_arn)
        event = {
            "version": "0",
            "source": "aws.states",
            "detail-type": "Step Functions Execution Status Change",
            "detail": {
                "executionArn": execution_arn,
                "stateMachineArn": described["stateMachineArn"],
                "name": described["name"],
                "status": described["status"],
                "error": described.get("error"),
                "cause": described.get("cause"),
            },
        }
        return dict(self.moto.handlers[ENGINE_FUNCTION](event, lambda_context(ENGINE_FUNCTION, "arn")))

    def stop_everything(self) -> None:
        for machine in self.machines.values():
            for item in self.sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")[
                "executions"
            ]:
                self.sfn.stop_execution(executionArn=item["executionArn"])


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Poll a condition the test waits for; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@contextmanager
def moto_cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """Everything the cloud runtime needs, on moto, torn down without leaking threads."""
    for key, value in POWERTOOLS_ENV.items():
        monkeypatch.setenv(key, value)
    # Concurrent in-process invocations share one Metrics object; one's flush may find another's
    # cleared set, which Powertools reports as a warning (in Lambda, one invocation at a time).
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    moto = install(monkeypatch)
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[call-overload]
        cloud = _build(moto, monkeypatch)
        try:
            yield cloud
        finally:
            cloud.events.close()
            cloud.stop_everything()
            for name, _job in list(moto.jobs.held.items()):
                moto.jobs.held.pop(name, None)


def _build(moto: MotoCloud, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    iam = aws.client("iam", REGION)
    role_arn = iam.create_role(RoleName="pipeline-role", Path="/pipelines/", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    s3 = aws.client("s3", REGION)
    for bucket in (PAYLOAD_BUCKET, DATA_BUCKET):
        s3.create_bucket(Bucket=bucket)
    moto.jobs.put_object = lambda uri, data: S3ObjectStore(s3).put(uri, data)
    sfn = aws.client("stepfunctions", REGION)
    lambdas = aws.client("lambda", REGION)
    engine_arn = lambdas.create_function(
        FunctionName=ENGINE_FUNCTION,
        Runtime="python3.12",
        Role=role_arn,
        Handler="handler.handler",
        Code={"ZipFile": b"the handler runs in-process"},
    )["FunctionArn"]
    sqs = aws.client("sqs", REGION)
    report_queue = sqs.create_queue(
        QueueName=REPORT_QUEUE,
        Attributes={"FifoQueue": "true", "VisibilityTimeout": str(ENGINE_QUEUE_VISIBILITY_SECONDS)},
    )["QueueUrl"]
    tables = new_tables()
    machines = {}
    for name, build in (
        ("StepRunner", step_runner_definition),
        ("PipelineExecution", pipeline_execution_definition),
    ):
        machines[name] = sfn.create_state_machine(
            name=f"pipelines-{name}",
            roleArn=role_arn,
            definition=render_definition(
                build(), {"ReportQueueUrl": report_queue, "StateTable": tables.state}
            ),
        )["stateMachineArn"]
    del engine_arn

    objects = S3ObjectStore(s3)
    store = DynamoDBStore(
        tables,
        client=aws.client("dynamodb", REGION),
        objects=objects,
        payload_uri=f"s3://{PAYLOAD_BUCKET}/payloads",
    )
    settings = EngineSettings(
        region=REGION,
        account_id=ACCOUNT,
        step_runner_arn=machines["StepRunner"],
        pipeline_execution_arn=machines["PipelineExecution"],
        report_queue_url=report_queue,
    )
    engine = Engine(
        store,
        objects=objects,
        region=REGION,
        account_id=ACCOUNT,
        unsupported_steps=cloud_unsupported_steps,
        claim_on_launch=True,
    )
    publisher = RecordingPublisher()
    access = AwsAccess(REGION)
    # as the deployed engine (CloudRuntime.from_environment): MLflow observers per invocation
    runtime = CloudRuntime(
        engine, store, access, settings, publisher, observers=lambda: cloud_observers(access.session, store)
    )
    handler_module = load_engine_handler()
    monkeypatch.setattr(handler_module, "_runtime", runtime)

    def engine_lambda(event: Any, context: Any) -> Any:
        try:
            return handler_module.handler(event, context)
        finally:  # Lambda flushes per invocation; with metrics disabled Powertools only accumulates
            handler_module.metrics.clear_metrics()

    moto.handlers[ENGINE_FUNCTION] = engine_lambda
    return Cloud(
        moto=moto,
        runtime=runtime,
        store=store,
        api=EngineClient(lambdas, ENGINE_FUNCTION),
        publisher=publisher,
        role_arn=role_arn,
        sfn=sfn,
        sqs=sqs,
        s3=s3,
        sagemaker=aws.client("sagemaker", REGION),
        events=FifoEventSource(report_queue, lambdas, aws.client("sqs", REGION)),
        machines=machines,
    )
