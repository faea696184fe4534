"""The SQLite store's schema migrations and durability settings."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pipelines.store.migrations import SchemaTooNew, migrations
from pipelines.store.sqlite import SQLiteStore

from tests.legacy_state import write_legacy_store


def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    SQLiteStore(path).close()
    SQLiteStore(path).close()  # reopening applies nothing twice
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT version, name FROM schema_migrations WHERE component = 'store' ORDER BY version"
    )
    assert [tuple(row) for row in rows] == [(m.number, m.name) for m in migrations()]
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
    conn.execute("INSERT INTO schema_migrations (component, version, name) VALUES ('store', 9999, 'future')")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="9999"):
        SQLiteStore(path)


def test_a_state_dir_from_before_accounts_keeps_its_pipelines_versions_executions_and_cache(
    tmp_path: Path,
) -> None:
    """Pipelines used to be keyed by name; migration 0003 keys them (and everything that pointed
    at them) by ARN, keeping every row."""
    from pipelines.store.base import ListQuery

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    write_legacy_store(conn, up_to=2)
    arn = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/churn"
    at = "2024-05-01T12:00:00.000000Z"
    pipeline = {
        "name": "Churn",
        "arn": arn,
        "definition": "{}",
        "created_at": at,
        "modified_at": at,
        "latest_version_id": 2,
    }
    conn.execute("INSERT INTO pipelines VALUES ('Churn', 'churn', ?, 1, ?)", (at, json.dumps(pipeline)))
    for number in (1, 2):
        body = {"pipeline_name": "Churn", "version_id": number, "definition": f"v{number}", "created_at": at}
        conn.execute(
            "INSERT INTO pipeline_versions VALUES ('Churn', ?, ?, ?)", (number, at, json.dumps(body))
        )
    execution = {
        "execution_id": "aaaaaaaaaaaa",
        "execution_arn": f"{arn}/execution/aaaaaaaaaaaa",
        "pipeline_name": "Churn",
        "pipeline_arn": arn,
        "status": "Succeeded",
        "created_at": at,
        "modified_at": at,
    }
    conn.execute(
        "INSERT INTO executions VALUES ('aaaaaaaaaaaa', 'Churn', 'Succeeded', ?, 1, '{}', ?)",
        (at, json.dumps(execution)),
    )
    entry = {
        "pipeline_name": "Churn",
        "cache_key": "k",
        "step_type": "Processing",
        "step_name": "S",
        "execution_id": "aaaaaaaaaaaa",
        "execution_arn": f"{arn}/execution/aaaaaaaaaaaa",
        "completed_at": at,
        "properties": {"x": 1},
    }
    conn.execute(
        "INSERT INTO cache_entries VALUES ('Churn', 'k', ?, 'aaaaaaaaaaaa', 'S', ?)", (at, json.dumps(entry))
    )
    conn.close()

    store = SQLiteStore(path)
    try:
        assert store.get_pipeline(arn).name == "Churn"
        assert [v.definition for v in store.list_pipeline_versions(arn, ListQuery()).items] == ["v2", "v1"]
        assert store.get_pipeline_version(arn, 1).pipeline_arn == arn
        assert [e.execution_id for e in store.list_executions(arn, ListQuery()).items] == ["aaaaaaaaaaaa"]
        hit = store.find_cache_entry(arn, "k", datetime(2024, 1, 1, tzinfo=UTC))
        assert hit is not None and hit.properties == {"x": 1} and hit.pipeline_arn == arn
        other = arn.replace("000000000000", "111111111111")
        assert store.get_pipeline(other) is None and store.find_cache_entry(other, "k", datetime.min) is None
    finally:
        store.close()
