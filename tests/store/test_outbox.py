"""The outbox primitives, against every backend: a transition's events are written with it or
not at all, listed per execution and for a sweep, claimed by one process at a time (a
compare-and-swap on the claim), and deleted once published."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pipelines.store.backends import open_backend
from pipelines.store.base import OutboxRecord, StaleWrite, StepWrite, Store, Transition
from pipelines.store.dynamodb import DynamoDBStore

from .test_store_records import T0, create_execution, execution_record, step_record


def events(*statuses: str) -> list[dict[str, object]]:
    return [
        {"id": f"id-{s}", "detail-type": "x", "detail": {"status": s, "note": "é" * 10}} for s in statuses
    ]


def outbox(execution_id: str, version: int, *statuses: str, claimant: str = "p1") -> OutboxRecord:
    return OutboxRecord(
        execution_id=execution_id, version=version, claimant=claimant, claimed_at=T0, events=events(*statuses)
    )


def advance(store: Store, execution_id: str, version: int, record: OutboxRecord | None) -> None:
    """Commit version ``version`` of the execution (from ``version - 1``) with ``record``."""
    execution = execution_record(execution_id).model_copy(update={"version": version})
    store.apply(Transition(execution=execution, expected_version=version - 1, outbox=record))


def test_a_transitions_events_are_written_with_it_and_never_without_it(store: Store) -> None:
    create_execution(store, execution_record("e1"))
    advance(store, "e1", 2, outbox("e1", 2, "Succeeded"))
    assert store.list_outbox("e1") == [outbox("e1", 2, "Succeeded")]

    lost = Transition(
        execution=execution_record("e1").model_copy(update={"version": 3}),
        expected_version=1,  # stale: version 2 is stored
        steps=[StepWrite(step_record("e1", "A"), None)],
        outbox=outbox("e1", 3, "Failed"),
    )
    with pytest.raises(StaleWrite):
        store.apply(lost)
    assert store.list_outbox("e1") == [outbox("e1", 2, "Succeeded")]  # nothing of the lost one


def test_listing_per_execution_in_version_order_and_for_a_sweep(store: Store) -> None:
    for execution_id in ("e1", "e2"):
        create_execution(store, execution_record(execution_id))
    for version in (2, 3, 4):
        advance(store, "e1", version, outbox("e1", version, f"s{version}"))
    advance(store, "e2", 2, outbox("e2", 2, "s2"))
    advance(store, "e2", 3, None)  # a transition without status changes writes none

    assert [r.version for r in store.list_outbox("e1")] == [2, 3, 4]
    # the versions a publisher holds (the ones it just wrote) are left out, within the limit
    assert [r.version for r in store.list_outbox("e1", skip={3})] == [2, 4]
    assert [r.version for r in store.list_outbox("e1", limit=1, skip={2})] == [3]
    assert store.list_outbox("e1", skip={2, 3, 4}) == []
    assert [r.version for r in store.list_outbox("e1", limit=2)] == [2, 3]
    everything = store.list_outbox(None)
    assert [(r.execution_id, r.version) for r in everything] == [("e1", 2), ("e1", 3), ("e1", 4), ("e2", 2)]
    assert len(store.list_outbox(None, limit=3)) == 3

    store.delete_outbox(store.list_outbox("e1")[:2])
    store.delete_outbox([outbox("e1", 2)])  # already gone: no error
    assert [(r.execution_id, r.version) for r in store.list_outbox(None)] == [("e1", 4), ("e2", 2)]


def test_one_claimant_wins_a_claim(store: Store, store_kind: str, tmp_path: Path) -> None:
    create_execution(store, execution_record("e1"))
    advance(store, "e1", 2, outbox("e1", 2, "Succeeded", claimant="dead"))
    [stored] = store.list_outbox("e1")
    other = open_backend(store_kind, tmp_path)  # another process's handle
    try:
        later = T0 + timedelta(minutes=5)
        mine = store.claim_outbox(stored, "p2", later)
        assert mine is not None and (mine.claimant, mine.claimed_at) == ("p2", later)
        assert other.claim_outbox(stored, "p3", later) is None  # the claim it read is gone
        assert other.list_outbox("e1") == [mine]
        store.delete_outbox([mine])
        assert other.claim_outbox(mine, "p3", later) is None  # published meanwhile
    finally:
        other.close()


def test_a_large_batch_of_events_is_kept_whole(store: Store) -> None:
    create_execution(store, execution_record("e1"))
    many = outbox("e1", 2, *[f"status-{i}" for i in range(400)])
    advance(store, "e1", 2, many)
    assert store.list_outbox("e1") == [many]


def test_a_transition_settles_held_records_and_a_hold_lasts_while_the_execution_is_active(
    store: Store,
) -> None:
    """``launched`` (the StepRunners a decision launched, whose reports settle its record) is
    kept with the record and listed while the execution is active; a transition removes the
    records it settles with its own write; a claim without launches drops the hold."""
    create_execution(store, execution_record("e1"))
    held = outbox("e1", 2, "Executing").model_copy(update={"launched": [("A", 1), ("B", 2)]})
    advance(store, "e1", 2, held)
    advance(store, "e1", 3, outbox("e1", 3, "Stopping").model_copy(update={"launched": [("C", 1)]}))
    assert [(r.version, r.launched) for r in store.list_outbox("e1")] == [
        (2, [("A", 1), ("B", 2)]),
        (3, [("C", 1)]),
    ]

    settling = outbox("e1", 4, "Succeeded").model_copy(update={"settles": [2]})
    advance(store, "e1", 4, settling)
    assert [r.version for r in store.list_outbox("e1")] == [3, 4]  # 2 settled in the transition

    [three, _] = store.list_outbox("e1")
    unheld = store.claim_outbox(three.model_copy(update={"launched": []}), three.claimant, three.claimed_at)
    assert unheld is not None and [r.launched for r in store.list_outbox("e1")] == [[], []]

    create_execution(store, execution_record("e2"))
    advance(store, "e2", 2, outbox("e2", 2, "Executing").model_copy(update={"launched": [("A", 1)]}))
    ended = execution_record("e2").model_copy(update={"version": 3, "status": "Succeeded"})
    store.apply(Transition(execution=ended, expected_version=2, outbox=outbox("e2", 3, "Succeeded")))
    assert [(r.version, r.launched) for r in store.list_outbox("e2")] == [
        (2, []),
        (3, []),
    ]  # no hold once ended
    assert {r.execution_id for r in store.list_outbox(None)} == {
        "e1",
        "e2",
    }  # the sweep still finds the ended one
    store.delete_outbox(store.list_outbox("e2"))
    assert {r.execution_id for r in store.list_outbox(None)} == {"e1"}


def test_an_execution_that_ends_in_its_start_decision_keeps_its_events_and_finishes_its_run(
    store: Store,
) -> None:
    """Its first steps failed at once: the events are written with it, findable by a sweep, and
    (DynamoDB) the run item gets its final status in the same transaction, which the
    PipelineExecution machine reads instead of waiting for a token."""
    failed = execution_record("e1").model_copy(update={"status": "Failed"})
    store.apply(Transition(execution=failed, expected_version=None, outbox=outbox("e1", 1, "Failed")))
    assert [(r.execution_id, r.version) for r in store.list_outbox(None)] == [("e1", 1)]
    if isinstance(store, DynamoDBStore):
        run = store.client.get_item(
            TableName=store.tables.state, Key={"pk": {"S": "EXECUTION#e1"}, "sk": {"S": "RUN#1"}}
        )["Item"]
        assert run["finalStatus"] == {"S": "Failed"}
    store.delete_outbox(store.list_outbox(None))
    assert store.list_outbox(None) == []
