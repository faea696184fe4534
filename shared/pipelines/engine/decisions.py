"""The step lifecycle: what happens to an execution when something happens to one of its steps.

Every function here works on a :class:`Plan` (a snapshot being changed) and never on the store
directly, except for read-only cache look-ups. :func:`advance` is the scheduler: after any
event it starts what became ready (up to the parallelism limit), decides Condition and Fail
steps inline, and ends the execution when nothing is left to run.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipelines.definition import parse_definition
from pipelines.definition.models import CallbackStep, ConditionStep, LambdaStep, PipelineDefinition, Step
from pipelines.engine.actions import NotifyStopping, RunStep, StopStep
from pipelines.engine.caching import cache_key, caching_enabled, oldest_reusable
from pipelines.engine.cleanup import CLEANUP, cleanup_targets
from pipelines.engine.errors import CallbackStepConflict, InvalidCallbackOutputs
from pipelines.engine.experiments import step_experiment_config
from pipelines.engine.failure_policy import final_status
from pipelines.engine.for_each import (
    FOR_EACH,
    advance_iterations,
    expand,
    has_for_each,
    is_for_each,
    step_for_record,
    with_iterations,
)
from pipelines.engine.ids import new_callback_token, new_entity_token, sagemaker_arn
from pipelines.engine.job_names import JOB_NAME_RULES, custom_prefix, job_name
from pipelines.engine.planner import Plan
from pipelines.engine.readiness import Frontier, Topology
from pipelines.engine.resolution import evaluation_context, resolve_step
from pipelines.engine.retry import classify, decide_retry
from pipelines.engine.roles import RoleCheck
from pipelines.errors import PipelinesError
from pipelines.expressions import evaluate, evaluate_conditions, value_text
from pipelines.graph import PipelineGraph
from pipelines.objects.base import ObjectStore
from pipelines.runners.base import StepFailed, StepPending, StepRequest, StepResult
from pipelines.runners.outputs import OutputParameterError, OutputValues, coerce_outputs
from pipelines.store.base import (
    RUNNING_STEP_STATUSES,
    TERMINAL_EXECUTION_STATUSES,
    CacheEntry,
    CallbackTokenRecord,
    FailureNote,
    IterationContext,
    StepRecord,
    Store,
)

# Errors a step's inputs can raise while being resolved or read: each becomes the step's failure.
RESOLUTION_ERRORS: tuple[type[BaseException], ...] = (
    PipelinesError,
    LookupError,
    OSError,
    ValueError,
    TypeError,
)

_JOB_METADATA: dict[str, tuple[str, str]] = {
    "Processing": ("ProcessingJob", "processing-job"),
    "Training": ("TrainingJob", "training-job"),
    "Transform": ("TransformJob", "transform-job"),
    "Tuning": ("TuningJob", "hyper-parameter-tuning-job"),
    "AutoML": ("AutoMLJob", "automl-job"),
}
_MAX_CALLBACK_OUTPUTS = 50
_MAX_OUTPUT_VALUE = 1024


@dataclass(frozen=True)
class Compiled:
    """A definition snapshot, parsed once, with its graph."""

    definition: PipelineDefinition
    graph: PipelineGraph
    topology: Topology
    steps: dict[str, Step]
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)
    """Derived per-definition facts (ForEach bodies, the steps iterations run), built lazily."""

    def step(self, name: str, records: Mapping[str, StepRecord]) -> Step:
        """The step a record runs: a definition step, or a ForEach iteration's (engine/for_each.py)."""
        return step_for_record(self, records, name)


_COMPILED: OrderedDict[str, Compiled] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
_COMPILED_SIZE = 64


