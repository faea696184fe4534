"""Turning the engine's status changes into events, and the one interface that sends them.

Every engine decision lists each execution and step status change it made
(:class:`~pipelines.engine.StatusChange`). :func:`status_events` turns them into events, one per
change, in order, each with its stable id; :class:`~pipelines.events.outbox.Outbox` writes them
into the decision's own transaction and has a publisher (EventBridge in the cloud, a JSON-lines
file in the embedded runtime) send them once it committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from pipelines.events.details import StatusEvent, change_id, execution_event, step_event
from pipelines.store.base import ExecutionRecord, StepRecord

if TYPE_CHECKING:  # the engine builds on this package (Engine(outbox=...)), not the reverse
    from pipelines.engine.actions import StatusChange


class StatusPublisher(Protocol):
    """Sends status-change events; raises :class:`~pipelines.events.errors.PublishFailed`."""

    def publish(self, events: Sequence[StatusEvent]) -> None: ...


def status_events(
    changes: Sequence[StatusChange], execution: ExecutionRecord, steps: Mapping[str, StepRecord]
) -> list[StatusEvent]:
    """One event per change of one transition, in the order the engine made them, each with
    its stable id (:func:`~pipelines.events.details.change_id`).

    ``execution`` and ``steps`` are the records the transition wrote (the execution at the
    version it committed). A change for a step without a record is a bug in the caller.
    """
    events: list[StatusEvent] = []
    for index, change in enumerate(changes):
        if change.execution_id != execution.execution_id:
            raise ValueError(f"change for {change.execution_id} published with {execution.execution_id}")
        event_id = change_id(execution, index)
        if change.step_name is None:
            event = execution_event(execution, change.old_status, change.new_status, event_id)
        else:
            step = steps[change.step_name]
            event = step_event(execution, step, change.old_status, change.new_status, event_id)
        events.append(event)
    return events
