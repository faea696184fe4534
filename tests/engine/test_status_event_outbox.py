"""The engine writes each decision's status events into the decision's own transaction (the
outbox), on every backend: a decision wider than one DynamoDB transaction is cut into several,
each carrying its own events, and together they hold every change once, in order. Events a
process committed and did not publish are taken over by the next call for the execution at once
when that process is dead, after the claim timeout when it may be alive."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

from pipelines.engine import Engine, StartRequest
from pipelines.events import Outbox, StatusEvent
from pipelines.runners.base import StepResult
from pipelines.runtime.embedded import _owner_dead
from pipelines.store.base import Store

from .fakes import definition, processing_step

WIDTH = 150  # wider than the 90 step records of one DynamoDB transition


class Discarding:
    def publish(self, events: object) -> None:
        pass


def test_a_decision_cut_over_several_transactions_records_every_change_once(store: Store, pipeline) -> None:
    outbox = Outbox(store, Discarding(), claimant="test")
    engine = Engine(store, outbox=outbox.record, claim_on_launch=True)
    name = pipeline(definition(*[processing_step(f"S{i:03d}") for i in range(WIDTH)]))

    outcome = engine.start(StartRequest(pipeline_name=name))

    records = store.list_outbox(outcome.execution.execution_id, limit=1000)
    assert records == outcome.outbox  # one record per transaction, each written with it
    if store.transition_limit is not None:
        assert len(records) > 1
    events = [StatusEvent.from_envelope(e) for r in records for e in r.events]
    assert len(events) == len(outcome.changes) == 1 + 2 * WIDTH  # Executing; each step Starting, Executing
    assert Counter(e.detail.get("stepName") for e in events) == Counter(
        {None: 1, **{f"S{i:03d}": 2 for i in range(WIDTH)}}
    )
    ids = [e.event_id for e in events]
    assert len(set(ids)) == len(ids) and ids == [e.detail["eventId"] for e in events]

    sent = outbox.publish(outcome)
    assert [e.event_id for e in sent] == ids and store.list_outbox(None) == []


def test_an_engine_without_an_outbox_records_no_events(store: Store, pipeline) -> None:
    outcome = Engine(store).start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))
    assert outcome.changes and outcome.outbox == [] and store.list_outbox(None) == []


class Recording:
    def __init__(self) -> None:
        self.events: list[StatusEvent] = []

    def publish(self, events: list[StatusEvent]) -> None:
        self.events.extend(events)


def dead_claimant() -> str:
    """The lease-owner form (``<host>:<pid>:<nonce>``) of a process of this host that ended."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    claimant = f"{socket.gethostname()}:{int(ended.stdout)}:dead"
    assert _owner_dead(claimant)
    return claimant


def test_the_next_engine_call_publishes_what_a_dead_process_committed(store: Store, pipeline) -> None:
    name = pipeline(definition(processing_step("A")))
    dead = Outbox(store, Recording(), claimant=dead_claimant())
    started = Engine(store, outbox=dead.record).start(StartRequest(pipeline_name=name))  # never published

    publisher = Recording()
    live = Outbox(store, publisher, claimant="live", claimant_dead=_owner_dead)
    engine = Engine(store, outbox=live.record)
    execution_id = started.execution.execution_id
    live.publish(engine.update_execution(execution_id, display_name="renamed"))  # no status change

    assert [e.event_id for e in publisher.events] == [e["id"] for r in started.outbox for e in r.events]
    assert store.list_outbox(None) == []
    live.publish(engine.update_execution(execution_id, display_name="again"))
    assert len(publisher.events) == len(started.changes)  # published once


def test_a_live_processs_events_wait_for_its_claim_to_time_out(store: Store, pipeline) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    slow = Outbox(store, Recording(), claimant="elsewhere:1:alive", now=lambda: now[0])
    started = Engine(store, outbox=slow.record).start(StartRequest(pipeline_name=pipeline(definition())))
    publisher = Recording()
    other = Outbox(store, publisher, claimant="other", claimant_dead=_owner_dead, now=lambda: now[0])

    now[0] += timedelta(seconds=59)
    assert other.publish_pending() == [] and len(store.list_outbox(None)) == 1  # still its publisher's
    now[0] += timedelta(seconds=1)
    assert len(other.publish_pending()) == len(started.changes)  # abandoned: taken over, sent once
    assert other.publish_pending() == [] and store.list_outbox(None) == []


def test_a_held_record_is_removed_by_the_decision_on_its_launchs_report(store: Store, pipeline) -> None:
    """Holding: the start decision launches A and keeps its published events; the decision on
    A's report removes them in its own transaction. A step type the predicate excludes (its
    outcome is no report) is not held for."""
    publisher = Recording()
    outbox = Outbox(store, publisher, claimant="c", reported=lambda step: step.step_type == "Processing")
    engine = Engine(store, outbox=outbox.record, claim_on_launch=True)
    name = pipeline(definition(processing_step("A"), processing_step("B", DependsOn=["A"])))
    started = engine.start(StartRequest(pipeline_name=name))
    execution_id = started.execution.execution_id
    [record] = started.outbox
    assert record.launched == [("A", 1)]

    outbox.publish(started)
    outbox.before_start(execution_id, "A", 1)  # this process starts A: the record stays
    outbox.settle(execution_id)
    assert store.list_outbox(execution_id) == [record]
    assert len(publisher.events) == len(started.changes)

    with outbox.settling(execution_id, outbox.settles_for(execution_id, [("A", 1)])):
        reported = engine.report(execution_id, [("A", 1, StepResult(properties={}))])
    assert [r.version for r in store.list_outbox(execution_id)] == [reported.execution.version]
    assert reported.outbox[0].launched == [("B", 1)]

    excluded = Outbox(store, publisher, claimant="c", reported=lambda step: False)
    other = Engine(store, outbox=excluded.record, claim_on_launch=True).start(
        StartRequest(pipeline_name=name)
    )
    assert [r.launched for r in other.outbox] == [[]]
    excluded.publish(other)
    assert store.list_outbox(other.execution.execution_id) == []  # removed at once


def test_a_held_record_another_process_published_is_published_by_whoever_starts_its_step(
    store: Store, pipeline
) -> None:
    """Its publisher died before publishing: a starter that did not publish it (a redelivery,
    the sweep's re-drive) publishes and removes it before it starts the step."""
    name = pipeline(definition(processing_step("A")))
    dead = Outbox(store, Recording(), claimant="dead", reported=lambda step: True)
    started = Engine(store, outbox=dead.record, claim_on_launch=True).start(StartRequest(pipeline_name=name))
    execution_id = started.execution.execution_id
    publisher = Recording()
    later = datetime.now(UTC) + timedelta(hours=1)  # the dead claim is long abandoned
    starter = Outbox(store, publisher, claimant="starter", reported=lambda step: True, now=lambda: later)

    assert starter.publish_pending() == []  # held: not taken over by age while A may run
    starter.before_start(execution_id, "A", 1)
    assert [e.event_id for e in publisher.events] == [e["id"] for e in started.outbox[0].events]
    assert store.list_outbox(execution_id) == []
