"""One SQLite state file, several owners: connections and per-component schema migrations.

The embedded runtime keeps the store, the model registry and the callback queue in the same
database file so that one ``state_dir`` is the whole state. Each component owns its tables and
migrates them on its own, tracked by its own row in ``component_schema``; none of them may use
``PRAGMA user_version``, which would be shared by all. Several processes use the file at once
(``pipelines run`` and ``pipelines callback succeed``), hence WAL and a generous busy timeout.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Self

if TYPE_CHECKING:
    from pipelines.config import Config

BUSY_TIMEOUT_SECONDS = 30.0


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with WAL and rows by name."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    enable_wal(conn, BUSY_TIMEOUT_SECONDS)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def enable_wal(conn: sqlite3.Connection, timeout_seconds: float) -> None:
    """Put the database in WAL mode, waiting up to ``timeout_seconds`` for the lock it needs.

    WAL is a property of the file, set once. The switch takes an exclusive lock for which SQLite
    does not call the busy handler, so connections opening a new database at the same time got
    "database is locked" at once (seen with four threads opening the registry). Reading the mode
    costs no lock, so the switch is tried only while the file is not in WAL yet, and retried.
    """
    deadline = time.monotonic() + timeout_seconds
    while str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


@contextmanager
def connection(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A :func:`connect` connection for one unit of work, closed after it.

    Components open one per call rather than keep one, so every thread and process can use them.
    """
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE``: take the write lock up front so read-then-write cannot race."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, component: str, migrations: Sequence[str]) -> None:
    """Apply ``migrations[n:]`` where ``n`` is the component's recorded version.

    Each migration is a SQL script; the list only ever grows, so version ``n`` means "the first
    ``n`` scripts ran". An up-to-date schema costs one read; otherwise the scripts run in one
    write transaction that re-reads the version, so concurrent openers migrate once.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS component_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    if _version(conn, component) == len(migrations):
        return
    with transaction(conn):
        current = _version(conn, component)
        for script in migrations[current:]:
            for statement in _statements(script):
                conn.execute(statement)
        if current != len(migrations):
            conn.execute(
                "INSERT INTO component_schema (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )


def _version(conn: sqlite3.Connection, component: str) -> int:
    row = conn.execute("SELECT version FROM component_schema WHERE component = ?", (component,)).fetchone()
    return int(row["version"]) if row else 0


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (``executescript`` would commit our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()


class SqliteComponent:
    """A component that keeps its own tables in the shared state file.

    Subclasses name their ``component`` row and list their ``migrations``; construction migrates
    them (one read when up to date). Every call opens its own connection, so an instance is
    thread- and process-safe, and writes take the write lock through :func:`transaction`.
    """

    component: ClassVar[str]
    migrations: ClassVar[Sequence[str]]

    def __init__(self, database_path: str | Path) -> None:
        self.database_path = Path(database_path)
        with connection(self.database_path) as conn:
            migrate(conn, self.component, self.migrations)

    @classmethod
    def from_config(cls, config: Config) -> Self:
        return cls(config.database_path)


class AccountComponent(SqliteComponent):
    """A :class:`SqliteComponent` whose records carry ARNs, hence the account and region."""

    def __init__(self, database_path: str | Path, *, region: str, account_id: str) -> None:
        super().__init__(database_path)
        self.region = region
        self.account_id = account_id

    @classmethod
    def from_config(cls, config: Config) -> Self:
        return cls(config.database_path, region=config.region, account_id=config.account_id)
