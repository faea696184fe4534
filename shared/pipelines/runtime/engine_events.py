"""Every event the engine Lambda accepts, parsed, and dispatched to the cloud runtime.

Four sources:

* the engine's SQS FIFO queue (an event source mapping, batches of up to 10, group = the
  pipeline execution id): ``StepRunnerReport`` and ``RegisterCallback`` from the state
  machines (payloads in ``pipelines.stepfunctions.ENGINE_ACTIONS``), ``MachineEnded``,
  ``Redrive`` and ``Launch`` (the starts of a wide launch) from the engine itself. Each group's messages are decided together, in order
  (:meth:`CloudRuntime.handle_queued`); a group that fails is reported back whole in
  ``batchItemFailures`` (FIFO: its later messages must wait for it) while the other groups of
  the batch go on. A message that can never be understood, or about an execution that no
  longer exists, is acknowledged and logged, since retrying it cannot help.
* EventBridge: Step Functions "Execution Status Change" events of our two machines (a run that
  ended FAILED, TIMED_OUT or ABORTED), forwarded into the execution's queue group as
  ``MachineEnded`` so they are decided in order with its reports; and the scheduled
  ``{"action": "Sweep"}``.
* the API Lambda (:class:`pipelines.runtime.engine_client.EngineClient`): ``StartExecution``,
  ``StopExecution``, ``RetryExecution``, ``UpdateExecution``, ``CallbackSuccess``,
  ``CallbackFailure``, ``ReconcileExecution``. These answer ``{"execution": <record>}`` or, for
  a rejected request, ``{"error": {"code", "type", "message"}}`` so the caller can raise the
  same typed error (ValidationException, ResourceNotFound, ConflictException, ...).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from pipelines.engine.start_request import StartRequest
from pipelines.errors import PipelinesError, ResourceNotFound, ValidationError
from pipelines.runtime.cloud import (
    CallbackRegistered,
    Launch,
    MachineEnded,
    QueuedEvent,
    Redrive,
    Reported,
    StepReport,
)
from pipelines.store.base import ExecutionRecord

if TYPE_CHECKING:
    from pipelines.runtime.cloud import CloudRuntime

LOG = logging.getLogger(__name__)


class InvalidEngineEvent(ValidationError):
    """An event the engine Lambda does not understand."""


class _Event(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class ReportIds(_Event):
    """A StepRunner input's ``report``: the ids of the attempt."""

    execution_arn: str = Field(alias="pipelineExecutionArn")
    step_name: str = Field(alias="stepName")
    step_type: str | None = Field(default=None, alias="stepType")
    attempt: int
    job_name: str = Field(default="", alias="jobName")
    check_baseline: dict[str, Any] | None = Field(default=None, alias="checkBaseline")

    def as_report(self) -> StepReport:
        return StepReport(
            self.execution_arn,
            self.step_name,
            self.attempt,
            self.job_name,
            check_baseline=self.check_baseline,
        )


class StepRunnerReport(_Event):
    action: Literal["StepRunnerReport"]
    report: ReportIds
    runner: str | None = None
    outcome: dict[str, Any]


class RegisterCallback(_Event):
    action: Literal["RegisterCallback"]
    task_token: str = Field(alias="taskToken")
    role_arn: str | None = Field(default=None, alias="roleArn")
    report: ReportIds
    callback: dict[str, Any]


class MachineEndedMessage(_Event):
    action: Literal["MachineEnded"]
    execution_arn: str = Field(alias="executionArn")
    name: str
    machine_arn: str = Field(alias="stateMachineArn")
    status: str
    error: str | None = None
    cause: str | None = None


class RedriveMessage(_Event):
    action: Literal["Redrive"]
    check: bool = True


class LaunchedAttempt(_Event):
    step_name: str = Field(alias="stepName")
    attempt: int


class LaunchMessage(_Event):
    action: Literal["Launch"]
    steps: list[LaunchedAttempt]


class Sweep(_Event):
    action: Literal["Sweep"]


class StartExecution(_Event):
    action: Literal["StartExecution"]
    request: StartRequest


class StopExecution(_Event):
    action: Literal["StopExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")
    client_request_token: str | None = Field(default=None, alias="clientRequestToken")


class RetryExecution(_Event):
    action: Literal["RetryExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")
    parallelism: int | None = None
    client_request_token: str | None = Field(default=None, alias="clientRequestToken")


class UpdateExecution(_Event):
    action: Literal["UpdateExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")
    parallelism: int | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    description: str | None = None


class CallbackSuccess(_Event):
    action: Literal["CallbackSuccess"]
    token: str = Field(alias="callbackToken")
    outputs: dict[str, Any] = Field(default_factory=dict)
    client_request_token: str | None = Field(default=None, alias="clientRequestToken")


class CallbackFailure(_Event):
    action: Literal["CallbackFailure"]
    token: str = Field(alias="callbackToken")
    reason: str = Field(alias="failureReason")
    client_request_token: str | None = Field(default=None, alias="clientRequestToken")


class ReconcileExecution(_Event):
    action: Literal["ReconcileExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")


Queued = StepRunnerReport | RegisterCallback | MachineEndedMessage | RedriveMessage | LaunchMessage
QueuedMessage = Annotated[Queued, Field(discriminator="action")]
_QUEUED: TypeAdapter[Queued] = TypeAdapter(QueuedMessage)
ApiEvent = (
    StartExecution
    | StopExecution
    | RetryExecution
    | UpdateExecution
    | CallbackSuccess
    | CallbackFailure
    | ReconcileExecution
)
EngineEvent = Annotated[ApiEvent | Sweep, Field(discriminator="action")]
_EVENTS: TypeAdapter[ApiEvent | Sweep] = TypeAdapter(EngineEvent)
API_ACTIONS: frozenset[str] = frozenset(
    {
        "StartExecution",
        "StopExecution",
        "RetryExecution",
        "UpdateExecution",
        "CallbackSuccess",
        "CallbackFailure",
        "ReconcileExecution",
    }
)
STATUS_CHANGE = "Step Functions Execution Status Change"
ENDED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
"""The status-change events the stack routes to the engine (a normal end is SUCCEEDED)."""