def compile_definition(
    text: str, definition: PipelineDefinition | None = None, graph: PipelineGraph | None = None
) -> Compiled:
    """The compiled form of a definition text, built once per process.

    Snapshots never change, so every engine of the process shares one memo (the last 64 texts).
    ``definition`` and ``graph`` are the text's parse and DAG when the caller already has them
    (the validation of a new pipeline version), so the first execution does not parse again.
    The text is not validated here: a stored version was validated when it was written.
    """
    with _COMPILED_LOCK:
        compiled = _COMPILED.get(text)  # str hashes are cached, and snapshots are shared by reference
        if compiled is not None:
            _COMPILED.move_to_end(text)
            return compiled
    definition = definition or parse_definition(text)
    graph = graph or PipelineGraph.from_definition(definition)
    compiled = Compiled(definition, graph, Topology.of(graph), definition.step_map())
    with _COMPILED_LOCK:
        _COMPILED[text] = compiled
        if len(_COMPILED) > _COMPILED_SIZE:
            _COMPILED.popitem(last=False)
    return compiled


@dataclass
class Decisions:
    store: Store
    objects: ObjectStore | None
    region: str
    account_id: str
    now: Callable[[], datetime]
    claim_on_launch: bool = False
    """The runtime starts each attempt idempotently (the cloud: a StepRunner execution name is
    started at most once), so a launched attempt is claimed in the decision itself: it is
    written Executing (passing through Starting in the status changes) and no separate claim
    write follows. Recovery re-derives the start of every Executing attempt instead."""
    roles: RoleCheck = field(init=False)

    def __post_init__(self) -> None:
        self.roles = RoleCheck(self.store, self.now)

    # -- the scheduler ------------------------------------------------------------------------

    def advance(self, plan: Plan, compiled: Compiled) -> None:
        if plan.execution.status == "Executing":
            refusal = self.roles.refusal(plan.execution)
            if refusal is not None:
                self.refuse_role(plan, refusal)
                return
        scope = selective_scope(plan, compiled)
        topology = compiled.topology
        catchable = topology.catchable_failures(scope)
        frontier: Frontier | None = None
        while plan.execution.status not in TERMINAL_EXECUTION_STATUSES:
            stopping = plan.execution.status == "Stopping"
            if stopping:
                self.propagate_stop(plan, compiled)
            if frontier is None or frontier.stopping != stopping:
                frontier = Frontier(
                    topology,
                    plan.steps,
                    plan.execution.run,
                    plan.written,
                    in_scope=scope,
                    catchable=catchable,
                    stopping=stopping,
                )
            else:
                frontier.sync()
            running = frontier.running  # a ForEach's own record is not counted: its iterations run
            blocked = frontier.blocked
            settled_now = False  # a step ended at once, which may make others ready
            if plan.full:
                plan.more = True
                return
            if has_for_each(compiled):
                settled_now, running = advance_iterations(
                    self, plan, compiled, running, blocked=blocked, stopping=stopping
                )
                if plan.more:
                    return
                frontier.sync()
            if not blocked:
                limit = plan.execution.parallelism
                for name in frontier.ready():
                    if plan.full:
                        plan.more = True
                        return
                    step = compiled.steps[name]
                    if step.type == "Condition":
                        self.decide_condition(plan, compiled, step)
                    elif step.type == "Fail":
                        self.decide_fail(plan, compiled, step)
                    elif step.type == FOR_EACH:
                        self.start_for_each(plan, step)
                    elif limit is not None and running >= limit:
                        continue
                    elif self.launch(plan, compiled, step):
                        running += 1
                        continue
                    settled_now = True
                    if plan.steps[name].status == "Failed":
                        break  # the failure policy decides, on fresh records, what may still start
            if settled_now:
                continue
            if running:
                return
            frontier.sync()
            current = frontier.current()
            by_name = {record.step_name: record for record in current}
            handled = with_iterations(topology.handled_failures(by_name, plan.execution.run), by_name)
            status, reason = final_status(stopping, current, handled)
            if stopping and plan.execution.failure_reason:  # Engine.end_failed: a stop that fails
                status, reason = "Failed", plan.execution.failure_reason
            at_fail_step = any(r.status == "Failed" and r.step_type == "Fail" for r in current)
            plan.finish(status, reason, at_fail_step=at_fail_step)
            return

    def refuse_role(self, plan: Plan, reason: str) -> None:
        """The execution's role is not granted (:mod:`pipelines.engine.roles`): start nothing;
        fail once no step runs any more (running ones started under a granted role)."""
        running = any(
            r.status in RUNNING_STEP_STATUSES and r.step_type != FOR_EACH
            for r in plan.current_steps().values()
        )
        if not running:
            plan.finish("Failed", reason)

    # -- starting a step ----------------------------------------------------------------------

    def launch(
        self,
        plan: Plan,
        compiled: Compiled,
        step: Step,
        *,
        not_before: datetime | None = None,
        failures: list[FailureNote] | None = None,
        first_started_at: datetime | None = None,
        iteration: IterationContext | None = None,
    ) -> bool:
        """Start a new attempt of ``step``: True if it is now running, False if it was decided
        at once (cache hit, or its inputs could not be resolved). ``iteration``: the ForEach
        iteration the step runs (a retry keeps the previous attempt's)."""
        execution = plan.execution
        previous = plan.steps.get(step.name)
        attempt = previous.attempt + 1 if previous is not None else 1
        if iteration is None and previous is not None:
            iteration = previous.iteration
        base = StepRecord(
            execution_id=execution.execution_id,
            step_name=step.name,
            step_type=step.type,
            display_name=step.display_name,
            description=step.description,
            attempt=attempt,
            run=execution.run,
            started_at=plan.now,
            first_started_at=first_started_at or plan.now,
            failures=failures if failures is not None else (previous.failures if previous else []),
            iteration=iteration,
        )
        rule = JOB_NAME_RULES.get(step.type)
        try:
            prefix_ctx = evaluation_context(execution, plan.steps, self.now, self.objects)
            raw_prefix = (
                step.arguments.get(rule.argument) if rule and isinstance(step.arguments, dict) else None
            )
            prefix = (
                custom_prefix(step.type, {rule.argument: evaluate(raw_prefix, prefix_ctx)}) if rule else None
            )
            name = job_name(
                step.type, step.name, execution.execution_id, new_entity_token(), attempt - 1, prefix
            )
            ctx = evaluation_context(
                execution, plan.steps, self.now, self.objects, job_name=name, step_type=step.type
            )
            arguments, fields = resolve_step(step, ctx)
            if step.type == CLEANUP:
                fields["CleanupTargets"] = cleanup_targets(step.name, arguments, plan.current_steps())
        except RESOLUTION_ERRORS as exc:
            plan.put_step(
                base.model_copy(update={"status": "Failed", "failure_reason": str(exc), "ended_at": plan.now})
            )
            return False

        key = None
        if caching_enabled(step.type, step.cache_config):
            key = cache_key(step.type, arguments, fields)
            assert step.cache_config is not None
            hit = self.store.find_cache_entry(
                execution.pipeline_arn, key, oldest_reusable(step.cache_config, plan.now)
            )
            if hit is not None:
                plan.put_step(reused_record(base, hit, plan.now))
                return False

        if rule is not None and isinstance(arguments, dict):
            arguments[rule.argument] = name
        metadata: dict[str, Any] = {}
        if step.type in _JOB_METADATA:
            member, resource = _JOB_METADATA[step.type]
            metadata[member] = {"Arn": sagemaker_arn(self.region, self.account_id, resource, name)}
        token = None
        if isinstance(step, CallbackStep):
            token = new_callback_token()
            fields["CallbackToken"] = token
            metadata["Callback"] = {"CallbackToken": token, "SqsQueueUrl": fields.get("SqsQueueUrl")}
            plan.callback_tokens.append(
                CallbackTokenRecord(
                    token=token,
                    execution_id=execution.execution_id,
                    step_name=step.name,
                    attempt=attempt,
                    created_at=plan.now,
                )
            )
            if previous is not None and previous.callback_token:
                plan.release_callback_tokens.append(previous.callback_token)
        experiment_config = step_experiment_config(execution, step, arguments)
        record = plan.put_step(
            base.model_copy(
                update={
                    "status": "Starting",
                    "job_name": name,
                    "arguments": arguments,
                    "step_fields": fields,
                    "experiment_config": experiment_config,
                    "not_before": not_before,
                    "metadata": metadata,
                    "cache_key": key,
                    "callback_token": token,
                }
            )
        )
        if self.claim_on_launch:
            record = plan.update_step(step.name, status="Executing")
        plan.actions.append(run_action(plan, compiled, record))
        return True

    # -- steps the engine decides itself -----------------------------------------------------

    def decide_condition(self, plan: Plan, compiled: Compiled, step: Step) -> None:
        assert isinstance(step, ConditionStep)
        base = decided_record(plan, step)
        try:
            ctx = evaluation_context(plan.execution, plan.steps, self.now, self.objects)
            outcome = evaluate_conditions(step.arguments.conditions, ctx)
        except RESOLUTION_ERRORS as exc:
            plan.put_step(base.model_copy(update={"status": "Failed", "failure_reason": str(exc)}))
            return
        plan.put_step(
            base.model_copy(
                update={
                    "status": "Succeeded",
                    # ``Steps.C.Outcome`` is a JSON boolean (Std:Join renders ``false``, as the SDK's
                    # test_pipeline_var_behaviors asserts); the listing's metadata is the enum "True"/"False"
                    "properties": {"Outcome": outcome},
                    "metadata": {"Condition": {"Outcome": "True" if outcome else "False"}},
                }
            )
        )

    def decide_fail(self, plan: Plan, compiled: Compiled, step: Step) -> None:
        base = decided_record(plan, step)
        raw = step.arguments.get("ErrorMessage") if isinstance(step.arguments, dict) else None
        try:
            ctx = evaluation_context(plan.execution, plan.steps, self.now, self.objects)
            value = evaluate(raw, ctx) if raw is not None else ""
            message = value_text(value)
        except RESOLUTION_ERRORS as exc:
            message = f"The ErrorMessage could not be resolved: {exc}"
        plan.put_step(
            base.model_copy(
                update={
                    "status": "Failed",
                    # the service lists no FailureReason for an empty message, yet Metadata keeps ""
                    "failure_reason": message or None,
                    "metadata": {"Fail": {"ErrorMessage": message}},
                }
            )
        )

    def start_for_each(self, plan: Plan, step: Step) -> None:
        """Expand a ready ForEach step (engine/for_each.py): Executing with its items, or Failed
        when its IterableItems are no non-empty list. :meth:`advance` starts the iterations."""
        base = decided_record(plan, step).model_copy(update={"ended_at": None})
        try:
            ctx = evaluation_context(plan.execution, plan.steps, self.now, self.objects)
            arguments, fields = expand(step, ctx)  # type: ignore[arg-type]
        except RESOLUTION_ERRORS as exc:  # ForEachError is a PipelinesError
            plan.put_step(
                base.model_copy(update={"status": "Failed", "failure_reason": str(exc), "ended_at": plan.now})
            )
            return
        plan.put_step(
            base.model_copy(update={"status": "Executing", "arguments": arguments, "step_fields": fields})
        )

    def end_decided(self, plan: Plan, record: StepRecord, status: str, **update: Any) -> StepRecord:
        """End a step the engine decides itself (a ForEach when its iterations are done)."""
        return self._end(plan, record, status, **update)

    # -- reports from runners -----------------------------------------------------------------

    def started(self, plan: Plan, name: str, attempt: int) -> bool:
        record = plan.steps.get(name)
        if not is_current_attempt(plan, record, attempt) or record is None or record.status != "Starting":
            return False
        plan.update_step(name, status="Executing", started_at=plan.now)
        return True

    def succeeded(self, plan: Plan, compiled: Compiled, name: str, attempt: int, result: StepResult) -> bool:
        record = running_attempt(plan, name, attempt)
        if record is None:
            return False
        step = compiled.step(name, plan.steps)
        try:
            property_files = self.read_property_files(step, record, result.properties)
        except RESOLUTION_ERRORS as exc:
            self._end(
                plan,
                record,
                "Failed",
                failure_reason=str(exc),
                metadata={**record.metadata, **result.metadata},
            )
            return True
        updated = self._end(
            plan,
            record,
            "Succeeded",
            properties=result.properties,
            property_files=property_files,
            metadata={**record.metadata, **result.metadata},
        )
        if record.cache_key is not None:
            plan.cache_entries.append(
                CacheEntry(
                    pipeline_name=plan.execution.pipeline_name,
                    pipeline_arn=plan.execution.pipeline_arn,
                    cache_key=record.cache_key,
                    step_type=record.step_type,
                    step_name=name,
                    execution_id=plan.execution.execution_id,
                    execution_arn=plan.execution.execution_arn,
                    completed_at=plan.now,
                    properties=updated.properties or {},
                    metadata=updated.metadata,
                    property_files=updated.property_files,
                )
            )
        return True

    def pending(self, plan: Plan, compiled: Compiled, name: str, attempt: int, pending: StepPending) -> bool:
        record = running_attempt(plan, name, attempt)
        if record is None:
            return False
        if record.waiting_for_callback:
            return False
        status = "Stopping" if record.status == "Stopping" else "Executing"
        updated = plan.update_step(
            name,
            status=status,
            waiting_for_callback=True,
            metadata=merge_metadata(record.metadata, pending.metadata),
        )
        if updated.stop_notice_pending:
            plan.actions.append(
                NotifyStopping(
                    plan.execution.execution_id, name, attempt, request_for(plan, compiled, updated)
                )
            )
        return True

    def failed(self, plan: Plan, compiled: Compiled, name: str, attempt: int, error: StepFailed) -> bool:
        record = running_attempt(plan, name, attempt)
        if record is None:
            return False
        metadata = {**record.metadata, **error.metadata}
        if record.status == "Stopping":
            self._end(plan, record, "Stopped", metadata=metadata)
            return True
        step = compiled.step(name, plan.steps)
        exception_type = (
            None if step.type == "Callback" else classify(step.type, error.error_code, error.message)
        )
        note = FailureNote(
            attempt=attempt,
            run=plan.execution.run,
            exception_type=exception_type,
            reason=error.message,
            at=plan.now,
        )
        failures = [*record.failures, note]
        if plan.execution.status == "Executing":
            previous = [f.exception_type for f in record.failures if f.run == plan.execution.run]
            decision = decide_retry(
                step.type, step.retry_policies, exception_type, previous, record.first_started_at, plan.now
            )
            if decision.retry:
                self.launch(
                    plan,
                    compiled,
                    step,
                    not_before=plan.now + timedelta(seconds=decision.delay_seconds),
                    failures=failures,
                    first_started_at=record.first_started_at,
                )
                return True
        self._end(plan, record, "Failed", failure_reason=error.message, failures=failures, metadata=metadata)
        return True

    def stop_notified(self, plan: Plan, name: str, attempt: int) -> bool:
        record = plan.steps.get(name)
        if record is None or not is_current_attempt(plan, record, attempt) or not record.stop_notice_pending:
            return False
        plan.update_step(name, stop_notice_pending=False)
        return True

    # -- execution-level events ----------------------------------------------------------------

    def stop(self, plan: Plan, compiled: Compiled) -> None:
        plan.update_execution(status="Stopping")
        self.propagate_stop(plan, compiled)

    def propagate_stop(self, plan: Plan, compiled: Compiled) -> None:
        """In a Stopping execution, each step that still runs as if nothing happened gets its
        stop (as many as one decision holds; :meth:`advance` carries on with the rest)."""
        for name, record in list(plan.current_steps().items()):
            if plan.full:
                plan.more = True
                return
            if record.status == "Starting":
                self._end(plan, record, "Stopped")
            elif record.status == "Executing" and not is_for_each(record):
                step = compiled.step(name, plan.steps)
                backing_off = record.not_before is not None and record.not_before > plan.now
                if isinstance(step, LambdaStep) and not backing_off:
                    continue  # a Lambda function cannot be stopped: it runs to the end
                if isinstance(step, CallbackStep):
                    updated = plan.update_step(name, status="Stopping", stop_notice_pending=True)
                    if updated.waiting_for_callback:
                        plan.actions.append(
                            NotifyStopping(
                                plan.execution.execution_id,
                                name,
                                record.attempt,
                                request_for(plan, compiled, updated),
                            )
                        )
                    continue
                plan.update_step(name, status="Stopping")
                plan.actions.append(StopStep(plan.execution.execution_id, name, record.attempt))

    def recover(self, plan: Plan, compiled: Compiled) -> None:
        """The driver that ran this execution died: whatever it was running is lost."""
        for name, record in list(plan.current_steps().items()):
            if (
                record.waiting_for_callback
                or record.status not in ("Executing", "Stopping")
                or is_for_each(record)  # nothing of its own ran: its iterations are recovered
            ):
                continue
            if record.status == "Stopping" or plan.execution.status == "Stopping":
                self._end(plan, record, "Stopped")
            else:
                self.launch(
                    plan, compiled, compiled.step(name, plan.steps), first_started_at=record.first_started_at
                )

    def complete_callback(
        self,
        plan: Plan,
        compiled: Compiled,
        token: CallbackTokenRecord,
        outputs: Mapping[str, Any] | None,
        reason: str | None,
    ) -> None:
        record = running_attempt(plan, token.step_name, token.attempt)
        if record is None:
            raise CallbackStepConflict(
                f"Step '{token.step_name}' is no longer waiting for callback token '{token.token}'."
            )
        plan.release_callback_tokens.append(token.token)
        if outputs is None:
            status = "Stopped" if record.status == "Stopping" else "Failed"
            self._end(plan, record, status, failure_reason=reason)
            return
        try:
            values = callback_outputs(compiled.step(token.step_name, plan.steps), outputs)
        except OutputParameterError as exc:
            self._end(plan, record, "Failed", failure_reason=str(exc))
            return
        metadata = merge_metadata(record.metadata, {"Callback": {"OutputParameters": values.metadata}})
        self._end(plan, record, "Succeeded", properties=values.properties, metadata=metadata)

    # -- helpers -------------------------------------------------------------------------------

    def _end(self, plan: Plan, record: StepRecord, status: str, **update: Any) -> StepRecord:
        if record.callback_token and record.callback_token not in plan.release_callback_tokens:
            plan.release_callback_tokens.append(record.callback_token)
        return plan.put_step(
            record.model_copy(
                update={
                    "status": status,
                    "ended_at": plan.now,
                    "waiting_for_callback": False,
                    "stop_notice_pending": False,
                    "not_before": None,
                    **update,
                }
            )
        )

    def read_property_files(
        self, step: Step, record: StepRecord, properties: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Parse every PropertyFile the step declares from its output in the object store."""
        documents: dict[str, Any] = {}
        for declared in step.property_files:
            where = f"property file {declared.property_file_name!r} of step {step.name!r}"
            base_uri = output_uri(properties, declared.output_name) or output_uri(
                record.arguments, declared.output_name
            )
            if base_uri is None:
                raise LookupError(f"{where}: the step has no output named {declared.output_name!r}")
            uri = f"{base_uri.rstrip('/')}/{declared.file_path.lstrip('/')}"
            if self.objects is None:
                raise LookupError(f"{where}: no object store to read {uri}")
            try:
                documents[declared.property_file_name] = json.loads(self.objects.get(uri))
            except ValueError as exc:
                raise ValueError(f"{where}: {uri} is not valid JSON: {exc}") from exc
            except PipelinesError as exc:
                raise LookupError(f"{where}: {exc}") from exc
        return documents


# -- pure helpers ------------------------------------------------------------------------------


def selective_scope(plan: Plan, compiled: Compiled) -> set[str] | None:
    selective = plan.execution.selective
    if selective is None:
        return None
    chosen = set(selective.selected_steps) & compiled.steps.keys()
    return chosen | compiled.graph.upstream_closure(chosen)


def is_current_attempt(plan: Plan, record: StepRecord | None, attempt: int) -> bool:
    return record is not None and record.attempt == attempt and record.run == plan.execution.run


def running_attempt(plan: Plan, name: str, attempt: int) -> StepRecord | None:
    """The step's record when ``attempt`` is its current attempt and still running, else None:
    an outcome for anything else is late (an earlier attempt or run) or a duplicate, and must
    change nothing."""
    record = plan.steps.get(name)
    if record is None or not is_current_attempt(plan, record, attempt):
        return None
    return record if record.status in RUNNING_STEP_STATUSES else None


def decided_record(plan: Plan, step: Step) -> StepRecord:
    previous = plan.steps.get(step.name)
    return StepRecord(
        execution_id=plan.execution.execution_id,
        step_name=step.name,
        step_type=step.type,
        display_name=step.display_name,
        description=step.description,
        attempt=previous.attempt + 1 if previous else 1,
        run=plan.execution.run,
        started_at=plan.now,
        first_started_at=plan.now,
        ended_at=plan.now,
    )


def reused_record(base: StepRecord, entry: CacheEntry, now: datetime) -> StepRecord:
    return base.model_copy(
        update={
            "status": "Succeeded",
            "attempt": 0,
            "ended_at": now,
            "properties": entry.properties,
            "metadata": entry.metadata,
            "property_files": entry.property_files,
            "cache_key": entry.cache_key,
            "cache_hit_source_arn": entry.execution_arn,
        }
    )


def request_for(plan: Plan, compiled: Compiled, record: StepRecord) -> StepRequest:
    execution = plan.execution
    return StepRequest(
        pipeline_name=execution.pipeline_name,
        pipeline_arn=execution.pipeline_arn,
        execution_id=execution.execution_id,
        execution_arn=execution.execution_arn,
        step=compiled.step(record.step_name, plan.steps),
        arguments=record.arguments,
        job_name=record.job_name or "",
        attempt=record.attempt,
        step_fields=dict(record.step_fields),
        experiment_config=record.experiment_config,
    )


def run_action(plan: Plan, compiled: Compiled, record: StepRecord) -> RunStep:
    return RunStep(
        plan.execution.execution_id,
        record.step_name,
        record.attempt,
        record.not_before,
        request_for(plan, compiled, record),
    )


def merge_metadata(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """One level deep, so a runner's ``{"Callback": {...}}`` keeps the engine's CallbackToken."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def output_uri(source: Any, output_name: str) -> str | None:
    """The S3Uri of a processing output by OutputName, in a Describe response or a request."""
    if not isinstance(source, Mapping):
        return None
    outputs = (source.get("ProcessingOutputConfig") or {}).get("Outputs")
    if not isinstance(outputs, list):
        return None
    for output in outputs:
        if isinstance(output, Mapping) and output.get("OutputName") == output_name:
            uri = (output.get("S3Output") or {}).get("S3Uri")
            return uri if isinstance(uri, str) else None
    return None


def callback_outputs(step: Step, outputs: Mapping[str, Any]) -> OutputValues:
    """A SendPipelineExecutionStepSuccess's OutputParameters, typed by the step's declarations.

    The rules are the Lambda step's (runners/outputs.py: declared outputs only, nested values
    as one JSON string, each value coerced to its OutputType, a value that cannot be fails the
    step), with one difference: a declared output the callback did not send is left out instead
    of failing the step. The callback API makes every output optional, the seed docs raise the
    service's error only "when you try to refer to" a bad output, and existing callers send
    none at all; a Lambda result, by contrast, is the function's answer and must be complete.
    The request limits of the API itself (at most 50 parameters, values up to 1024 characters)
    are refused before the step changes (InvalidCallbackOutputs)."""
    if len(outputs) > _MAX_CALLBACK_OUTPUTS:
        raise InvalidCallbackOutputs(f"At most {_MAX_CALLBACK_OUTPUTS} output parameters are allowed.")
    for name, value in outputs.items():
        if isinstance(value, str) and len(value) > _MAX_OUTPUT_VALUE:
            raise InvalidCallbackOutputs(
                f"Output parameter '{name}' is longer than {_MAX_OUTPUT_VALUE} characters."
            )
    declared = getattr(step, "output_parameters", [])
    sent = [p for p in declared if outputs.get(p.output_name) is not None]
    return coerce_outputs(sent, outputs, source="the callback")
