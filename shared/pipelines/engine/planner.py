"""A working copy of one execution for one decision, turned into one conditional Transition.

Decisions change records only through a Plan, which remembers the version each record had when
it was read; the resulting Transition is applied only if those versions still hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipelines.engine.actions import Action, ExecutionFinished, Outcome, StatusChange
from pipelines.store.base import (
    CacheEntry,
    CallbackTokenRecord,
    ExecutionRecord,
    ExecutionState,
    ExperimentRecord,
    IdempotencyRecord,
    OutboxRecord,
    StepRecord,
    StepWrite,
    Transition,
    TrialRecord,
)


class Plan:
    def __init__(
        self, state: ExecutionState, now: datetime, *, new: bool = False, limit: int | None = None
    ) -> None:
        """``limit``: the most step and token records one Transition may hold (the store's
        ``transition_limit``; None: no limit). A decision that would change more is cut there
        (``Plan.more``) and the engine goes on with further decisions, each a complete, valid
        state: what was not yet launched is simply not launched yet, as under a parallelism
        limit. A crash between two of them leaves such a state, which the next event (or a
        resume, or the cloud's sweep) carries on."""
        self.base = state
        self.limit = limit
        self.new = new
        self.now = now
        self.execution: ExecutionRecord = state.execution
        self.steps: dict[str, StepRecord] = dict(state.steps)
        self._written: set[str] = set()
        self.written: list[str] = []  # every put_step's name, in order (readiness.Frontier reads it)
        self._next_start: int | None = None
        self._execution_changed = new
        self.cache_entries: list[CacheEntry] = []
        self.callback_tokens: list[CallbackTokenRecord] = []
        self.release_callback_tokens: list[str] = []
        self.experiments: list[ExperimentRecord] = []
        self.trials: list[TrialRecord] = []
        self.idempotency: IdempotencyRecord | None = None
        self.outbox: OutboxRecord | None = None  # set by the engine on the transition it commits
        self.actions: list[Action] = []
        self.changes: list[StatusChange] = []
        self.more = False  # cut at ``limit``: another decision must follow

    # -- reading ----------------------------------------------------------------------------

    def current_steps(self) -> dict[str, StepRecord]:
        """The records that count for this run: its own, plus successes reused from earlier runs."""
        run = self.execution.run
        if run == 1:
            return self.steps  # a first run has only its own records
        return {n: r for n, r in self.steps.items() if r.run == run or r.status == "Succeeded"}

    @property
    def full(self) -> bool:
        """Whether this decision already writes as many records as one transaction allows."""
        if self.limit is None:
            return False
        size = len(self._written) + len(self.callback_tokens) + len(self.release_callback_tokens)
        return size >= self.limit

    @property
    def changed(self) -> bool:
        return self._execution_changed or bool(self._written) or bool(self.release_callback_tokens)

    # -- writing ----------------------------------------------------------------------------

    def put_step(self, record: StepRecord) -> StepRecord:
        name = record.step_name
        previous = self.steps.get(name)
        based_on = self.base.steps.get(name)
        update: dict[str, Any] = {"version": (based_on.version + 1) if based_on else 1}
        if record.started_at is not None and (
            previous is None or previous.started_at != record.started_at or previous.attempt != record.attempt
        ):
            update["start_sequence"] = self._start_sequence()
        elif previous is not None:
            update["start_sequence"] = previous.start_sequence
        record = record.model_copy(update=update)
        if previous is None or previous.status != record.status or previous.attempt != record.attempt:
            self.changes.append(
                StatusChange(
                    self.execution.execution_id, name, previous.status if previous else None, record.status
                )
            )
        self.steps[name] = record
        self._written.add(name)
        self.written.append(name)
        return record

    def _start_sequence(self) -> int:
        """The next StepRecord.start_sequence: listings order steps that share a StartTime by it."""
        if self._next_start is None:
            self._next_start = max((r.start_sequence for r in self.steps.values()), default=0) + 1
        sequence = self._next_start
        self._next_start += 1
        return sequence

    def update_step(self, name: str, **update: Any) -> StepRecord:
        return self.put_step(self.steps[name].model_copy(update=update))

    def update_execution(self, **update: Any) -> None:
        old_status = self.execution.status
        self.execution = self.execution.model_copy(update=update)
        self._execution_changed = True
        if self.execution.status != old_status:
            self.changes.append(
                StatusChange(self.execution.execution_id, None, old_status, self.execution.status)
            )

    def finish(self, status: str, failure_reason: str | None, *, at_fail_step: bool = False) -> None:
        self.update_execution(
            status=status, failure_reason=failure_reason, ended_at=self.now, ended_at_fail_step=at_fail_step
        )
        self.actions.append(ExecutionFinished(self.execution.execution_id, status, failure_reason))

    # -- committing ---------------------------------------------------------------------------

    def transition(self) -> Transition:
        base_version = None if self.new else self.base.execution.version
        execution = self.execution.model_copy(
            update={"version": 1 if base_version is None else base_version + 1, "modified_at": self.now}
        )
        self.execution = execution
        writes = []
        for name in self._written:
            based_on = self.base.steps.get(name)
            writes.append(StepWrite(self.steps[name], based_on.version if based_on else None))
        return Transition(
            execution=execution,
            expected_version=base_version,
            steps=writes,
            cache_entries=self.cache_entries,
            callback_tokens=self.callback_tokens,
            release_callback_tokens=self.release_callback_tokens,
            experiments=self.experiments,
            trials=self.trials,
            idempotency=self.idempotency,
        )

    def outcome(self, *, accepted: bool = True) -> Outcome:
        return Outcome(
            execution=self.execution,
            actions=list(self.actions),
            changes=list(self.changes),
            steps=dict(self.steps),
            accepted=accepted,
            read_version=None if self.new else self.base.execution.version,
            more=self.more,
            outbox=[self.outbox] if self.outbox is not None else [],
        )