def parse_event(event: Any) -> ApiEvent | Sweep:
    try:
        return _EVENTS.validate_python(event)
    except PydanticValidationError as exc:
        action = event.get("action") if isinstance(event, dict) else None
        raise InvalidEngineEvent(f"not an engine event (action {action!r}): {exc}") from exc


def parse_queued(body: str) -> Queued:
    try:
        return _QUEUED.validate_json(body)
    except PydanticValidationError as exc:
        raise InvalidEngineEvent(f"not an engine queue message: {exc}") from exc


def handle_event(runtime: CloudRuntime, event: Any) -> dict[str, Any]:
    """Parse ``event``, carry it out, and shape the Lambda's answer."""
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        return handle_batch(runtime, event["Records"])
    if isinstance(event, dict) and event.get("detail-type") == STATUS_CHANGE:
        return forward_status_change(runtime, event)
    from_api = isinstance(event, dict) and event.get("action") in API_ACTIONS
    try:
        parsed = parse_event(event)
        if isinstance(parsed, Sweep):
            return {"swept": runtime.sweep()}
        record = _api(runtime, parsed)
    except PipelinesError as exc:
        if not from_api:
            raise
        return {"error": {"code": exc.code, "type": type(exc).__name__, "message": exc.message}}
    return {"execution": record.model_dump(mode="json")}


def handle_batch(runtime: CloudRuntime, records: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS FIFO batch: each execution's messages decided together, in order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        group_id = str(record.get("attributes", {}).get("MessageGroupId", ""))
        groups.setdefault(group_id, []).append(record)
    failures: list[dict[str, str]] = []
    for execution_id, group in groups.items():
        events: list[QueuedEvent] = []
        redelivered = False
        for message in group:
            try:
                event = _queued_event(parse_queued(message["body"]))
            except InvalidEngineEvent as exc:
                LOG.error("dropped message %s: %s", message.get("messageId"), exc)
                continue
            events.append(event)
            # A received-before message may have been decided by an invocation that died before
            # its actions; a Launch decides nothing, and carrying it out again repeats its starts.
            received = int(message.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            redelivered |= received > 1 and not isinstance(event, Launch)
        try:
            runtime.handle_queued(execution_id, events, redelivered=redelivered)
        except ResourceNotFound as exc:
            LOG.warning(
                "acknowledged %d message(s) about something that no longer exists: %s", len(group), exc
            )
        except Exception:
            LOG.exception("execution %s: %d message(s) left for a retry", execution_id, len(group))
            failures.extend({"itemIdentifier": str(r["messageId"])} for r in group)
    return {"batchItemFailures": failures}


def forward_status_change(runtime: CloudRuntime, event: dict[str, Any]) -> dict[str, Any]:
    """A state machine execution of ours ended: queue it in its pipeline execution's group."""
    detail = event.get("detail") or {}
    name = str(detail.get("name", ""))
    execution_id = name.split("-", 1)[0]
    if not execution_id or detail.get("status") not in ENDED_STATUSES:
        return {"ignored": f"status {detail.get('status')!r} of {name!r}"}
    runtime.queue_machine_end(
        execution_id,
        {
            "action": "MachineEnded",
            "executionArn": detail.get("executionArn", ""),
            "name": name,
            "stateMachineArn": detail.get("stateMachineArn", ""),
            "status": detail["status"],
            "error": detail.get("error"),
            "cause": detail.get("cause"),
        },
    )
    return {"queued": execution_id}


def _queued_event(message: Queued) -> QueuedEvent:
    if isinstance(message, StepRunnerReport):
        return Reported(message.report.as_report(), message.outcome)
    if isinstance(message, RegisterCallback):
        return CallbackRegistered(
            message.task_token, message.role_arn, message.report.as_report(), message.callback
        )
    if isinstance(message, MachineEndedMessage):
        return MachineEnded(
            message.execution_arn,
            message.name,
            message.machine_arn,
            message.status,
            message.error,
            message.cause,
        )
    if isinstance(message, LaunchMessage):
        return Launch(tuple((launched.step_name, launched.attempt) for launched in message.steps))
    return Redrive(check=message.check)


def _api(runtime: CloudRuntime, event: ApiEvent) -> ExecutionRecord:
    if isinstance(event, StartExecution):
        return runtime.start(event.request)
    if isinstance(event, StopExecution):
        return runtime.stop(event.execution_arn, client_request_token=event.client_request_token)
    if isinstance(event, RetryExecution):
        return runtime.retry(
            event.execution_arn,
            parallelism=event.parallelism,
            client_request_token=event.client_request_token,
        )
    if isinstance(event, UpdateExecution):
        changes = {
            "parallelism": event.parallelism,
            "display_name": event.display_name,
            "description": event.description,
        }
        return runtime.update_execution(
            event.execution_arn, **{k: v for k, v in changes.items() if v is not None}
        )
    if isinstance(event, CallbackSuccess):
        return runtime.callback_success(
            event.token, event.outputs, client_request_token=event.client_request_token
        )
    if isinstance(event, CallbackFailure):
        return runtime.callback_failure(
            event.token, event.reason, client_request_token=event.client_request_token
        )
    return runtime.reconcile(event.execution_arn)
