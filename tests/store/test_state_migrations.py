"""The state file's one migration runner: every component in one ``schema_migrations`` ledger.

A state directory written by the releases before the ledger (the store's ``schema_version`` and
the components' ``component_schema``) must open with its data and versions, once; a fresh one must
record every migration once; processes opening one file together must not both migrate.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from pipelines.callbacks.queue import CallbackQueue
from pipelines.lineage.sqlite import SqliteLineageStore
from pipelines.registry.local import ModelRegistry
from pipelines.runners.jobs.records import JobRecords
from pipelines.sqlite_schema import (
    LEDGER,
    STORE_COMPONENT,
    AccountComponent,
    Migration,
    SchemaTooNew,
    SqliteComponent,
    connection,
    migrate,
    numbered,
    recorded_versions,
)
from pipelines.store.migrations import migrations
from pipelines.store.sqlite import SQLiteStore

from tests.legacy_state import (
    LEGACY_TABLES,
    STATE_COMPONENTS,
    rewind_bookkeeping,
    table_names,
    write_legacy_store,
)

from .test_lineage_store import entity
from .test_store_records import arn_of, pipeline_record, version

REPO = Path(__file__).resolve().parents[2]
REGION, ACCOUNT = "us-east-1", "111111111111"
QUEUE = "https://sqs.us-east-1.amazonaws.com/111111111111/approvals"


def expected_versions() -> dict[str, int]:
    versions = {STORE_COMPONENT: migrations()[-1].number}
    versions.update({component.component: len(component.migrations) for component in STATE_COMPONENTS})
    return versions


def open_state(path: Path) -> None:
    """Open the store and every component, as the embedded runtime and the CLI do."""
    SQLiteStore(path).close()
    for component in STATE_COMPONENTS:
        if issubclass(component, AccountComponent):
            component(path, region=REGION, account_id=ACCOUNT)
        else:
            component(path)


def ledger(path: Path) -> list[tuple[str, int, str, str | None]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute(f"SELECT * FROM {LEDGER} ORDER BY component, version")]
    finally:
        conn.close()


def write_rows(path: Path) -> None:
    """Every component's tables, and one real record per kind of component through its own API."""
    open_state(path)
    store = SQLiteStore(path)
    try:
        store.create_pipeline(pipeline_record("churn", latest_version_id=1), version("churn", 1, '{"v": 1}'))
    finally:
        store.close()
    SqliteLineageStore(path).record_entity(entity("data", "e", kind="Artifact"))
    ModelRegistry(path, region=REGION, account_id=ACCOUNT).create_model_package_group("churn-models", "kept")
    CallbackQueue(path).send(QUEUE, {"token": "t-1"})
    JobRecords(path).put("ProcessingJob", {"ProcessingJobName": "prep", "ProcessingJobStatus": "Completed"})


def assert_rows_intact(path: Path) -> None:
    store = SQLiteStore(path)
    try:
        pipeline = store.get_pipeline(arn_of("churn"))
        assert pipeline is not None and pipeline.name == "churn"
        stored_version = store.get_pipeline_version(arn_of("churn"), 1)
        assert stored_version is not None and stored_version.definition == '{"v": 1}'
    finally:
        store.close()
    recorded = SqliteLineageStore(path).get_entity("Artifact", "data")
    assert recorded == entity("data", "e", kind="Artifact")
    group = ModelRegistry(path, region=REGION, account_id=ACCOUNT).describe_model_package_group(
        "churn-models"
    )
    assert group["ModelPackageGroupDescription"] == "kept"
    assert [message.body for message in CallbackQueue(path).peek(QUEUE)] == [{"token": "t-1"}]
    job = JobRecords(path).get("ProcessingJob", "prep")
    assert job is not None and job.status == "Completed"


