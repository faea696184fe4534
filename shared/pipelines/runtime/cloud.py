"""The cloud runtime: carries out the engine's decisions with Step Functions, SageMaker and SQS.

The engine Lambda builds one :class:`CloudRuntime` per container and hands it every event
(see :mod:`pipelines.runtime.engine_events`). The flow of one execution (docs/engine-cloud.md)::

    API start    engine.start (records the run; the first steps are decided Executing) ->
                 StartExecution(PipelineExecution, name=<execution id>) -> StartExecution of a
                 StepRunner per first step (more than MAX_DIRECT_STARTS: Launch messages
                 naming the attempts, started by the queue consumer; so for any wide launch)
    StepRunner   its Report is an SQS FIFO message, group = the execution id
    FIFO batch   every message of one execution in a batch -> one engine decision (reports,
                 callback registrations, runner ends, re-drives, launches) -> its actions
    Finish       the terminal transition also writes the run's final status; the
                 PipelineExecution machine's token (kept on that item) is completed

Serialised per execution, the machine-originated events never race each other, so their
conditional writes never lose (the conditions stay as the safety net for API-originated stop,
retry, update and callbacks, which are decided directly). A launch claims its attempt in the
decision (``Engine(claim_on_launch=True)``): a StepRunner start is idempotent by execution name
(``ExecutionAlreadyExists`` means it already started), so a crash between the decision and the
start is repaired by starting again, from the store: a redelivered batch, the scheduled
:meth:`CloudRuntime.sweep` and :meth:`CloudRuntime.reconcile` re-derive every start, stop,
notice and token release still owed.

Nothing can hang: a StepRunner that ends without reporting (its Report retries exhausted,
aborted by hand) emits a Step Functions status-change event, which EventBridge routes to the
engine; the engine queues it in the execution's group and fails the step with the runner's
status and error (:meth:`CloudRuntime.runner_ended`). Events are best effort, so the sweep also
compares every running step with its StepRunner's DescribeExecution.

Stopping: a running job gets Stop*Job, a running EMR step CancelSteps (or its own cluster is
terminated), as the execution's role (:mod:`pipelines.runtime.job_stops`), and its StepRunner
is stopped (which also interrupts a pending retry backoff); a stopped StepRunner never reports,
so the runtime reports the attempt stopped itself. Callback steps get the "Stopping" SQS
message and keep waiting. Lambda steps run to the end (the engine emits no stop for them). A
StepRunner started while a stop was being decided is stopped right after its start.

Every step runs as the RoleArn the execution was started with (ExecutionRecord.role_arn).

QualityCheck and ClarifyCheck steps run their container on the Processing route; around it the
runtime applies the same baseline semantics as the embedded runner (``pipelines.checks``):
:mod:`pipelines.runtime.check_steps` stages the previous baseline into the request at launch
and turns the job's outcome into the step's properties, metadata and violation outcome when its
report arrives.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from pipelines.callbacks.messages import STOPPING, callback_message, dedupe_id
from pipelines.definition.models import CallbackStep, PipelineDefinition
from pipelines.deploy import settings as deploy_settings
from pipelines.deploy.settings import CloudSettings as DeploySettings
from pipelines.deploy.settings import MissingSetting
from pipelines.engine import (
    Action,
    Engine,
    ExecutionFinished,
    NotifyStopping,
    Outcome,
    RunStep,
    StopStep,
)
from pipelines.engine.cleanup import (
    CLEANUP,
    ENDPOINT,
    ENDPOINT_CONFIG,
    CleanupError,
    CleanupStatus,
    ResourceCleaner,
    Target,
    clean,
)
from pipelines.engine.clock import Clock
from pipelines.engine.ids import execution_id_of
from pipelines.engine.start_request import StartRequest
from pipelines.errors import PipelinesError, ValidationError
from pipelines.events import DEFAULT_CLAIM_TIMEOUT, EventBridgePublisher, Outbox, StatusPublisher
from pipelines.lineage.dynamodb import DynamoDBLineageStore
from pipelines.lineage.step import LINEAGE, Recording, SageMakerLineageApi, record_lineage
from pipelines.lineage.store import LineageStore
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runners.base import StepFailed, StepPending, StepRequest, StepResult
from pipelines.runtime.aws_access import AwsAccess
from pipelines.runtime.check_steps import check_outcome, failed_job_arn, is_check_step, prepare_check
from pipelines.runtime.job_stops import application_named, stop_step_work
from pipelines.runtime.task_outcomes import TaskError, json_safe, step_failure, step_result
from pipelines.stepfunctions import (
    UnsupportedInCloud,
    dump_input,
    route_for,
    step_runner_execution_name,
    step_runner_input,
)
from pipelines.store.base import (
    ACTIVE_EXECUTION_STATUSES,
    RUNNING_STEP_STATUSES,
    ExecutionRecord,
    ExecutionState,
    StepRecord,
)
from pipelines.store.dynamodb import task_token_key
from pipelines.tracking.cloud import SETTLE_SECONDS, cloud_observers
from pipelines.tracking.destinations import cloud_job_environment
from pipelines.tracking.observer import Observers

LOG = logging.getLogger(__name__)

CALLBACK_TOKEN = "callback"
STOPPED_REASON = "The step was stopped."
CALLBACK_FAILURE_ERROR = "SageMaker.CallbackStepFailure"
RUNNER_ENDED_ERROR = "StepRunnerEnded"
MAX_DIRECT_STARTS = 20
"""A decision starts at most this many StepRunners in the invocation that made it; a wider
launch is queued as Launch messages naming its attempts, so StartPipelineExecution stays fast
whatever the width of the DAG."""
LAUNCHES_PER_MESSAGE = 500
"""Attempts named in one Launch message: step names are at most 64 characters (an iteration's
a few more), so a message stays near 60 KB, well under SQS's 256 KB."""
SWEEP_AFTER = timedelta(minutes=10)
"""An execution unchanged for this long is re-driven by the scheduled sweep."""
DESCRIBE_CALLS: dict[str, tuple[str, str, str]] = {
    "DescribeModel": ("sagemaker", "describe_model", "ModelName"),
    "DescribeModelPackage": ("sagemaker", "describe_model_package", "ModelPackageName"),
    "DescribeEndpointConfig": ("sagemaker", "describe_endpoint_config", "EndpointConfigName"),
    "DescribeEndpoint": ("sagemaker", "describe_endpoint", "EndpointName"),
    "GetJobRun": ("emr-serverless", "get_job_run", "<applicationId>/<jobRunId>"),
}
"""The reads that turn a route's result into the step's properties (made as the pipeline's role)."""
_GONE_TOKEN_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_ENDED_RUNNER_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


