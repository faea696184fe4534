"""The engine writes each decision's status events into the decision's own transaction (the
outbox), on every backend: a decision wider than one DynamoDB transaction is cut into several,
each carrying its own events, and together they hold every change once, in order."""

from __future__ import annotations

from collections import Counter

from pipelines.engine import Engine, StartRequest
from pipelines.events import Outbox, StatusEvent
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