def test_every_component_of_the_state_file_is_listed() -> None:
    def subclasses(cls: type[SqliteComponent]) -> set[type[SqliteComponent]]:
        found = set()
        for sub in cls.__subclasses__():
            found |= {sub} | subclasses(sub)
        return found

    production = {c for c in subclasses(SqliteComponent) if c.__module__.startswith("pipelines.")}
    assert production - {AccountComponent} == set(STATE_COMPONENTS)
    names = [STORE_COMPONENT] + [c.component for c in STATE_COMPONENTS]
    assert len(names) == len(set(names)), "two components share a ledger name"


def test_a_fresh_state_file_records_every_migration_once_in_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.sqlite"
    open_state(path)
    rows = ledger(path)
    expected = {(STORE_COMPONENT, m.number, m.name) for m in migrations()}
    for component in STATE_COMPONENTS:
        expected |= {
            (component.component, m.number, m.name)
            for m in numbered(component.component, component.migrations)
        }
    assert {(component, number, name) for component, number, name, _ in rows} == expected
    assert len(rows) == len(expected)
    assert all(applied_at for *_, applied_at in rows)
    assert not table_names(path) & LEGACY_TABLES
    open_state(path)  # re-opening applies nothing
    assert ledger(path) == rows


def test_a_state_dir_of_the_two_table_release_opens_with_its_data_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.sqlite"
    write_rows(path)
    old_versions = rewind_bookkeeping(path)
    assert old_versions == expected_versions()
    assert table_names(path) >= LEGACY_TABLES and LEDGER not in table_names(path)

    with connection(path) as conn:
        assert migrate(conn, STORE_COMPONENT, migrations()) == []  # carried over: nothing to run
        assert recorded_versions(conn) == old_versions  # every component's, in the one transaction
    assert not table_names(path) & LEGACY_TABLES
    carried = ledger(path)
    assert {(c, n) for c, n, _, _ in carried} == {
        (component, n) for component, count in old_versions.items() for n in range(1, count + 1)
    }
    assert all(name.startswith("carried over from ") and at is None for _, _, name, at in carried)

    open_state(path)
    assert_rows_intact(path)
    assert ledger(path) == carried  # re-opening is a no-op