class TaskTokenStore(Protocol):
    """Step Functions task tokens the runtime must complete later (DynamoDBStore has these)."""

    def put_task_token(self, key: str, token: str, expires_at: Any) -> None: ...

    def get_task_token(self, key: str) -> str | None: ...

    def delete_task_token(self, key: str) -> None: ...

    def finish_token(self, execution_id: str, run: int) -> str | None: ...


class MissingPipelineRole(ValidationError):
    """The pipeline has no RoleArn, and in the cloud every step runs as that role."""


@dataclass(frozen=True)
class EngineSettings:
    region: str
    account_id: str
    step_runner_arn: str
    pipeline_execution_arn: str
    report_queue_url: str | None = None
    event_bus_name: str | None = None
    assume_pipeline_roles: bool = True
    token_ttl: timedelta = timedelta(days=366)

    @classmethod
    def from_deployment(
        cls, settings: DeploySettings, *, assume_pipeline_roles: bool = True
    ) -> EngineSettings:
        """The engine's part of the stack's environment contract (``pipelines.deploy.settings``)."""
        if not settings.step_runner_arn:
            raise MissingSetting(deploy_settings.STEP_RUNNER_ARN)
        if not settings.pipeline_execution_arn:
            raise MissingSetting(deploy_settings.PIPELINE_EXECUTION_ARN)
        if not settings.report_queue_url:
            raise MissingSetting(deploy_settings.REPORT_QUEUE_URL)
        parts = settings.step_runner_arn.split(":")
        if len(parts) < 7 or parts[2] != "states":
            raise ValidationError(f"STEP_RUNNER_ARN is not a state machine ARN: {settings.step_runner_arn!r}")
        return cls(
            region=settings.region,
            account_id=parts[4],
            step_runner_arn=settings.step_runner_arn,
            pipeline_execution_arn=settings.pipeline_execution_arn,
            report_queue_url=settings.report_queue_url,
            event_bus_name=settings.event_bus_name,
            assume_pipeline_roles=assume_pipeline_roles,
        )

    def runner_arn(self, name: str) -> str:
        """The ARN of the StepRunner execution called ``name``."""
        return f"{self.step_runner_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def cloud_unsupported_steps(definition: PipelineDefinition, names: set[str] | None) -> list[tuple[str, str]]:
    """Steps the StepRunner has no route for: refused before the execution starts."""
    problems: list[tuple[str, str]] = []
    for step in definition.all_steps():
        if names is not None and step.name not in names:
            continue
        try:
            route_for(step)
        except UnsupportedInCloud as exc:
            problems.extend((s.name, f"not supported in the cloud runtime: {s.reason}") for s in exc.steps)
    return problems


@dataclass(frozen=True)
class StepReport:
    """The ids a StepRunner sends back (its input's ``report``)."""

    execution_arn: str
    step_name: str
    attempt: int
    job_name: str
    check_baseline: Mapping[str, Any] | None = None  # a check step's previous baseline (check_steps)


@dataclass(frozen=True)
class Reported:
    """A StepRunner's Report message: how the Task ended."""

    report: StepReport
    outcome: Mapping[str, Any]


@dataclass(frozen=True)
class CallbackRegistered:
    """A Callback step's Task: its task token and the message to send."""

    task_token: str
    role_arn: str | None
    report: StepReport
    callback: Mapping[str, Any]


@dataclass(frozen=True)
class MachineEnded:
    """A state machine execution of ours ended (a Step Functions status-change event)."""

    execution_arn: str  # the Step Functions execution
    name: str
    machine_arn: str
    status: str
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Redrive:
    """Carry out whatever the stored state still calls for; ``check`` compares every running
    step with its StepRunner first (the sweep), otherwise pending starts are simply made."""

    check: bool = True


@dataclass(frozen=True)
class Launch:
    """Start these attempts (step name, attempt), which a decision launched but left to the
    queue consumer (too many to start in its own invocation). It decides nothing: an attempt
    that has since moved on is not started."""

    attempts: tuple[tuple[str, int], ...]


QueuedEvent = Reported | CallbackRegistered | MachineEnded | Redrive | Launch


