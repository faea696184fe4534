"""Turning the engine's status changes into events, and the one interface that sends them.

Every engine call returns an :class:`~pipelines.engine.Outcome` whose ``changes`` list each
execution and step status change the call made (already written to the store). A runtime
passes the outcome to :func:`publish_outcome` after the store write succeeded; the publisher
(EventBridge in the cloud, a JSON-lines file in the embedded runtime) sends one event per
change, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pipelines.engine.actions import Outcome, StatusChange
from pipelines.events.details import StatusEvent, execution_event, step_event
from pipelines.store.base import ExecutionRecord, StepRecord


class StatusPublisher(Protocol):
    """Sends status-change events; raises :class:`~pipelines.events.errors.PublishFailed`."""

    def publish(self, events: Sequence[StatusEvent]) -> None: ...


def status_events(
    changes: Sequence[StatusChange], execution: ExecutionRecord, steps: Mapping[str, StepRecord]
) -> list[StatusEvent]:
    """One event per change, in the order the engine made them.

    ``execution`` and ``steps`` are the records after the changes (``Outcome.execution`` and
    ``Outcome.steps``). A change for a step without a record is a bug in the caller.
    """
    events: list[StatusEvent] = []
    for change in changes:
        if change.execution_id != execution.execution_id:
            raise ValueError(f"change for {change.execution_id} published with {execution.execution_id}")
        if change.step_name is None:
            events.append(execution_event(execution, change.old_status, change.new_status))
        else:
            events.append(
                step_event(execution, steps[change.step_name], change.old_status, change.new_status)
            )
    return events


def publish_outcome(publisher: StatusPublisher, outcome: Outcome) -> list[StatusEvent]:
    """Publish the changes of one engine call; returns the events sent."""
    if outcome.execution is None or not outcome.changes:
        return []
    events = status_events(outcome.changes, outcome.execution, outcome.steps)
    publisher.publish(events)
    return events