def test_an_older_state_dir_gets_only_the_migrations_it_lacks(tmp_path: Path) -> None:
    class Notes(SqliteComponent):
        component = "test_notes"
        migrations: ClassVar = (
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);",
            "-- a comment; with a semicolon\nALTER TABLE notes ADD COLUMN author TEXT;",
        )

    path = tmp_path / "pipelines.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    write_legacy_store(conn, up_to=2)
    conn.execute(Notes.migrations[0])
    conn.execute("INSERT INTO notes (text) VALUES ('kept')")
    conn.execute("CREATE TABLE component_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    conn.execute("INSERT INTO component_schema VALUES ('test_notes', 1)")
    conn.close()

    open_state(path)
    Notes(path)
    rows = {(c, n): name for c, n, name, _ in ledger(path)}
    assert rows[(STORE_COMPONENT, 2)] == "carried over from schema_version"
    assert rows[(STORE_COMPONENT, 3)] == "0003_pipelines_per_account.sql"
    assert rows[("test_notes", 1)] == "carried over from component_schema"
    assert rows[("test_notes", 2)] == "test_notes 2"
    with connection(path) as conn:
        assert [tuple(r) for r in conn.execute("SELECT text, author FROM notes")] == [("kept", None)]
        assert recorded_versions(conn)[STORE_COMPONENT] == migrations()[-1].number


def test_a_component_migrated_by_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.sqlite"
    open_state(path)
    with connection(path) as conn:
        conn.execute(f"INSERT INTO {LEDGER} (component, version, name) VALUES ('lineage', 99, 'future')")
    with pytest.raises(SchemaTooNew, match=r"version 99 of lineage, newer than this release knows \(1\)"):
        SqliteLineageStore(path)


def test_migrations_out_of_order_are_a_programming_error(tmp_path: Path) -> None:
    with connection(tmp_path / "x.sqlite") as conn, pytest.raises(ValueError, match="numbered from 1 up"):
        migrate(conn, "bad", [Migration(2, "b", "SELECT 1;"), Migration(1, "a", "SELECT 1;")])


@pytest.mark.parametrize("layout", ["fresh", "two-table release"])
def test_processes_opening_one_state_file_at_once_migrate_it_once(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "pipelines.sqlite"
    if layout != "fresh":
        write_rows(path)
        rewind_bookkeeping(path)
        # a component this release did not have yet, for the racing processes to create
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("DELETE FROM component_schema WHERE component = 'attempt_processes'")
        conn.execute("DROP TABLE attempt_processes")
        conn.close()
    go = tmp_path / "go"
    processes = []
    for n in range(4):
        ready = tmp_path / f"ready-{n}"
        command = [sys.executable, "-m", "tests.store.open_state_process", str(path), str(ready), str(go)]
        processes.append(
            (
                ready,
                subprocess.Popen(
                    command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                ),
            )
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in processes):
        assert time.monotonic() < deadline, "the processes never got ready"
        assert all(process.poll() is None for _, process in processes), "a process died before the start"
        time.sleep(0.01)
    go.touch()
    applied: list[tuple[str, int]] = []
    for _, process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        applied += [tuple(pair) for pair in json.loads(out)]

    assert len(applied) == len(set(applied)), f"a migration ran twice: {sorted(applied)}"
    if layout == "fresh":
        assert len(applied) == sum(expected_versions().values())
    else:
        assert applied == [("attempt_processes", 1)]
    with connection(path) as conn:
        assert recorded_versions(conn) == expected_versions()
    assert not table_names(path) & LEGACY_TABLES
    if layout != "fresh":
        assert_rows_intact(path)


def test_the_serve_only_files_of_an_earlier_release_open_with_their_rows(tmp_path: Path) -> None:
    """``ram.sqlite`` and ``schedules.sqlite`` had unversioned ``CREATE TABLE IF NOT EXISTS``
    schemas; they are now versioned by the same runner, each in its own file."""
    from pipelines.api.ram_storage import SqliteShareStorage
    from pipelines.api.scheduler import LocalScheduler

    ram = tmp_path / "ram.sqlite"
    conn = sqlite3.connect(ram, isolation_level=None)
    conn.execute("CREATE TABLE shares (arn TEXT PRIMARY KEY, body TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE invitations (arn TEXT PRIMARY KEY, share_arn TEXT NOT NULL, body TEXT NOT NULL)"
    )
    conn.execute(
        "INSERT INTO shares VALUES ('arn:share/1', ?)", (json.dumps({"arn": "arn:share/1", "n": 1}),)
    )
    conn.close()
    storage = SqliteShareStorage(ram)
    assert storage.get_share("arn:share/1") == {"arn": "arn:share/1", "n": 1}
    storage.close()
    schedules = tmp_path / "schedules.sqlite"
    store = SQLiteStore(tmp_path / "pipelines.sqlite")
    try:
        LocalScheduler(schedules, store, lambda *args: None)
    finally:
        store.close()
    for path, component in ((ram, "ram_shares"), (schedules, "schedules")):
        with connection(path) as conn:
            assert recorded_versions(conn) == {component: 1}


def test_opening_an_up_to_date_state_file_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """The version check is a read: a CLI command opening the state while ``pipelines run`` holds
    the write lock goes on at once (it used to take the lock itself, waiting up to the busy timeout)."""
    path = tmp_path / "pipelines.sqlite"
    open_state(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    opened = threading.Event()

    def open_everything() -> None:
        open_state(path)
        opened.set()

    thread = threading.Thread(target=open_everything, daemon=True)
    thread.start()
    try:
        assert opened.wait(timeout=20), "opening waited for the writer"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        thread.join(timeout=60)
