"""What the engine asks a runtime to do, and what it tells it happened.

Every action is derived from records already written, so a runtime that crashes between a
decision and its action can recover the action from the store (:meth:`Engine.pending_actions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipelines.runners.base import StepRequest
from pipelines.store.base import ExecutionRecord, OutboxRecord, StepRecord


@dataclass(frozen=True)
class RunStep:
    """Start attempt ``attempt`` of a step, not before ``not_before`` (a retry's backoff).

    The runtime first claims the attempt with :meth:`Engine.step_started` (only one claimer
    wins), then runs ``request`` and reports the outcome for the same attempt.
    """

    execution_id: str
    step_name: str
    attempt: int
    not_before: datetime | None
    request: StepRequest


@dataclass(frozen=True)
class StopStep:
    """Stop the running job of this attempt (Stop*Job / set the runner's cancel event)."""

    execution_id: str
    step_name: str
    attempt: int


@dataclass(frozen=True)
class NotifyStopping:
    """Send a Callback step's ``"status": "Stopping"`` message, then acknowledge it with
    :meth:`Engine.stop_notified`. The step keeps waiting for success or failure."""

    execution_id: str
    step_name: str
    attempt: int
    request: StepRequest


@dataclass(frozen=True)
class ExecutionFinished:
    """The execution reached Succeeded, Failed or Stopped: release whatever waits on it."""

    execution_id: str
    status: str
    failure_reason: str | None


Action = RunStep | StopStep | NotifyStopping | ExecutionFinished


@dataclass(frozen=True)
class StatusChange:
    """An execution or step status change, for status-change events and progress displays."""

    execution_id: str
    step_name: str | None  # None for the execution itself
    old_status: str | None
    new_status: str


@dataclass
class Outcome:
    """The result of one engine call: the execution after it, the actions to carry out, and
    the status changes it made. ``execution`` is None only when the call changed nothing for an
    unknown execution."""

    execution: ExecutionRecord | None
    actions: list[Action] = field(default_factory=list)
    changes: list[StatusChange] = field(default_factory=list)
    steps: dict[str, StepRecord] = field(default_factory=dict)  # step records after the call
    accepted: bool = True  # False: the call was a no-op (duplicate or stale report, lost claim)
    read_version: int | None = None  # the execution version the decision read (None: new execution)
    claimed: list[str] = field(default_factory=list)  # steps_started: the steps this call claimed
    more: bool = False  # the decision was cut at the transaction limit (the engine continues it)
    outbox: list[OutboxRecord] = field(default_factory=list)
    """The status-change events this call wrote with its transitions (Engine ``outbox``): the
    runtime publishes them, then deletes them (pipelines.events.outbox)."""

    @property
    def finished(self) -> bool:
        return any(isinstance(a, ExecutionFinished) for a in self.actions)
