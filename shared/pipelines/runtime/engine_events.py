"""Every event the engine Lambda accepts, parsed, and dispatched to the cloud runtime.

Two sources, told apart by ``action``:

* the state machines (payloads documented in ``pipelines.stepfunctions.ENGINE_ACTIONS``):
  ``StepRunnerReport``, ``RegisterCallback``, ``StartPipelineExecution``,
  ``AwaitPipelineExecution``. A failure raises, so Step Functions retries the delivery (every
  engine call is idempotent); an event about something that no longer exists is acknowledged
  and logged, since retrying it cannot help.
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
from pipelines.runtime.cloud import StepReport
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

    def as_report(self) -> StepReport:
        return StepReport(self.execution_arn, self.step_name, self.attempt, self.job_name)


class ExecutionRef(_Event):
    """A PipelineExecution machine's input."""

    execution_arn: str = Field(alias="pipelineExecutionArn")
    run: int = 1


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


class StartPipelineExecution(_Event):
    action: Literal["StartPipelineExecution"]
    execution: ExecutionRef


class AwaitPipelineExecution(_Event):
    action: Literal["AwaitPipelineExecution"]
    task_token: str = Field(alias="taskToken")
    execution: ExecutionRef


class StartExecution(_Event):
    action: Literal["StartExecution"]
    request: StartRequest


class StopExecution(_Event):
    action: Literal["StopExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")


class RetryExecution(_Event):
    action: Literal["RetryExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")
    parallelism: int | None = None


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


class CallbackFailure(_Event):
    action: Literal["CallbackFailure"]
    token: str = Field(alias="callbackToken")
    reason: str = Field(alias="failureReason")


class ReconcileExecution(_Event):
    action: Literal["ReconcileExecution"]
    execution_arn: str = Field(alias="pipelineExecutionArn")


MachineEvent = StepRunnerReport | RegisterCallback | StartPipelineExecution | AwaitPipelineExecution
ApiEvent = (
    StartExecution
    | StopExecution
    | RetryExecution
    | UpdateExecution
    | CallbackSuccess
    | CallbackFailure
    | ReconcileExecution
)
EngineEvent = Annotated[MachineEvent | ApiEvent, Field(discriminator="action")]
_EVENTS: TypeAdapter[MachineEvent | ApiEvent] = TypeAdapter(EngineEvent)
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


def parse_event(event: Any) -> MachineEvent | ApiEvent:
    try:
        return _EVENTS.validate_python(event)
    except PydanticValidationError as exc:
        action = event.get("action") if isinstance(event, dict) else None
        raise InvalidEngineEvent(f"not an engine event (action {action!r}): {exc}") from exc


def handle_event(runtime: CloudRuntime, event: Any) -> dict[str, Any]:
    """Parse ``event``, carry it out, and shape the Lambda's answer."""
    from_api = isinstance(event, dict) and event.get("action") in API_ACTIONS
    try:
        parsed = parse_event(event)
        if isinstance(parsed, MachineEvent):
            return _machine(runtime, parsed)
        record = _api(runtime, parsed)
    except PipelinesError as exc:
        if not from_api:
            raise  # a state machine's delivery: failing makes Step Functions retry it
        return {"error": {"code": exc.code, "type": type(exc).__name__, "message": exc.message}}
    return {"execution": record.model_dump(mode="json")}


def _machine(runtime: CloudRuntime, event: MachineEvent) -> dict[str, Any]:
    try:
        if isinstance(event, StepRunnerReport):
            runtime.step_reported(event.report.as_report(), event.outcome)
            return {}
        if isinstance(event, RegisterCallback):
            runtime.register_callback(
                event.task_token, event.role_arn, event.report.as_report(), event.callback
            )
            return {}
        if isinstance(event, StartPipelineExecution):
            record = runtime.pipeline_started(event.execution.execution_arn, event.execution.run)
            return {"pipelineExecutionArn": record.execution_arn, "status": record.status}
        runtime.await_finish(event.task_token, event.execution.execution_arn, event.execution.run)
        return {}
    except ResourceNotFound as exc:
        LOG.warning("acknowledged %s about something that no longer exists: %s", event.action, exc)
        return {"ignored": exc.message}


def _api(runtime: CloudRuntime, event: ApiEvent) -> ExecutionRecord:
    if isinstance(event, StartExecution):
        return runtime.start(event.request)
    if isinstance(event, StopExecution):
        return runtime.stop(event.execution_arn)
    if isinstance(event, RetryExecution):
        return runtime.retry(event.execution_arn, parallelism=event.parallelism)
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
        return runtime.callback_success(event.token, event.outputs)
    if isinstance(event, CallbackFailure):
        return runtime.callback_failure(event.token, event.reason)
    return runtime.reconcile(event.execution_arn)
