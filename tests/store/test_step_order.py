"""ListPipelineExecutionSteps order: StartTime, then the order the engine started the steps
(StepRecord.start_sequence), then the name -- never the alphabet for steps that started together."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from pipelines.store.base import ListQuery, Store, step_listing_key
from pipelines.store.sqlite import SQLiteStore

from tests.legacy_state import write_legacy_store

from .test_store_records import T0, create_execution, execution_record, step_record

# the engine started Zeta, then Alpha, then Mid, all in the same tick; Late a second after
STARTED_TOGETHER = [("Zeta", 1), ("Alpha", 2), ("Mid", 3)]


@pytest.fixture
def ordered_store(store: Store) -> Store:
    return store


def _names(store: Store, execution_id: str, query: ListQuery) -> list[str]:
    return [s.step_name for s in store.list_steps(execution_id, query).items]


def _all_pages(store: Store, execution_id: str, *, ascending: bool) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = store.list_steps(execution_id, ListQuery(limit=1, ascending=ascending, next_token=token))
        names.extend(s.step_name for s in page.items)
        token = page.next_token
        if token is None:
            return names


def test_steps_that_started_together_list_in_start_order(ordered_store: Store) -> None:
    execution = execution_record("orderexec000")
    records = [step_record(execution.execution_id, n, T0, start_sequence=seq) for n, seq in STARTED_TOGETHER]
    late = step_record(execution.execution_id, "Late", T0 + timedelta(seconds=1), start_sequence=4)
    create_execution(ordered_store, execution, late, *reversed(records))
    ascending = ["Zeta", "Alpha", "Mid", "Late"]
    assert _names(ordered_store, execution.execution_id, ListQuery(ascending=True)) == ascending
    assert _names(ordered_store, execution.execution_id, ListQuery()) == ascending[::-1]
    assert _all_pages(ordered_store, execution.execution_id, ascending=True) == ascending
    assert _all_pages(ordered_store, execution.execution_id, ascending=False) == ascending[::-1]


def test_the_listing_key_orders_by_time_before_sequence() -> None:
    early = step_record("e", "A", T0, start_sequence=9)
    later = step_record("e", "B", T0 + timedelta(microseconds=1), start_sequence=1)
    never = step_record("e", "C", None)
    assert sorted([later, early, never], key=step_listing_key) == [never, early, later]


def test_the_migration_keeps_old_rows_listable_by_start_time(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    write_legacy_store(conn, up_to=1)  # a state database written before 0002
    execution = execution_record("oldrows00000")
    conn.execute(
        "INSERT INTO executions (execution_id, pipeline_name, status, created_at, version, definition, body) "
        "VALUES (?, 'p', 'Executing', '', 1, ?, ?)",
        (execution.execution_id, execution.definition, execution.model_dump_json(exclude={"definition"})),
    )
    for name, at in (("B", T0 + timedelta(seconds=1)), ("A", T0)):
        body = step_record(execution.execution_id, name, at).model_dump_json(exclude={"start_sequence"})
        conn.execute(
            "INSERT INTO steps (execution_id, step_name, status, started_at, version, body) "
            "VALUES (?, ?, 'Starting', ?, 1, ?)",
            (execution.execution_id, name, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), body),
        )
    conn.close()
    store = SQLiteStore(path)
    try:
        assert _names(store, execution.execution_id, ListQuery(ascending=True)) == ["A", "B"]
        create_execution(store, execution_record("newrows00000"))  # the migrated schema takes writes
    finally:
        store.close()
