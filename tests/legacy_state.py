"""State databases in the layouts earlier releases wrote, for migration tests.

Up to the release that introduced the ``schema_migrations`` ledger, the state file kept two
bookkeeping tables: the store's ``schema_version`` (one row per applied migration file) and the
components' ``component_schema`` (one row per component: how many of its scripts had run). The
data tables were the same as now. These helpers write exactly those tables.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipelines.callbacks.queue import CallbackQueue
from pipelines.hosting.components import InferenceComponentRecords
from pipelines.hosting.records import EndpointRecords
from pipelines.lineage.sqlite import SqliteLineageStore
from pipelines.registry.local import ModelRegistry
from pipelines.runners.jobs.records import JobRecords
from pipelines.runtime.attempt_processes import AttemptProcesses
from pipelines.sqlite_schema import LEDGER, STORE_COMPONENT, SqliteComponent, statements
from pipelines.store.migrations import migrations

LEGACY_TABLES = {"schema_version", "component_schema"}
STATE_COMPONENTS: tuple[type[SqliteComponent], ...] = (
    SqliteLineageStore,
    ModelRegistry,
    CallbackQueue,
    JobRecords,
    AttemptProcesses,
    EndpointRecords,
    InferenceComponentRecords,
)
"""Every component of the state file besides the store."""


def write_legacy_store(conn: sqlite3.Connection, *, up_to: int) -> None:
    """The store's tables as a release whose last migration file was ``up_to`` left them."""
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for migration in migrations():
        if migration.number <= up_to:
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.number,))


def rewind_bookkeeping(path: Path) -> dict[str, int]:
    """Turn a state file written by this code into the two-table layout of the releases before the
    ledger (same data tables, same versions); returns the versions it wrote."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(f"SELECT component, version FROM {LEDGER}").fetchall()
        versions: dict[str, int] = {}
        for component, version in rows:
            versions[component] = max(versions.get(component, 0), version)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("CREATE TABLE component_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        for component, version in sorted(rows):
            if component == STORE_COMPONENT:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        for component, version in versions.items():
            if component != STORE_COMPONENT:
                conn.execute(
                    "INSERT INTO component_schema (component, version) VALUES (?, ?)", (component, version)
                )
        conn.execute(f"DROP TABLE {LEDGER}")
        conn.execute("COMMIT")
        return versions
    finally:
        conn.close()


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
