"""Versioned schema migrations for the SQLite store: ``NNNN_name.sql`` files applied in order.

The ``schema_version`` table records the highest applied number; each file runs in its own
transaction together with that bookkeeping, so a crash leaves the schema at a whole version.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

from pipelines.errors import PipelinesError

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(PipelinesError):
    """The database was written by a newer version of this package."""


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files(__package__).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    return sorted(found, key=lambda m: m.number)


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version reached. ``conn`` must be in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn)
        known = migrations()
        latest = known[-1].number if known else 0
        if version > latest:
            raise SchemaTooNew(
                f"The state database has schema version {version}, newer than this release knows ({latest})."
            )
        for migration in known:
            if migration.number <= version:
                continue
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (migration.number,))
            version = migration.number
        conn.execute("COMMIT")
        return version
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(sql: str) -> list[str]:
    """Split a migration file into statements (executescript would commit on its own)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
