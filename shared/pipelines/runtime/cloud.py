"""The cloud runtime: carries out the engine's decisions with Step Functions, SageMaker and SQS.

The engine Lambda builds one :class:`CloudRuntime` per container and hands it every event
(see :mod:`pipelines.runtime.engine_events`). The flow of one execution::

    API start    engine.start (records the run) -> StartExecution(PipelineExecution,
                 name=<execution id>, input={pipelineExecutionArn, run})
    Start state  pipeline_started: experiment + run group, then every pending action
    RunStep      StartExecution(StepRunner, name=step_runner_execution_name(...),
                 input=step_runner_input(...)), then claim the attempt (Starting -> Executing)
    Report       step_reported: the Task outcome -> engine.step_succeeded / step_failed -> actions
    AwaitFinish  await_finish keeps the task token; ExecutionFinished completes it

Idempotent under Lambda retries, duplicate and racing events: every engine call is a
conditional write, and a call that changed nothing (a repeated report, a retried invocation
whose first try died half way) is followed by ``pending_actions``, which re-derives from the
store every action that may still be owed. Each action is safe to repeat: a StepRunner start
is deduplicated by its execution name (``ExecutionAlreadyExists`` means it already started),
stops and token releases ignore "already done" errors.

Stopping: a running job gets Stop*Job, a running EMR step CancelSteps (or its own cluster is
terminated), as the pipeline's role (:mod:`pipelines.runtime.job_stops`), and its StepRunner is
stopped (which also interrupts a pending retry backoff); a stopped StepRunner never reports, so
the runtime reports the attempt stopped itself, without waiting for SageMaker to show the job
Stopped. Callback steps get the "Stopping" SQS message and
keep waiting. Lambda steps run to the end (the engine emits no stop for them). A step the
engine ended while it was still Starting has its StepRunner stopped too, in case it started.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from botocore.exceptions import ClientError

from pipelines.callbacks.messages import STOPPING, callback_message, dedupe_id
from pipelines.definition import parse_definition
from pipelines.definition.models import PipelineDefinition, Step
from pipelines.deploy import settings as deploy_settings
from pipelines.deploy.settings import CloudSettings as DeploySettings
from pipelines.deploy.settings import MissingSetting
from pipelines.engine import (
    Engine,
    ExecutionFinished,
    NotifyStopping,
    Outcome,
    RunStep,
    StopStep,
)
from pipelines.engine.clock import Clock
from pipelines.engine.ids import execution_id_of
from pipelines.engine.start_request import StartRequest
from pipelines.errors import PipelinesError, ValidationError
from pipelines.events import EventBridgePublisher, StatusPublisher, publish_outcome
from pipelines.runners.base import StepFailed, StepPending
from pipelines.runtime.aws_access import AwsAccess
from pipelines.runtime.job_stops import stop_step_work
from pipelines.runtime.task_outcomes import TaskError, json_safe, step_failure, step_result
from pipelines.stepfunctions import (
    UnsupportedInCloud,
    dump_input,
    route_for,
    step_runner_execution_name,
    step_runner_input,
)
from pipelines.store.base import (
    RUNNING_STEP_STATUSES,
    TERMINAL_EXECUTION_STATUSES,
    ExecutionRecord,
    StepRecord,
)
from pipelines.store.dynamodb import task_token_key
from pipelines.tracking.destinations import cloud_job_environment

LOG = logging.getLogger(__name__)

FINISH_TOKEN = "finish"
CALLBACK_TOKEN = "callback"
STOPPED_REASON = "The step was stopped."
CALLBACK_FAILURE_ERROR = "SageMaker.CallbackStepFailure"
_ROLE_MEMO_SECONDS = 60.0
_DEFINITION_MEMO = 64
_GONE_TOKEN_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class TaskTokenStore(Protocol):
    """Step Functions task tokens the runtime must complete later (DynamoDBStore has these)."""

    def put_task_token(self, key: str, token: str, expires_at: Any) -> None: ...

    def get_task_token(self, key: str) -> str | None: ...

    def delete_task_token(self, key: str) -> None: ...


class MissingPipelineRole(ValidationError):
    """The pipeline has no RoleArn, and in the cloud every step runs as that role."""


@dataclass(frozen=True)
class EngineSettings:
    region: str
    account_id: str
    step_runner_arn: str
    pipeline_execution_arn: str
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
        parts = settings.step_runner_arn.split(":")
        if len(parts) < 7 or parts[2] != "states":
            raise ValidationError(f"STEP_RUNNER_ARN is not a state machine ARN: {settings.step_runner_arn!r}")
        return cls(
            region=settings.region,
            account_id=parts[4],
            step_runner_arn=settings.step_runner_arn,
            pipeline_execution_arn=settings.pipeline_execution_arn,
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


class CloudRuntime:
    """See the module docstring. API-facing methods match ``ExecutionRuntime``."""

    def __init__(
        self,
        engine: Engine,
        tokens: TaskTokenStore,
        access: AwsAccess,
        settings: EngineSettings,
        publisher: StatusPublisher | None = None,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.tokens = tokens
        self.aws = access
        self.settings = settings
        self.publisher = publisher
        self._roles: dict[str, tuple[float, str]] = {}
        self._definitions: OrderedDict[str, dict[str, Step]] = OrderedDict()
        self._lock = threading.Lock()

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
        )
        if publisher is None and settings.event_bus_name:
            publisher = EventBridgePublisher(settings.event_bus_name, access.client("events"))
        return cls(engine, store, access, settings, publisher)

    # -- API-originated operations ---------------------------------------------------------------

    def start(self, request: StartRequest) -> ExecutionRecord:
        outcome = self.engine.start(request)
        execution = _execution_of(outcome)
        if outcome.accepted:
            self._publish(outcome)
        # A replayed ClientRequestToken lands here too: starting run 1 again is a no-op if the
        # first request got that far, and finishes its job if it did not.
        self._start_pipeline_execution(execution.execution_id, execution.execution_arn, 1)
        return execution

    def stop(self, execution: str) -> ExecutionRecord:
        outcome = self.engine.stop(execution)
        self.carry_out(outcome)
        return _execution_of(outcome)

    def retry(self, execution: str, *, parallelism: int | None = None) -> ExecutionRecord:
        outcome = self.engine.retry(execution, parallelism=parallelism)
        record = _execution_of(outcome)
        self._publish(outcome)
        self._start_pipeline_execution(record.execution_id, record.execution_arn, record.run)
        return record

    def update_execution(self, execution: str, **changes: Any) -> ExecutionRecord:
        outcome = self.engine.update_execution(execution, **changes)
        self.carry_out(outcome)
        return _execution_of(outcome)

    def callback_success(
        self, token: str, outputs: Mapping[str, Any], *, background: bool = False
    ) -> ExecutionRecord:
        outcome = self.engine.callback_success(token, outputs)
        self.carry_out(outcome)
        record = _step_with_token(outcome, token)
        listed = (record.metadata.get("Callback", {}) if record else {}).get("OutputParameters", [])
        self._release_callback_runner(token, output={"OutputParameters": listed})
        return _execution_of(outcome)

    def callback_failure(self, token: str, reason: str, *, background: bool = False) -> ExecutionRecord:
        outcome = self.engine.callback_failure(token, reason)
        self.carry_out(outcome)
        self._release_callback_runner(token, error=(CALLBACK_FAILURE_ERROR, reason))
        return _execution_of(outcome)

    def reconcile(self, execution: str) -> ExecutionRecord:
        """Carry out again whatever the stored state still calls for (an operator's repair)."""
        outcome = self.engine.pending_actions(execution)
        self.carry_out(outcome)
        return _execution_of(outcome)

    # -- events from the two state machines ------------------------------------------------------

    def pipeline_started(self, execution_arn: str, run: int) -> ExecutionRecord:
        """PipelineExecution's Start state: the experiment, then the first ready steps."""
        execution_id = execution_id_of(execution_arn)
        state = self.engine.state(execution_id)
        if state.execution.run == run and state.execution.status not in TERMINAL_EXECUTION_STATUSES:
            self._ensure_experiment(state.execution)
        outcome = self.engine.pending_actions(execution_id)
        self.carry_out(outcome)
        return _execution_of(outcome)

    def await_finish(self, task_token: str, execution_arn: str, run: int) -> None:
        """PipelineExecution's AwaitFinish: keep the token; complete it now if the run ended.

        The token is written before the status is read, and ExecutionFinished reads the token
        after writing the terminal status, so at least one side completes it."""
        execution_id = execution_id_of(execution_arn)
        key = task_token_key(FINISH_TOKEN, execution_id, run)
        self.tokens.put_task_token(key, task_token, self.engine.clock.now() + self.settings.token_ttl)
        execution = self.store.get_execution(execution_id)
        if execution is None:
            self._complete_token(
                key, task_token, {"status": "Failed", "failureReason": "The execution is gone."}
            )
        elif execution.run != run:
            reason = f"Superseded by run {execution.run} (RetryPipelineExecution)."
            self._complete_token(key, task_token, {"status": "Failed", "failureReason": reason})
        elif execution.status in TERMINAL_EXECUTION_STATUSES:
            self._complete_token(key, task_token, _finish_output(execution))

    def step_reported(self, report: StepReport, outcome: Mapping[str, Any]) -> None:
        """A StepRunner's Report state: the attempt's result or caught error."""
        execution_id = execution_id_of(report.execution_arn)
        state = self.engine.state(execution_id)
        record = state.steps.get(report.step_name)
        current = (
            record is not None
            and record.attempt == report.attempt
            and record.run == state.execution.run
            and record.status in RUNNING_STEP_STATUSES
        )
        if not current or record is None:
            self.carry_out(self.engine.pending_actions(execution_id))  # a duplicate or stale report
            return
        step = self._step(state.execution.definition, report.step_name)
        function_arn = record.step_fields.get("FunctionArn")
        arn = function_arn if isinstance(function_arn, str) else None
        if "error" in outcome:
            failure = step_failure(step, TaskError.from_outcome(outcome["error"]), function_arn=arn)
            result = self.engine.step_failed(execution_id, report.step_name, report.attempt, failure)
        else:
            try:
                succeeded = step_result(
                    step,
                    outcome.get("result"),
                    arguments=record.arguments,
                    job_name=report.job_name,
                    function_arn=arn,
                    describe=self._describer(state.execution.pipeline_arn),
                )
            except StepFailed as exc:
                result = self.engine.step_failed(execution_id, report.step_name, report.attempt, exc)
            else:
                result = self.engine.step_succeeded(execution_id, report.step_name, report.attempt, succeeded)
        if not result.accepted:
            result = self.engine.pending_actions(execution_id)
        self.carry_out(result)

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
        if (
            record is None
            or record.attempt != report.attempt
            or record.run != state.execution.run
            or record.status not in RUNNING_STEP_STATUSES
        ):
            self._release_callback_runner(
                token, error=("Pipelines.StepNotWaiting", "The attempt is no longer running.")
            )
            return
        if not record.waiting_for_callback:
            # The documented first message, {token, pipelineExecutionArn, arguments}: only the
            # "Stopping" message has a status (whatever else the StepRunner's body carries).
            message = callback_message(token, report.execution_arn, body.get("arguments", {}))
            self._send_message(queue_url, message, role_arn, dedupe=dedupe_id(token, None))
        pending = StepPending(metadata={"Callback": {"CallbackToken": token, "SqsQueueUrl": queue_url}})
        outcome = self.engine.step_pending(execution_id, report.step_name, report.attempt, pending)
        if outcome.accepted:
            self.carry_out(outcome)

    # -- carrying out the engine's actions -----------------------------------------------------

    def carry_out(self, outcome: Outcome) -> None:
        self._publish(outcome)
        self._stop_unclaimed(outcome)
        for action in outcome.actions:
            if isinstance(action, RunStep):
                self._run_step(action, outcome.execution)
            elif isinstance(action, StopStep):
                self._stop_step(action)
            elif isinstance(action, NotifyStopping):
                self._notify_stopping(action)
            elif isinstance(action, ExecutionFinished):
                self._release_finish(outcome)

    def _run_step(self, action: RunStep, execution: ExecutionRecord | None) -> None:
        request = action.request
        name = step_runner_execution_name(action.execution_id, action.step_name, action.attempt)
        now = self.engine.clock.now()
        delay = max((action.not_before - now).total_seconds(), 0.0) if action.not_before else 0.0
        try:
            runner_input = step_runner_input(
                request.step,
                request.arguments,
                job_name=request.job_name,
                role_arn=self._role_of(request.pipeline_arn),
                execution_arn=request.execution_arn,
                attempt=action.attempt,
                delay_seconds=delay,
                experiment_config=request.experiment_config,
                step_fields=request.step_fields,
                callback_token=request.step_fields.get("CallbackToken"),
                job_environment=cloud_job_environment(
                    execution.mlflow if execution is not None else None, request.step_type
                ),
            )
        except (PipelinesError, ValueError) as exc:
            failure = StepFailed(f"The step cannot run in the cloud: {exc}", error_code="ValidationException")
            self.carry_out(
                self.engine.step_failed(action.execution_id, action.step_name, action.attempt, failure)
            )
            return
        try:
            self.aws.client("stepfunctions").start_execution(
                stateMachineArn=self.settings.step_runner_arn, name=name, input=dump_input(runner_input)
            )
        except ClientError as exc:
            if _code(exc) != "ExecutionAlreadyExists":
                raise
        claim = self.engine.step_started(action.execution_id, action.step_name, action.attempt)
        if claim.accepted:
            self._publish(claim)
            return
        record = claim.steps.get(action.step_name)
        if record is not None and record.attempt == action.attempt and record.status == "Stopped":
            # Stopped before it was claimed, perhaps before it existed: stop what just started.
            # (A claim also loses when the runner already reported; that runner is left alone.)
            self._stop_job(record, request.pipeline_arn)
            self._stop_runner(action.execution_id, action.step_name, action.attempt)

    def _stop_step(self, action: StopStep) -> None:
        state = self.engine.state(action.execution_id)
        record = state.steps.get(action.step_name)
        if record is None or record.attempt != action.attempt:
            return
        self._stop_job(record, state.execution.pipeline_arn)
        self._stop_runner(action.execution_id, action.step_name, action.attempt)
        stopped = StepFailed(STOPPED_REASON, error_code="Stopped")
        self.carry_out(
            self.engine.step_failed(action.execution_id, action.step_name, action.attempt, stopped)
        )

    def _stop_unclaimed(self, outcome: Outcome) -> None:
        """Steps the engine ended while still Starting: their StepRunner may have started."""
        execution = outcome.execution
        if execution is None:
            return
        for change in outcome.changes:
            if change.step_name is None or change.old_status != "Starting" or change.new_status != "Stopped":
                continue
            record = outcome.steps.get(change.step_name)
            if record is None:
                continue
            self._stop_job(record, execution.pipeline_arn)
            self._stop_runner(execution.execution_id, record.step_name, record.attempt)

    def _stop_job(self, record: StepRecord, pipeline_arn: str) -> None:
        role_arn = self._role_of(pipeline_arn)
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
            self._send_message(
                queue_url, body, self._role_of(request.pipeline_arn), dedupe=dedupe_id(token, STOPPING)
            )
        self.carry_out(self.engine.stop_notified(action.execution_id, action.step_name, action.attempt))

    def _release_finish(self, outcome: Outcome) -> None:
        execution = _execution_of(outcome)
        key = task_token_key(FINISH_TOKEN, execution.execution_id, execution.run)
        token = self.tokens.get_task_token(key)
        if token is not None:
            self._complete_token(key, token, _finish_output(execution))

    def _complete_token(self, key: str, token: str, output: Mapping[str, Any]) -> None:
        try:
            self.aws.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output))
        except ClientError as exc:
            if _code(exc) not in _GONE_TOKEN_CODES:
                raise
        self.tokens.delete_task_token(key)

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

    def _start_pipeline_execution(self, execution_id: str, execution_arn: str, run: int) -> None:
        name = execution_id if run == 1 else f"{execution_id}-retry-{run - 1}"
        try:
            self.aws.client("stepfunctions").start_execution(
                stateMachineArn=self.settings.pipeline_execution_arn,
                name=name,
                input=dump_input({"pipelineExecutionArn": execution_arn, "run": run}),
            )
        except ClientError as exc:
            if _code(exc) != "ExecutionAlreadyExists":
                raise

    def _ensure_experiment(self, execution: ExecutionRecord) -> None:
        """The SageMaker experiment and run group (trial) the execution's jobs report to."""
        binding = execution.experiment
        if binding is None:
            return
        client = self.aws.client("sagemaker", self._role_of(execution.pipeline_arn))
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

    def _role_of(self, pipeline_arn: str) -> str:
        now = time.monotonic()
        with self._lock:
            cached = self._roles.get(pipeline_arn)
        if cached is not None and now - cached[0] < _ROLE_MEMO_SECONDS:
            return cached[1]
        pipeline = self.store.get_pipeline(pipeline_arn)
        if pipeline is None or not pipeline.role_arn:
            raise MissingPipelineRole(
                f"Pipeline {pipeline_arn} has no RoleArn; in the cloud every step runs as the pipeline's role"
            )
        with self._lock:
            self._roles[pipeline_arn] = (now, pipeline.role_arn)
        return pipeline.role_arn

    def _describer(self, pipeline_arn: str) -> Any:
        def describe(operation: str, name: str) -> dict[str, Any]:
            client = self.aws.client("sagemaker", self._role_of(pipeline_arn))
            if operation == "DescribeModel":
                response = client.describe_model(ModelName=name)
            elif operation == "DescribeModelPackage":
                response = client.describe_model_package(ModelPackageName=name)
            else:
                raise ValueError(f"no describer for {operation}")
            response.pop("ResponseMetadata", None)
            return dict(json_safe(response))

        return describe

    def _step(self, definition: str, step_name: str) -> Step:
        with self._lock:
            steps = self._definitions.get(definition)
            if steps is not None:
                self._definitions.move_to_end(definition)
        if steps is None:
            steps = parse_definition(definition).step_map()
            with self._lock:
                self._definitions[definition] = steps
                if len(self._definitions) > _DEFINITION_MEMO:
                    self._definitions.popitem(last=False)
        return steps[step_name]

    def _publish(self, outcome: Outcome) -> None:
        """Status events of a decision already written. A failed publish is logged, not raised:
        a retried invocation re-derives the actions but not the events, so raising would cost a
        retry without saving the events, and could delay the actions."""
        if self.publisher is None or not outcome.changes:
            return
        try:
            publish_outcome(self.publisher, outcome)
        except PipelinesError:
            LOG.exception("publishing %d status change(s) failed", len(outcome.changes))


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
