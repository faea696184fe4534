"""The SQLite store's schema migrations and durability settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pipelines.store.migrations import SchemaTooNew, migrations
from pipelines.store.sqlite import SQLiteStore


def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    SQLiteStore(path).close()
    SQLiteStore(path).close()  # reopening applies nothing twice
    conn = sqlite3.connect(path)
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m.number for m in migrations()]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {
        "pipelines",
        "executions",
        "steps",
        "cache_entries",
        "callback_tokens",
        "idempotency",
        "leases",
    } <= tables
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version (version) VALUES (9999)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="9999"):
        SQLiteStore(path)