class CloudRuntime:
    """See the module docstring. API-facing methods match ``ExecutionRuntime``."""

    def __init__(
        self,
        engine: Engine,
        tokens: TaskTokenStore,
        access: AwsAccess,
        settings: EngineSettings,
        publisher: StatusPublisher | None = None,
        lineage: LineageStore | None = None,
        observers: Callable[[], Observers] | None = None,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
    ) -> None:
        """With a ``publisher``, the engine records each decision's status events in its
        transaction (``engine.outbox`` is set to this runtime's outbox) and they are published
        after it; ``claim_timeout``: how long events another invocation committed and did not
        publish wait before this one takes them over (pipelines.events.outbox)."""
        if not engine.decisions.claim_on_launch:
            raise ValueError("the cloud runtime needs an Engine(claim_on_launch=True)")
        self.engine = engine
        self.store = engine.store
        self.tokens = tokens
        self.aws = access
        self.settings = settings
        self.publisher = publisher
        self.outbox: Outbox | None = None
        if publisher is not None:
            # one claimant per container: invocations of other containers are not observable,
            # so their unpublished events are taken over after ``claim_timeout``
            # holding: a decision's events are removed by the decision on its launches' reports,
            # in the transaction it writes anyway, instead of by an UpdateItem of their own
            self.outbox = Outbox(
                self.store,
                publisher,
                claimant=f"lambda:{uuid.uuid4().hex[:16]}",  # 64 random bits: stored per decision
                claim_timeout=claim_timeout,
                reported=lambda step: step.step_type not in _NOT_REPORTED,
            )
            engine.outbox = self.outbox.record
        self.lineage = lineage if lineage is not None else _lineage_store(engine.store)
        # Observers (MLflow) live for one invocation: ``observing`` ends them before the
        # handler returns (a frozen Lambda runs no background thread). None: nothing observes.
        self._observer_factory = observers
        self._observers: Observers | None = None
        self._observers_lock = threading.Lock()
        self._invocations = 0

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
        publisher: StatusPublisher | None = None,
    ) -> CloudRuntime:
        """The runtime of a deployed engine Lambda: the stack's environment contract
        (``pipelines.deploy.settings``), plus ASSUME_PIPELINE_ROLES=false to act as the engine's
        own role instead of each pipeline's."""
        from pipelines.objects.s3 import S3ObjectStore
        from pipelines.store.dynamodb import store_from_environment

        env = os.environ if environ is None else environ
        deployment = DeploySettings.from_environment(env)
        settings = EngineSettings.from_deployment(
            deployment, assume_pipeline_roles=env.get("ASSUME_PIPELINE_ROLES", "true").lower() != "false"
        )
        access = AwsAccess(settings.region, assume_roles=settings.assume_pipeline_roles)
        objects = S3ObjectStore(access.client("s3"))
        store = store_from_environment(
            deployment.store_environment(), client=access.client("dynamodb"), objects=objects
        )
        engine = Engine(
            store,
            objects=objects,
            clock=clock,
            region=settings.region,
            account_id=settings.account_id,
            unsupported_steps=cloud_unsupported_steps,
            claim_on_launch=True,
        )
        if publisher is None and settings.event_bus_name:
            publisher = EventBridgePublisher(settings.event_bus_name, access.client("events"))
        return cls(
            engine,
            store,
            access,
            settings,
            publisher,
            observers=lambda: cloud_observers(access.session, store),
        )

    # -- API-originated operations ---------------------------------------------------------------

    def start(self, request: StartRequest) -> ExecutionRecord:
        pipeline = self.store.get_pipeline(self.engine.pipeline_key(request.pipeline_name))
        if pipeline is not None and not pipeline.role_arn:
            raise MissingPipelineRole(
                f"Pipeline {request.pipeline_name} has no RoleArn; in the cloud every step runs as "
                "the pipeline's role"
            )
        outcome = self.engine.start(request)
        execution = _execution_of(outcome)
        if not outcome.accepted:
            # A replayed ClientRequestToken: the first request may have died after writing the
            # records, so finish its job (every part is idempotent).
            self._start_pipeline_execution(execution)
            self._queue(execution.execution_id, {"action": "Redrive", "check": False}, "start-replay")
            return execution
        self._ensure_experiment(execution)
        self._start_pipeline_execution(execution)
        self._launch(outcome)
        return execution

    def stop(self, execution: str, *, client_request_token: str | None = None) -> ExecutionRecord:
        outcome = self.engine.stop(execution, client_request_token=client_request_token)
        self._carry_out_requested(outcome, "stop")
        return _execution_of(outcome)

    def retry(
        self, execution: str, *, parallelism: int | None = None, client_request_token: str | None = None
    ) -> ExecutionRecord:
        outcome = self.engine.retry(
            execution, parallelism=parallelism, client_request_token=client_request_token
        )
        record = _execution_of(outcome)
        if not outcome.accepted:  # a repeat of a recorded retry
            self._carry_out_requested(outcome, "retry")
            return record
        self._start_pipeline_execution(record)
        self._launch(outcome)
        return record

    def update_execution(self, execution: str, **changes: Any) -> ExecutionRecord:
        outcome = self.engine.update_execution(execution, **changes)
        self._launch(outcome)
        return _execution_of(outcome)

    def callback_success(
        self,
        token: str,
        outputs: Mapping[str, Any],
        *,
        background: bool = False,
        client_request_token: str | None = None,
    ) -> ExecutionRecord:
        outcome = self.engine.callback_success(token, outputs, client_request_token=client_request_token)
        self._carry_out_requested(outcome, "callback")
        record = _step_with_token(outcome, token)
        listed = (record.metadata.get("Callback", {}) if record else {}).get("OutputParameters", [])
        self._release_callback_runner(token, output={"OutputParameters": listed})
        return _execution_of(outcome)

    def callback_failure(
        self, token: str, reason: str, *, background: bool = False, client_request_token: str | None = None
    ) -> ExecutionRecord:
        outcome = self.engine.callback_failure(token, reason, client_request_token=client_request_token)
        self._carry_out_requested(outcome, "callback")
        self._release_callback_runner(token, error=(CALLBACK_FAILURE_ERROR, reason))
        return _execution_of(outcome)

    def _carry_out_requested(self, outcome: Outcome, operation: str) -> None:
        """Carry out an API request's decision. One the engine did not accept (a repeat of a
        recorded request, whose first call may have died before carrying its decision out, or
        a stop of an execution already Stopping) is re-driven from the stored state through
        the execution's queue group: the PipelineExecution run and every start, stop and
        notice it still calls for, or the release of its finish when it ended (each idempotent)."""
        if outcome.accepted:
            self._launch(outcome)
            return
        execution = _execution_of(outcome)
        self._queue(
            execution.execution_id,
            {"action": "Redrive", "check": False},
            f"{operation}-repeat-v{execution.version}",
        )

    def reconcile(self, execution: str) -> ExecutionRecord:
        """Carry out again whatever the stored state still calls for (an operator's repair)."""
        execution_id = execution_id_of(execution)
        self._redrive(execution_id, check=True)
        return self.engine.state(execution_id).execution

    # -- the engine's queue: one execution's events, in order ------------------------------------

    def handle_queued(self, execution_id: str, events: Sequence[QueuedEvent], *, redelivered: bool) -> None:
        """Decide every queued event of one execution (consecutive reports in one decision).

        ``redelivered``: some of these messages were received before, so an earlier
        invocation may have died between a decision and its actions: re-derive them too."""
        reports: list[Reported] = []
        for event in events:
            if isinstance(event, Reported):
                reports.append(event)
                continue
            self._reports(execution_id, reports)
            reports = []
            if isinstance(event, CallbackRegistered):
                self.register_callback(event.task_token, event.role_arn, event.report, event.callback)
            elif isinstance(event, MachineEnded):
                self.machine_ended(execution_id, event)
            elif isinstance(event, Launch):
                self.carry_out(self.engine.owed_starts(execution_id, event.attempts))
            else:
                redelivered = False
                self._redrive(execution_id, check=event.check)
        self._reports(execution_id, reports)
        if redelivered:
            self._redrive(execution_id, check=False)

    def _reports(self, execution_id: str, reports: Sequence[Reported]) -> None:
        if not reports:
            return
        state = self.engine.state(execution_id)
        decided: list[StepOutcome] = []
        for reported in reports:
            report = reported.report
            record = state.steps.get(report.step_name)
            if record is None or not _is_running(state, record, report.attempt):
                continue  # a duplicate or stale report
            decided.append(
                (
                    report.step_name,
                    report.attempt,
                    self._task_outcome(state, record, report, reported.outcome),
                )
            )
        if decided:
            with self._settling(execution_id, [(name, attempt) for name, attempt, _ in decided]):
                outcome = self.engine.report(execution_id, decided)
            self._launch(outcome)

    def _settling(
        self, execution_id: str, attempts: Sequence[tuple[str, int]]
    ) -> AbstractContextManager[None]:
        """Around the decision on how ``attempts`` ended: its transaction also removes the status
        events of the decisions that launched them (their StepRunners ran, so those were
        published: pipelines.events.outbox, holding)."""
        if self.outbox is None:
            return nullcontext()
        return self.outbox.settling(execution_id, self.outbox.settles_for(execution_id, attempts))

    def _task_outcome(
        self, state: ExecutionState, record: StepRecord, report: StepReport, outcome: Mapping[str, Any]
    ) -> StepResult | StepFailed:
        step = self.engine.step_of(state, report.step_name)
        function_arn = record.step_fields.get("FunctionArn")
        arn = function_arn if isinstance(function_arn, str) else None
        decided: StepResult | StepFailed
        if "error" in outcome:
            decided = step_failure(step, TaskError.from_outcome(outcome["error"]), function_arn=arn)
        else:
            try:
                decided = step_result(
                    step,
                    outcome.get("result"),
                    arguments=record.arguments,
                    job_name=report.job_name,
                    function_arn=arn,
                    describe=self._describer(state.execution),
                )
            except StepFailed as exc:
                decided = exc
        if is_check_step(record.step_type):
            role_arn = _role(state.execution)
            return check_outcome(
                record,
                report.check_baseline,
                decided,
                lambda service: self.aws.client(service, role_arn),
                job_arn=failed_job_arn(outcome.get("error")),
            )
        return decided

    def register_callback(
        self, task_token: str, role_arn: str | None, report: StepReport, callback: Mapping[str, Any]
    ) -> None:
        """A Callback step's Task: map our CallbackToken to the task token, send the message,
        and record that the step waits."""
        body = callback.get("MessageBody")
        queue_url = callback.get("QueueUrl")
        if (
            not isinstance(body, Mapping)
            or not isinstance(queue_url, str)
            or not isinstance(body.get("token"), str)
        ):
            raise ValidationError(
                f"RegisterCallback without a QueueUrl and a MessageBody token: {dict(callback)}"
            )
        token = str(body["token"])
        self.tokens.put_task_token(
            task_token_key(CALLBACK_TOKEN, token),
            task_token,
            self.engine.clock.now() + self.settings.token_ttl,
        )
        execution_id = execution_id_of(report.execution_arn)
        state = self.engine.state(execution_id)
        record = state.steps.get(report.step_name)
        if record is None or not _is_running(state, record, report.attempt):
            self._release_callback_runner(
                token, error=("Pipelines.StepNotWaiting", "The attempt is no longer running.")
            )
            return
        if not record.waiting_for_callback:
            # The documented message, {token, pipelineExecutionArn, arguments}: only the
            # "Stopping" message has a status.
            message = callback_message(token, report.execution_arn, body.get("arguments", {}))
            self._send_message(queue_url, message, _role(state.execution), dedupe=dedupe_id(token, None))
        pending = StepPending(metadata={"Callback": {"CallbackToken": token, "SqsQueueUrl": queue_url}})
        outcome = self.engine.step_pending(execution_id, report.step_name, report.attempt, pending)
        if outcome.accepted:
            self.carry_out(outcome)

    def machine_ended(self, execution_id: str, event: MachineEnded) -> None:
        """A StepRunner or PipelineExecution execution ended (status-change event or sweep)."""
        if event.machine_arn == self.settings.pipeline_execution_arn:
            self._pipeline_machine_ended(execution_id, event)
            return
        state = self.engine.state(execution_id)
        for record in state.steps.values():
            if not _is_running(state, record, record.attempt):
                continue
            if step_runner_execution_name(execution_id, record.step_name, record.attempt) != event.name:
                continue
            detail = ": ".join(part for part in (event.error, event.cause) if part)
            reason = (
                f"The StepRunner execution {event.name} ended {event.status} without reporting the "
                f"step's outcome" + (f" ({detail})" if detail else "") + "."
            )
            failure = StepFailed(reason, error_code=RUNNER_ENDED_ERROR)
            with self._settling(execution_id, [(record.step_name, record.attempt)]):
                outcome = self.engine.step_failed(execution_id, record.step_name, record.attempt, failure)
            self._launch(outcome)
            return
        LOG.info("StepRunner %s ended %s: no running step of it (already decided)", event.name, event.status)

    def _pipeline_machine_ended(self, execution_id: str, event: MachineEnded) -> None:
        """The PipelineExecution run is only the execution's mirror (the engine drives the
        steps), but an execution whose run has ended can no longer finish it: aborted by hand,
        the pipeline execution is stopped, as StopPipelineExecution would; ended FAILED or
        TIMED_OUT, its running steps are stopped and it ends Failed, naming the run and its
        error (``Engine.end_failed``)."""
        execution = self.engine.state(execution_id).execution
        if execution.status not in ACTIVE_EXECUTION_STATUSES or event.name != _machine_name(execution):
            return
        if event.status == "ABORTED":
            if execution.status == "Executing":
                self.stop(execution_id)
            return
        detail = ": ".join(part for part in (event.error, event.cause) if part)
        reason = (
            f"The PipelineExecution run {event.name} ended {event.status}"
            + (f" ({detail})" if detail else "")
            + "; the pipeline execution cannot finish without it."
        )
        LOG.warning("%s Ending %s Failed.", reason, execution_id)
        self.carry_out(self.engine.end_failed(execution_id, reason))

    def queue_machine_end(self, execution_id: str, message: Mapping[str, Any]) -> None:
        """Queue a status-change event in its execution's group (decided after its reports)."""
        self._queue(execution_id, message, f"{message['name']}-{message['status']}")

    def sweep(self) -> list[str]:
        """The scheduled sweep: status events an invocation committed and never published
        (it died, or PutEvents failed) are published once their claim is abandoned, which also
        covers executions that get no further event (a lost "Succeeded"); and every active
        execution unchanged for SWEEP_AFTER is re-driven (in its own queue group, so after any
        event still queued for it). Returns the re-driven ids."""
        if self.outbox is not None:
            try:
                sent = self.outbox.publish_pending()
            except Exception:
                LOG.exception("publishing pending status events failed")
            else:
                if sent:
                    LOG.warning("published %d status event(s) an earlier invocation left", len(sent))
        now = self.engine.clock.now()
        swept = []
        for execution in self.store.list_unfinished_executions():
            if now - execution.modified_at < SWEEP_AFTER:
                continue
            window = int(now.timestamp() // 60)  # one re-drive per execution and minute
            self._queue(execution.execution_id, {"action": "Redrive", "check": True}, f"sweep-{window}")
            swept.append(execution.execution_id)
        return swept

    def _redrive(self, execution_id: str, *, check: bool) -> None:
        outcome = self.engine.pending_actions(execution_id)
        execution = _execution_of(outcome)
        if execution.status in ACTIVE_EXECUTION_STATUSES:
            self._start_pipeline_execution(execution)
        if not check:
            self.carry_out(outcome)
            return
        owed: list[Action] = []
        for action in outcome.actions:
            if not isinstance(action, RunStep):
                owed.append(action)
                continue
            name = step_runner_execution_name(action.execution_id, action.step_name, action.attempt)
            try:
                described = self.aws.client("stepfunctions").describe_execution(
                    executionArn=self.settings.runner_arn(name)
                )
            except ClientError as exc:
                if _code(exc) != "ExecutionDoesNotExist":
                    raise
                owed.append(action)  # decided, never started
                continue
            if described["status"] in _ENDED_RUNNER_STATUSES:
                self.machine_ended(
                    execution_id,
                    MachineEnded(
                        execution_arn=described["executionArn"],
                        name=name,
                        machine_arn=self.settings.step_runner_arn,
                        status=described["status"],
                        error=described.get("error"),
                        cause=described.get("cause"),
                    ),
                )
        outcome.actions = owed
        self.carry_out(outcome)

    # -- carrying out the engine's actions -----------------------------------------------------

    def _launch(self, outcome: Outcome) -> None:
        """Carry out an API- or event-originated decision; the starts of a wide launch are
        queued instead, naming exactly its attempts (so no other running step is started again)."""
        starts = [a for a in outcome.actions if isinstance(a, RunStep)]
        execution = outcome.execution
        if len(starts) <= MAX_DIRECT_STARTS or execution is None:
            self.carry_out(outcome)
            return
        outcome.actions = [a for a in outcome.actions if not isinstance(a, RunStep)]
        self.carry_out(outcome)
        for first in range(0, len(starts), LAUNCHES_PER_MESSAGE):
            chunk = starts[first : first + LAUNCHES_PER_MESSAGE]
            self._queue(
                execution.execution_id,
                {
                    "action": "Launch",
                    "steps": [{"stepName": a.step_name, "attempt": a.attempt} for a in chunk],
                },
                f"v{execution.version}-{first}",
            )

    def carry_out(self, outcome: Outcome) -> None:
        self._publish(outcome)
        observers = self._current_observers(outcome)
        if observers is not None:
            observers.observe(outcome)
        execution = outcome.execution
        started: list[RunStep] = []
        for action in outcome.actions:
            if isinstance(action, RunStep):
                if execution is not None and self._run_step(action, execution):
                    started.append(action)
            elif isinstance(action, StopStep):
                self._stop_step(action)
            elif isinstance(action, NotifyStopping):
                self._notify_stopping(action)
            elif isinstance(action, ExecutionFinished):
                self._release_finish(outcome)
        if self.outbox is not None and execution is not None:
            try:
                self.outbox.settle(execution.execution_id)
            except Exception:
                LOG.exception("removing published status events failed (they may be published again)")
        if started and execution is not None:
            self._stop_if_stopped_meanwhile(execution.execution_id, started)

    def _run_step(self, action: RunStep, execution: ExecutionRecord) -> bool:
        """Start the attempt's StepRunner (idempotent by name); False if it cannot run (or ran
        here: Cleanup and Lineage steps are calls the engine makes itself)."""
        request = action.request
        if request.step_type in ENGINE_CALLED_TYPES:
            self._run_in_engine(action, execution)
            return False
        name = step_runner_execution_name(action.execution_id, action.step_name, action.attempt)
        now = self.engine.clock.now()
        delay = max((action.not_before - now).total_seconds(), 0.0) if action.not_before else 0.0
        arguments, report = request.arguments, {}
        if is_check_step(request.step_type):
            role_arn = _role(execution)
            try:
                prepared = prepare_check(request, lambda service: self.aws.client(service, role_arn))
            except StepFailed as refused:
                self.carry_out(
                    self.engine.step_failed(action.execution_id, action.step_name, action.attempt, refused)
                )
                return False
            arguments, report = prepared.arguments, prepared.report
        try:
            runner_input = step_runner_input(
                request.step,
                arguments,
                job_name=request.job_name,
                role_arn=_role(execution),
                execution_arn=request.execution_arn,
                attempt=action.attempt,
                delay_seconds=delay,
                experiment_config=request.experiment_config,
                step_fields=request.step_fields,
                callback_token=request.step_fields.get("CallbackToken"),
                report=report,
                job_environment=self._job_environment(request, execution),
            )
        except (PipelinesError, ValueError) as exc:
            failure = StepFailed(f"The step cannot run in the cloud: {exc}", error_code="ValidationException")
            self.carry_out(
                self.engine.step_failed(action.execution_id, action.step_name, action.attempt, failure)
            )
            return False
        if self.outbox is not None:  # the events of the decision that launched it go out first
            self.outbox.before_start(action.execution_id, action.step_name, action.attempt)
        self.engine.record_run(action)
        try:
            self.aws.client("stepfunctions").start_execution(
                stateMachineArn=self.settings.step_runner_arn, name=name, input=dump_input(runner_input)
            )
        except ClientError as exc:
            if _code(exc) != "ExecutionAlreadyExists":
                raise
        return True

    def _current_observers(self, outcome: Outcome) -> Observers | None:
        """This invocation's observers, made on the first outcome that has someone to observe it
        (an execution with MlflowConfig), so other executions never load MLflow."""
        execution = outcome.execution
        wanted = execution is not None and execution.mlflow is not None
        with self._observers_lock:
            if self._observers is None and self._observer_factory is not None and wanted:
                self._observers = self._observer_factory()
            return self._observers

    def _job_environment(self, request: StepRequest, execution: ExecutionRecord) -> dict[str, str]:
        """MLflow variables of the attempt's job: from the observers (with its run id), else
        just where to log."""
        with self._observers_lock:
            observers = self._observers
        if observers is not None:
            return observers.job_environment(request)
        return cloud_job_environment(execution.mlflow, request.step_type)

    @contextmanager
    def observing(self, timeout: float = SETTLE_SECONDS) -> Iterator[None]:
        """Around one invocation (the engine handler): when the last invocation running in
        this process ends, its observers' queued writes get at most ``timeout`` seconds, then
        are dropped with warnings (a frozen Lambda runs no background thread)."""
        with self._observers_lock:
            self._invocations += 1
        try:
            yield
        finally:
            with self._observers_lock:
                self._invocations -= 1
                ending = self._observers if self._invocations == 0 else None
                if ending is not None:
                    self._observers = None
            if ending is not None:
                ending.close(timeout)

    def _run_in_engine(self, action: RunStep, execution: ExecutionRecord) -> None:
        """A Cleanup or Lineage step: its calls, as the execution's role, then its report.
        Every call is idempotent (deletes; creates that find the name reuse it), so a
        re-driven attempt (the sweep finds no StepRunner of it) simply runs again."""
        request = action.request
        role_arn = _role(execution)
        outcome: StepResult | StepFailed
        try:
            if request.step_type == CLEANUP:
                outcome = clean(
                    request.step_name,
                    list(request.step_fields.get("CleanupTargets") or []),
                    S3ObjectStore(self.aws.client("s3", role_arn)),
                    self._resource_cleaner(role_arn),
                )
            else:
                recording = (
                    Recording(self.lineage, request.execution_arn, request.step_name, self.engine.clock.now)
                    if self.lineage is not None
                    else None
                )
                api = SageMakerLineageApi(self.aws.client("sagemaker", role_arn), recording)
                outcome = record_lineage(request.step_name, request.arguments, api)
        except StepFailed as exc:
            outcome = exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            outcome = StepFailed(
                f"{error.get('Code')}: {error.get('Message')}", error_code=str(error.get("Code"))
            )
        self.carry_out(self.engine.report(action.execution_id, [(action.step_name, action.attempt, outcome)]))

    def _resource_cleaner(self, role_arn: str) -> ResourceCleaner:
        """Endpoint, endpoint config and EMR Serverless deletes, as the pipeline's role; one
        already gone counts as cleaned (the EMRServerless route deletes an application it
        created itself when its job run ends)."""

        def gone(exc: ClientError) -> bool:
            message = str(exc.response.get("Error", {}).get("Message", ""))
            return _code(exc) == "ResourceNotFoundException" or (
                _code(exc) == "ValidationException" and "Could not find" in message
            )

        def cleaner(target: Target) -> tuple[CleanupStatus, str]:
            name = str(target.resource)
            try:
                if target.kind == ENDPOINT:
                    self.aws.client("sagemaker", role_arn).delete_endpoint(EndpointName=name)
                elif target.kind == ENDPOINT_CONFIG:
                    self.aws.client("sagemaker", role_arn).delete_endpoint_config(EndpointConfigName=name)
                else:
                    client = self.aws.client("emr-serverless", role_arn)
                    if target.resource is None and target.application_name:
                        found = application_named(client, target.application_name)
                        if found is None:
                            return "Skipped", (
                                f"no application named {target.application_name} exists (the attempt "
                                "ended before creating one, or it was deleted)"
                            )
                        name = found
                    self._delete_application(client, name)
            except ClientError as exc:
                if not gone(exc):
                    raise
                return "Cleaned", "it was already gone"
            return "Cleaned", ""

        return cleaner

    @staticmethod
    def _delete_application(client: Any, application_id: str) -> None:
        """Stop (when it runs) and delete an EMR Serverless application, waiting a bounded time
        for the stop: EMR Serverless deletes only CREATED or STOPPED applications."""
        deadline = time.monotonic() + APPLICATION_STOP_SECONDS
        asked = False
        while True:
            state = client.get_application(applicationId=application_id)["application"]["state"]
            if state == "TERMINATED":
                return  # deleted already (EMR Serverless lists a deleted application so for a while)
            if state in ("CREATED", "STOPPED"):
                break
            if state in ("STARTED", "STARTING") and not asked:
                client.stop_application(applicationId=application_id)
                asked = True
                continue
            if time.monotonic() > deadline:
                raise CleanupError(
                    f"EMR Serverless application {application_id} is {state} after "
                    f"{APPLICATION_STOP_SECONDS} s, so it was not deleted"
                )
            time.sleep(2)
        client.delete_application(applicationId=application_id)

    def _stop_if_stopped_meanwhile(self, execution_id: str, started: Sequence[RunStep]) -> None:
        """A stop decided while these StepRunners were being started may have found nothing to
        stop yet: stop those now (a Lambda step is never stopped, so it is never here)."""
        execution = self.store.get_execution(execution_id)
        if execution is None or execution.status == "Executing":
            return
        state = self.engine.state(execution_id)
        for action in started:
            record = state.steps.get(action.step_name)
            if record is None or record.attempt != action.attempt:
                continue
            if record.status in ("Stopping", "Stopped") and not isinstance(action.request.step, CallbackStep):
                self._stop_job(record, state.execution)
                self._stop_runner(action.execution_id, action.step_name, action.attempt)

    def _stop_step(self, action: StopStep) -> None:
        state = self.engine.state(action.execution_id)
        record = state.steps.get(action.step_name)
        if record is None or record.attempt != action.attempt:
            return
        self._stop_job(record, state.execution)
        self._stop_runner(action.execution_id, action.step_name, action.attempt)
        stopped = StepFailed(STOPPED_REASON, error_code="Stopped")
        self.carry_out(
            self.engine.step_failed(action.execution_id, action.step_name, action.attempt, stopped)
        )

    def _stop_job(self, record: StepRecord, execution: ExecutionRecord) -> None:
        role_arn = _role(execution)
        stop_step_work(lambda service: self.aws.client(service, role_arn), record)

    def _stop_runner(self, execution_id: str, step_name: str, attempt: int) -> None:
        name = step_runner_execution_name(execution_id, step_name, attempt)
        try:
            self.aws.client("stepfunctions").stop_execution(
                executionArn=self.settings.runner_arn(name),
                error="Pipelines.StepStopped",
                cause=f"Step {step_name} attempt {attempt} was stopped.",
            )
        except ClientError as exc:
            if _code(exc) != "ExecutionDoesNotExist":
                raise

    def _notify_stopping(self, action: NotifyStopping) -> None:
        request = action.request
        token = request.step_fields.get("CallbackToken")
        queue_url = request.step_fields.get("SqsQueueUrl", getattr(request.step, "sqs_queue_url", None))
        if isinstance(token, str) and isinstance(queue_url, str):
            body = callback_message(token, request.execution_arn, request.arguments, status=STOPPING)
            execution = self.engine.state(action.execution_id).execution
            self._send_message(queue_url, body, _role(execution), dedupe=dedupe_id(token, STOPPING))
        self.carry_out(self.engine.stop_notified(action.execution_id, action.step_name, action.attempt))

    def _release_finish(self, outcome: Outcome) -> None:
        """Complete the PipelineExecution run's token, if it stored one (it reads the final
        status itself otherwise). The token stays on the run item: completing it again (a
        redelivered decision) is refused by Step Functions as a token already used, which is
        cheaper than a write per execution to forget it."""
        execution = _execution_of(outcome)
        token = self.tokens.finish_token(execution.execution_id, execution.run)
        if token is None:
            return
        try:
            self.aws.client("stepfunctions").send_task_success(
                taskToken=token, output=json.dumps(_finish_output(execution))
            )
        except ClientError as exc:
            if _code(exc) not in _GONE_TOKEN_CODES:
                raise

    def _release_callback_runner(
        self, token: str, *, output: Mapping[str, Any] | None = None, error: tuple[str, str] | None = None
    ) -> None:
        """Let the Callback step's StepRunner finish (its report is then a no-op)."""
        key = task_token_key(CALLBACK_TOKEN, token)
        task_token = self.tokens.get_task_token(key)
        if task_token is None:
            return
        sfn = self.aws.client("stepfunctions")
        try:
            if error is None:
                sfn.send_task_success(taskToken=task_token, output=json.dumps(output or {}))
            else:
                sfn.send_task_failure(taskToken=task_token, error=error[0], cause=error[1][:32768])
        except ClientError as exc:
            if _code(exc) not in _GONE_TOKEN_CODES:
                raise
        self.tokens.delete_task_token(key)

    # -- helpers ---------------------------------------------------------------------------------

    def _queue(self, execution_id: str, body: Mapping[str, Any], dedupe: str) -> None:
        """A message for the engine itself, in the execution's group (after what is queued)."""
        if not self.settings.report_queue_url:
            raise MissingSetting(deploy_settings.REPORT_QUEUE_URL)
        self.aws.client("sqs").send_message(
            QueueUrl=self.settings.report_queue_url,
            MessageBody=json.dumps({**body, "executionId": execution_id}),
            MessageGroupId=execution_id,
            MessageDeduplicationId=f"{execution_id}-{dedupe}"[:128],
        )

    def _start_pipeline_execution(self, execution: ExecutionRecord) -> None:
        try:
            self.aws.client("stepfunctions").start_execution(
                stateMachineArn=self.settings.pipeline_execution_arn,
                name=_machine_name(execution),
                input=dump_input(
                    {
                        "pipelineExecutionArn": execution.execution_arn,
                        "executionId": execution.execution_id,
                        "run": execution.run,
                    }
                ),
            )
        except ClientError as exc:
            if _code(exc) != "ExecutionAlreadyExists":
                raise

    def _ensure_experiment(self, execution: ExecutionRecord) -> None:
        """The SageMaker experiment and run group (trial) the execution's jobs report to."""
        binding = execution.experiment
        if binding is None:
            return
        client = self.aws.client("sagemaker", _role(execution))
        for call, kwargs in (
            ("create_experiment", {"ExperimentName": binding.experiment_name}),
            ("create_trial", {"TrialName": binding.trial_name, "ExperimentName": binding.experiment_name}),
        ):
            try:
                getattr(client, call)(**kwargs)
            except ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", "")).lower()
                if _code(exc) not in ("ResourceInUse", "ValidationException") or "exist" not in message:
                    raise

    def _send_message(
        self, queue_url: str, body: Mapping[str, Any], role_arn: str | None, *, dedupe: str
    ) -> None:
        request: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": json.dumps(body)}
        if queue_url.endswith(".fifo"):
            request.update(
                MessageGroupId=str(body.get("token")), MessageDeduplicationId=dedupe.replace(":", "-")
            )
        self.aws.client("sqs", role_arn).send_message(**request)

    def _describer(self, execution: ExecutionRecord) -> Any:
        def describe(operation: str, name: str) -> dict[str, Any]:
            if operation not in DESCRIBE_CALLS:
                raise ValueError(f"no describer for {operation}")
            service, method, member = DESCRIBE_CALLS[operation]
            client = self.aws.client(service, _role(execution))
            if operation == "GetJobRun":
                application_id, _, job_run_id = name.partition("/")
                response = client.get_job_run(applicationId=application_id, jobRunId=job_run_id)
            else:
                response = getattr(client, method)(**{member: name})
            response.pop("ResponseMetadata", None)
            return dict(json_safe(response))

        return describe

    def _publish(self, outcome: Outcome) -> None:
        """The status events the decision committed with it, then any the execution's earlier
        invocations left unpublished (pipelines.events.outbox). A failed publish is logged, not
        raised: the events stay in the outbox for the next invocation of the execution or the
        sweep, and raising would only delay the actions."""
        if self.outbox is None:
            return
        try:
            self.outbox.publish(outcome)
        except Exception:
            LOG.exception("publishing the status events of %d transition(s) failed", len(outcome.outbox))


StepOutcome = tuple[str, int, StepResult | StepFailed]
ENGINE_CALLED_TYPES = frozenset({CLEANUP, LINEAGE})
_NOT_REPORTED = ENGINE_CALLED_TYPES | {"Callback"}
"""Step types whose outcome is not a StepRunner's report: their launching decision's status
events are not held for it (pipelines.events.outbox)."""
APPLICATION_STOP_SECONDS = 120
"""How long a Cleanup waits for an EMR Serverless application to stop before deleting it."""
"""Step types whose calls the engine Lambda makes itself (no StepRunner execution)."""


def _lineage_store(store: Any) -> LineageStore | None:
    """The execution-lineage records beside a DynamoDB store's own (its state table)."""
    client, tables = getattr(store, "client", None), getattr(store, "tables", None)
    if client is None or tables is None:
        return None
    return DynamoDBLineageStore(client, tables.state)


def _role(execution: ExecutionRecord) -> str:
    """The RoleArn the execution runs as: bound at start (``role_arn``)."""
    if not execution.role_arn:
        raise MissingPipelineRole(
            f"Pipeline execution {execution.execution_arn} has no RoleArn; in the cloud every step "
            "runs as the pipeline's role"
        )
    return execution.role_arn


def _is_running(state: ExecutionState, record: StepRecord, attempt: int) -> bool:
    return (
        record.attempt == attempt
        and record.run == state.execution.run
        and record.status in RUNNING_STEP_STATUSES
    )


def _machine_name(execution: ExecutionRecord) -> str:
    """The PipelineExecution execution of a run: the execution id, then ``-retry-<n>``."""
    return (
        execution.execution_id
        if execution.run == 1
        else f"{execution.execution_id}-retry-{execution.run - 1}"
    )


def _execution_of(outcome: Outcome) -> ExecutionRecord:
    if outcome.execution is None:
        raise AssertionError("an engine outcome without its execution")
    return outcome.execution


def _step_with_token(outcome: Outcome, token: str) -> StepRecord | None:
    return next((r for r in outcome.steps.values() if r.callback_token == token), None)


def _finish_output(execution: ExecutionRecord) -> dict[str, Any]:
    output: dict[str, Any] = {"status": execution.status}
    if execution.failure_reason:
        output["failureReason"] = execution.failure_reason
    return output


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
