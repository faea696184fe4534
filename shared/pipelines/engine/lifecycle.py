"""The Engine: the public entry points of every decision (see ``pipelines.engine``).

Each entry point runs one optimistic transaction: read the execution, decide on a Plan, apply
the Transition conditionally; when another writer got there first, read again and re-decide.
The only memory kept between calls is a memo of parsed definition snapshots, which never change.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.definition import load_definition
from pipelines.definition.models import CallbackStep, PipelineDefinition, Step
from pipelines.engine.actions import (
    Action,
    ExecutionFinished,
    NotifyStopping,
    Outcome,
    RunStep,
    StatusChange,
    StopStep,
)
from pipelines.engine.clock import Clock, SystemClock
from pipelines.engine.decisions import Compiled, Decisions, compile_definition, request_for, run_action
from pipelines.engine.errors import (
    CallbackTokenNotFound,
    ExecutionNotFound,
    ExecutionStateConflict,
    PipelineNotFound,
    PipelineVersionNotFound,
    UnsupportedRunConditions,
    UnsupportedSteps,
)
from pipelines.engine.experiments import bind_experiment, bind_mlflow, execution_records, run_of
from pipelines.engine.for_each import is_for_each
from pipelines.engine.idempotency import (
    START,
    RequestToken,
    callback_request,
    fingerprint,
    retry_request,
    stop_request,
)
from pipelines.engine.ids import (
    execution_arn,
    execution_id_of,
    new_execution_id,
    parse_execution_arn,
    pipeline_arn,
)
from pipelines.engine.pipelines import record_last_run, refuse_deleting
from pipelines.engine.planner import Plan
from pipelines.engine.readiness import run_condition_problems
from pipelines.engine.resolution import evaluation_context
from pipelines.engine.selective import reused_steps, validate_selection
from pipelines.engine.start_request import StartRequest
from pipelines.errors import ConflictError, ValidationError
from pipelines.expressions import coerce_parameters
from pipelines.objects.base import ObjectStore
from pipelines.runners.base import StepFailed, StepPending, StepResult
from pipelines.store.base import (
    TERMINAL_EXECUTION_STATUSES,
    ExecutionRecord,
    ExecutionState,
    OutboxRecord,
    PipelineRecord,
    StaleWrite,
    StepRecord,
    Store,
    Transition,
)

StepReport = tuple[str, int, StepResult | StepPending | StepFailed]
"""(step name, attempt, what the runner returned or raised)."""

UnsupportedStepsCheck = Callable[[PipelineDefinition, set[str] | None], list[tuple[str, str]]]
"""(definition, names to check or None for all) -> (step name, reason) for steps that cannot run."""

OutboxWriter = Callable[[Sequence[StatusChange], ExecutionRecord, Mapping[str, StepRecord]], OutboxRecord]
"""(a decision's status changes, the execution and steps after it) -> the outbox record of its
events, committed in the decision's transaction (pipelines.events.Outbox.record)."""

_MAX_CONFLICT_RETRIES = 100


@dataclass
class ConflictBackoff:
    """How long a writer that lost a conditional write waits before re-reading the execution.

    Racing reports of one execution (a layer of steps finishing together) used to retry at
    once, so each lost write re-read the whole execution while the winners were still writing:
    N racers cost O(N^2) reads. Full jitter spreads them out: after the n-th lost write in a row
    the wait is uniform in [0, min(cap, unit x 2^(n-1))), where the unit is the real time the
    lost attempt took (read, decide, write; at least ``base_seconds``), since that is how long
    each winner holds the execution. The cap is small because a waiting Lambda is billed too.
    """

    base_seconds: float = 0.01
    cap_seconds: float = 0.5
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, conflicts: int, attempt_seconds: float = 0.0) -> float:
        """The wait after the ``conflicts``-th lost write in a row (1 for the first), whose
        attempt took ``attempt_seconds`` of real time."""
        unit = max(self.base_seconds, attempt_seconds)
        return self.rng.uniform(0.0, min(self.cap_seconds, unit * 2 ** min(conflicts - 1, 30)))


class Engine:
    def __init__(
        self,
        store: Store,
        *,
        objects: ObjectStore | None = None,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        unsupported_steps: UnsupportedStepsCheck | None = None,
        conflict_backoff: ConflictBackoff | None = None,
        claim_on_launch: bool = False,
        outbox: OutboxWriter | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        """Writes each decision's status events into its transaction (the transactional outbox);
        None: no events are recorded. A runtime that publishes events sets it."""
        self.objects = objects
        self.clock = clock or SystemClock()
        self.region = region
        self.account_id = account_id
        self.unsupported_steps = unsupported_steps
        self.conflict_backoff = conflict_backoff or ConflictBackoff()
        self.decisions = Decisions(store, objects, region, account_id, self.clock.now, claim_on_launch)

    # -- starting -------------------------------------------------------------------------------

    def pipeline_key(self, name_or_arn: str) -> str:
        """The store key (ARN) of a pipeline named by ARN, or by name in this engine's account."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return pipeline_arn(self.region, self.account_id, name_or_arn)

    def start(self, request: StartRequest, *, definition: str | None = None) -> Outcome:
        """Start an execution of ``request.pipeline_name``; ``definition`` runs that text
        instead of a stored version (validated here, since no CreatePipeline checked it)."""
        pipeline = self.store.get_pipeline(self.pipeline_key(request.pipeline_name))
        if pipeline is None:
            raise PipelineNotFound(request.pipeline_name)
        token = None
        if request.client_request_token:
            token = RequestToken(
                START, request.client_request_token, fingerprint(request.fingerprint(), definition)
            )
        replay = self.replay(token)
        if replay is not None:
            return replay
        refuse_deleting(pipeline)  # a DeletePipeline is going: no new execution of it
        text, version_id = self._definition_to_run(pipeline, definition, request.pipeline_version_id)
        # A stored version's definition was validated when it was created or updated.
        compiled = self._compile(text, load_definition(text) if definition is not None else None)
        parsed = compiled.definition
        trigger_problems = run_condition_problems(parsed)
        if trigger_problems:
            raise UnsupportedRunConditions(trigger_problems)
        coerced = coerce_parameters(parsed.parameters, dict(request.parameters))
        selective = request.selective

        upstream: set[str] = set()
        runnable: set[str] | None = None
        if selective is not None:
            upstream = validate_selection(compiled.graph, selective)
            runnable = set(selective.selected_steps)
        if self.unsupported_steps is not None:
            problems = self.unsupported_steps(parsed, runnable)
            if problems:
                raise UnsupportedSteps(problems)
        source_state = None
        if selective is not None and selective.source_execution_arn is not None:
            source_state = self._reference(selective.source_execution_arn)

        for _ in range(_MAX_CONFLICT_RETRIES):
            now = self.clock.now()
            execution_id = new_execution_id()
            execution = ExecutionRecord(
                execution_id=execution_id,
                execution_arn=execution_arn(pipeline.arn, execution_id),
                pipeline_name=pipeline.name,
                pipeline_arn=pipeline.arn,
                pipeline_version_id=version_id,
                role_arn=pipeline.role_arn,
                definition=text,
                parameters=coerced,
                parallelism=request.parallelism if request.parallelism is not None else pipeline.parallelism,
                selective=selective,
                display_name=request.display_name,
                description=request.description,
                created_at=now,
                modified_at=now,
                created_by=request.created_by,
                modified_by=request.created_by,
            )
            ctx = evaluation_context(execution, {}, self.clock.now, self.objects)
            mlflow = bind_mlflow(
                parsed,
                ctx,
                pipeline.name,
                execution_id,
                experiment_override=request.mlflow_experiment_name,
                display_name=request.display_name,
            )
            execution = execution.model_copy(
                update={
                    "experiment": bind_experiment(parsed, ctx, pipeline.name, execution_id),
                    "mlflow": mlflow,
                }
            )
            plan = Plan(ExecutionState(execution, {}), now, new=True, limit=self.store.transition_limit)
            plan.changes.append(StatusChange(execution_id, None, None, execution.status))
            plan.experiments, plan.trials = execution_records(execution, now)
            if source_state is not None and selective is not None:
                for record in reused_steps(
                    selective, upstream, source_state, pipeline.name, execution_id, now
                ):
                    plan.put_step(record)
            if token is not None:
                plan.idempotency = token.record(execution_id, now)
            self.decisions.advance(plan, compiled)
            try:
                self.store.apply(self._transition(plan))
            except StaleWrite:
                # an execution id collision, or a concurrent request with the same token won
                replay = self.replay(token)
                if replay is not None:
                    return replay
                continue
            record_last_run(self.store, pipeline, now)
            return self._continued(execution_id, plan.outcome())
        raise ConflictError("Could not start the pipeline execution: too many concurrent conflicts.")

    def _definition_to_run(
        self, pipeline: PipelineRecord, definition: str | None, version_id: int | None
    ) -> tuple[str, int | None]:
        """The definition text an execution is bound to, and the pipeline version it came from
        (None for an explicit definition, which is no stored version)."""
        if definition is not None:
            if version_id is not None:
                raise ValidationError("Give either a definition or a PipelineVersionId, not both.")
            return definition, None
        if version_id is None or version_id == pipeline.latest_version_id:
            return pipeline.definition, pipeline.latest_version_id
        version = self.store.get_pipeline_version(pipeline.arn, version_id)
        if version is None:
            raise PipelineVersionNotFound(pipeline.arn, version_id)
        return version.definition, version.version_id

    # -- reports from runtimes ----------------------------------------------------------------

    def step_started(self, execution: str, step_name: str, attempt: int) -> Outcome:
        return self.steps_started(execution, [(step_name, attempt)])

    def steps_started(self, execution: str, attempts: Sequence[tuple[str, int]]) -> Outcome:
        """Claim several step attempts in one write; ``outcome.claimed`` names those won (a
        runtime runs only those). ``accepted`` is False when none was won."""
        claimed: list[str] = []

        def decide(plan: Plan, compiled: Compiled) -> bool:
            claimed.clear()
            claimed.extend(name for name, attempt in attempts if self.decisions.started(plan, name, attempt))
            return bool(claimed)

        outcome = self._transact(execution, decide)
        outcome.claimed = list(claimed) if outcome.accepted else []
        return outcome

    def step_succeeded(self, execution: str, step_name: str, attempt: int, result: StepResult) -> Outcome:
        return self.report(execution, [(step_name, attempt, result)])

    def step_pending(self, execution: str, step_name: str, attempt: int, pending: StepPending) -> Outcome:
        return self.report(execution, [(step_name, attempt, pending)])

    def step_failed(self, execution: str, step_name: str, attempt: int, error: StepFailed) -> Outcome:
        return self.report(execution, [(step_name, attempt, error)])

    def report(self, execution: str, reports: Sequence[StepReport]) -> Outcome:
        """Several attempts' outcomes in one decision and one write (a runtime that collected
        them while busy); each is judged as if reported alone, stale ones are ignored."""

        def decide(plan: Plan, compiled: Compiled) -> bool:
            accepted = False
            for step_name, attempt, result in reports:
                if isinstance(result, StepResult):
                    accepted |= self.decisions.succeeded(plan, compiled, step_name, attempt, result)
                elif isinstance(result, StepPending):
                    accepted |= self.decisions.pending(plan, compiled, step_name, attempt, result)
                else:
                    accepted |= self.decisions.failed(plan, compiled, step_name, attempt, result)
            return accepted

        return self._event(execution, decide)

    def stop_notified(self, execution: str, step_name: str, attempt: int) -> Outcome:
        return self._transact(
            execution, lambda plan, c: self.decisions.stop_notified(plan, step_name, attempt)
        )

    # -- execution-level operations ------------------------------------------------------------

    def stop(self, execution: str, *, client_request_token: str | None = None) -> Outcome:
        """StopPipelineExecution; an execution already Stopping is left as it is (not accepted)."""

        def decide(plan: Plan, compiled: Compiled) -> bool:
            status = plan.execution.status
            if status == "Stopping":
                return False
            if status != "Executing":
                raise ExecutionStateConflict(
                    f"Pipeline execution {plan.execution.execution_arn} has status {status} and cannot be stopped."
                )
            self.decisions.stop(plan, compiled)
            self.decisions.advance(plan, compiled)
            return True

        token = stop_request(execution_id_of(execution), client_request_token)
        return self._requested(execution, token, decide)

    def end_failed(self, execution: str, reason: str) -> Outcome:
        """The execution cannot go on (in the cloud: its PipelineExecution run ended FAILED or
        TIMED_OUT): its running steps are stopped as StopPipelineExecution stops them, then it
        ends Failed with ``reason`` rather than Stopped. A finished execution is left as it is."""

        def decide(plan: Plan, compiled: Compiled) -> bool:
            if plan.execution.status in TERMINAL_EXECUTION_STATUSES:
                return False
            plan.update_execution(failure_reason=reason)
            if plan.execution.status != "Stopping":
                self.decisions.stop(plan, compiled)
            self.decisions.advance(plan, compiled)
            return True

        return self._transact(execution, decide)

    def retry(
        self, execution: str, *, parallelism: int | None = None, client_request_token: str | None = None
    ) -> Outcome:
        """RetryPipelineExecution of a Failed execution (else ExecutionStateConflict)."""

        def decide(plan: Plan, compiled: Compiled) -> bool:
            current = plan.execution
            check_retryable(current)
            plan.update_execution(
                status="Executing",
                run=current.run + 1,
                failure_reason=None,
                ended_at=None,
                parallelism=parallelism if parallelism is not None else current.parallelism,
            )
            self.decisions.advance(plan, compiled)
            return True

        token = retry_request(execution_id_of(execution), parallelism, client_request_token)
        return self._requested(execution, token, decide)

    def update_execution(
        self,
        execution: str,
        *,
        parallelism: int | None = None,
        display_name: str | None = None,
        description: str | None = None,
    ) -> Outcome:
        def decide(plan: Plan, compiled: Compiled) -> bool:
            update: dict[str, Any] = {}
            if parallelism is not None:
                update["parallelism"] = parallelism
            if display_name is not None:
                update["display_name"] = display_name
            if description is not None:
                update["description"] = description
            if not update:
                return False
            plan.update_execution(**update)
            self.decisions.advance(plan, compiled)
            return True

        return self._transact(execution, decide)

    def callback_success(
        self, token: str, outputs: Mapping[str, Any], *, client_request_token: str | None = None
    ) -> Outcome:
        return self._callback(token, outputs, None, client_request_token)

    def callback_failure(
        self, token: str, reason: str, *, client_request_token: str | None = None
    ) -> Outcome:
        return self._callback(token, None, reason, client_request_token)

    def replay(self, token: RequestToken | None) -> Outcome | None:
        """The answer to a request repeated with its ClientRequestToken (engine.idempotency):
        the execution it changed, as it is now, with its steps, ``accepted`` False and no
        actions (a runtime re-derives whatever the first call may have left undone). None when
        there is no token or it is new; ConflictError when it came with a different request."""
        if token is None:
            return None
        execution_id = token.replayed(self.store)
        if execution_id is None:
            return None
        state = self.store.load_state(execution_id)
        if state is None:
            raise ExecutionNotFound(execution_id)
        return Outcome(
            execution=state.execution,
            steps=state.steps,
            accepted=False,
            read_version=state.execution.version,
        )

    def pending_actions(self, execution: str) -> Outcome:
        """Advance if anything is decidable, then every action the stored state still calls for
        (the runtime ignores those it is already carrying out)."""
        outcome = self._event(execution, lambda plan, c: True)
        return self._with_all_actions(outcome)

    def owed_starts(self, execution: str, attempts: Collection[tuple[str, int]]) -> Outcome:
        """The RunStep of each of ``attempts`` (step name, attempt) the stored state still calls
        for, and nothing else: what a runtime carries out later for a decision it launched
        too wide to start at once. Decides nothing (one read); a step that has since moved on
        (another attempt, stopping, ended) or an ended execution gets no start."""
        state = self.state(execution)
        outcome = Outcome(execution=state.execution, steps=state.steps, read_version=state.execution.version)
        return self._with_all_actions(outcome, only=frozenset(attempts))

    def recover(self, execution: str) -> Outcome:
        """The driver of this execution is gone: running steps get a new attempt (Callback steps
        that handed off keep waiting), then every pending action is returned."""

        def decide(plan: Plan, compiled: Compiled) -> bool:
            if plan.execution.status in TERMINAL_EXECUTION_STATUSES:
                return False
            self.decisions.recover(plan, compiled)
            self.decisions.advance(plan, compiled)
            return True

        return self._with_all_actions(self._transact(execution, decide))

    def record_run(self, action: RunStep) -> None:
        """Record the run (trial component) of the job ``action`` is about to start, if its step
        records one. Runtimes call it right before they start the job, not in the decision that
        launched it: a run exists once its job may, and a start repeated after a crash (its
        name makes it idempotent) records it once, at no transactional price."""
        run = run_of(action.request, self.clock.now())
        if run is not None:
            self.store.record_run(run)

    def step_of(self, state: ExecutionState, step_name: str) -> Step:
        """The step a record of ``state`` runs: a definition step, or a ForEach iteration's."""
        return self._compile(state.execution.definition).step(step_name, state.steps)

    def state(self, execution: str) -> ExecutionState:
        state = self.store.load_state(execution_id_of(execution))
        if state is None:
            raise ExecutionNotFound(execution)
        return state

    # -- internals ------------------------------------------------------------------------------

    def _event(self, execution: str, decide: Callable[[Plan, Compiled], bool]) -> Outcome:
        """A step report: decide, then let the scheduler react."""

        def with_advance(plan: Plan, compiled: Compiled) -> bool:
            if not decide(plan, compiled):
                return False
            self.decisions.advance(plan, compiled)
            return True

        return self._transact(execution, with_advance)

    def _transact(self, execution: str, decide: Callable[[Plan, Compiled], bool]) -> Outcome:
        """One decision, then as many follow-ups as it needs when it was cut at the
        store's transaction limit (``Store.transition_limit``); their actions and changes add up."""
        outcome = self._transact_once(execution, decide)
        return self._continued(execution, outcome)

    def _continued(self, execution: str, outcome: Outcome) -> Outcome:
        while outcome.more and outcome.accepted:
            follow = self._transact_once(execution, self._advance_only)
            outcome = Outcome(
                execution=follow.execution,
                actions=[*outcome.actions, *follow.actions],
                changes=[*outcome.changes, *follow.changes],
                steps=follow.steps,
                accepted=True,
                read_version=outcome.read_version,
                claimed=outcome.claimed,
                more=follow.more,
                outbox=[*outcome.outbox, *follow.outbox],
            )
        return outcome

    def _advance_only(self, plan: Plan, compiled: Compiled) -> bool:
        if plan.execution.status in TERMINAL_EXECUTION_STATUSES:
            return False
        self.decisions.advance(plan, compiled)
        return True

    def _transition(self, plan: Plan) -> Transition:
        """The plan's transition, with the outbox record of its status events when it has any."""
        transition = plan.transition()
        plan.outbox = None
        if self.outbox is not None and plan.changes:
            plan.outbox = self.outbox(plan.changes, plan.execution, plan.steps)
            transition.outbox = plan.outbox
        return transition

    def _transact_once(self, execution: str, decide: Callable[[Plan, Compiled], bool]) -> Outcome:
        execution_id = execution_id_of(execution)
        lost_in = 0.0
        for conflicts in range(_MAX_CONFLICT_RETRIES):
            if conflicts:
                # on the engine's clock: a FakeClock skips the wait instead of sleeping it
                self.clock.sleep(self.conflict_backoff.delay(conflicts, lost_in))
            began = time.monotonic()
            state = self.store.load_state(execution_id)
            if state is None:
                raise ExecutionNotFound(execution)
            plan = Plan(state, self.clock.now(), limit=self.store.transition_limit)
            compiled = self._compile(state.execution.definition)
            if not decide(plan, compiled):
                return plan.outcome(accepted=False)
            if not plan.changed:
                return plan.outcome()
            try:
                self.store.apply(self._transition(plan))
            except StaleWrite:
                lost_in = time.monotonic() - began
                continue
            return plan.outcome()
        raise ConflictError(f"Pipeline execution {execution} kept changing; the operation was not applied.")

    def _callback(
        self,
        token: str,
        outputs: Mapping[str, Any] | None,
        reason: str | None,
        client_request_token: str | None,
    ) -> Outcome:
        request = callback_request(token, outputs, reason, client_request_token)
        record = self.store.get_callback(token)
        if record is None:  # spent: by this very request, if it is a repeat
            replay = self.replay(request)
            if replay is not None:
                return replay
            raise CallbackTokenNotFound(token)

        def decide(plan: Plan, compiled: Compiled) -> bool:
            self.decisions.complete_callback(plan, compiled, record, outputs, reason)
            self.decisions.advance(plan, compiled)
            return True

        return self._requested(record.execution_id, request, decide)

    def _requested(
        self, execution: str, token: RequestToken | None, decide: Callable[[Plan, Compiled], bool]
    ) -> Outcome:
        """An API operation's decision with its ClientRequestToken recorded in the same
        transaction, so a repeat (its first call's process died after the write) is answered
        as the first call was and changes nothing. The token is checked on every read of the
        optimistic loop: a concurrent repeat that wrote first makes this one a replay. An
        accepted decision that changes nothing (a stop of a Stopping execution) records the
        token on its own, so a repeat answers the same even when the execution moved on."""
        if token is None:
            return self._transact(execution, decide)
        replayed = False
        last: list[tuple[Plan, bool]] = []

        def tokened(plan: Plan, compiled: Compiled) -> bool:
            nonlocal replayed
            last.clear()
            replayed = token.replayed(self.store) is not None
            if replayed:
                return False
            plan.idempotency = token.record(plan.execution.execution_id, plan.now)
            decided = decide(plan, compiled)
            last.append((plan, decided))
            return decided

        outcome = self._transact(execution, tokened)
        if not replayed and last:
            plan, decided = last[0]
            if not (decided and plan.changed) and not self.store.put_idempotency(
                token.record(plan.execution.execution_id, plan.now)
            ):
                token.replayed(self.store)  # a concurrent repeat recorded it first: the same request?
        return outcome

    def _with_all_actions(self, outcome: Outcome, only: frozenset[tuple[str, int]] | None = None) -> Outcome:
        """Every action the state after ``outcome`` calls for; with ``only``, just the starts of
        those (step name, attempt) pairs."""
        execution = outcome.execution
        if execution is None:
            return outcome
        compiled = self._compile(execution.definition)
        plan = Plan(ExecutionState(execution, outcome.steps), self.clock.now())
        actions: list[Action] = []
        if execution.status in TERMINAL_EXECUTION_STATUSES:
            if only is None:
                actions = [
                    ExecutionFinished(execution.execution_id, execution.status, execution.failure_reason)
                ]
        else:
            for name, record in plan.current_steps().items():
                if only is not None and (name, record.attempt) not in only:
                    continue
                if is_for_each(record):
                    continue  # decided by the engine; its iterations are ordinary steps
                try:
                    step = compiled.step(name, plan.steps)
                except KeyError:
                    continue
                restartable = (
                    self.decisions.claim_on_launch
                    and record.status == "Executing"
                    and not record.waiting_for_callback
                )
                if record.status == "Starting" or restartable:
                    actions.append(run_action(plan, compiled, record))
                elif only is not None:
                    continue
                elif record.status == "Stopping" and not isinstance(step, CallbackStep):
                    actions.append(StopStep(execution.execution_id, name, record.attempt))
                elif record.stop_notice_pending and record.waiting_for_callback:
                    actions.append(
                        NotifyStopping(
                            execution.execution_id, name, record.attempt, request_for(plan, compiled, record)
                        )
                    )
        outcome.actions = actions
        return outcome

    def _reference(self, arn: str) -> ExecutionState:
        try:
            _, source_id = parse_execution_arn(arn)
        except ValidationError as exc:
            raise ValidationError(f"Invalid SourcePipelineExecutionArn: {arn}") from exc
        state = self.store.load_state(source_id)
        if state is None or state.execution.execution_arn.lower() != arn.lower():
            raise ExecutionNotFound(arn)
        return state

    def _compile(self, text: str, parsed: PipelineDefinition | None = None) -> Compiled:
        return compile_definition(text, parsed)


def check_retryable(execution: ExecutionRecord) -> None:
    """Raise ExecutionStateConflict unless RetryPipelineExecution may retry ``execution``."""
    if execution.status != "Failed":
        raise ExecutionStateConflict(
            f"Pipeline execution {execution.execution_arn} has status {execution.status}; "
            "only a Failed execution can be retried."
        )
    if execution.ended_at_fail_step:
        raise ExecutionStateConflict(
            f"Pipeline execution {execution.execution_arn} ended at a Fail step and cannot be retried."
        )
