"""One SQLite state file, several owners: connections, transactions and the one migration runner.

The embedded runtime keeps the store, the model registry, the callback queue, lineage, job and
endpoint records in the same database file (``<state_dir>/pipelines.sqlite``), so that one
``state_dir`` is the whole state. Each owner ("component") has its own tables and its own
numbered migrations, and every component is migrated by :func:`migrate` into one ledger table:

    schema_migrations(component, version, name, applied_at)   one row per applied migration

A component's version is its highest recorded row. The store's migrations are the numbered files
``store/migrations/NNNN_name.sql`` (component ``store``); the other components list their scripts
in code (``SqliteComponent.migrations``: script *n* is version *n*). ``PRAGMA user_version`` is not
used, because it would be one number for all owners.

Contract of :func:`migrate`:
- an up-to-date component costs one indexed read and takes no lock;
- otherwise the missing migrations run, with their ledger rows, in one ``BEGIN IMMEDIATE``
  transaction that re-reads the version first: processes opening the same database at once queue
  on the write lock and exactly one applies each migration; a crash leaves the previous version;
- a database recording a newer version than the code knows is refused (:class:`SchemaTooNew`);
- databases written before the ledger existed (the store's ``schema_version`` table, one row per
  applied file, and ``component_schema``, one row per component holding its count of scripts) are
  carried over on first open, in that same transaction: their versions become ledger rows and the
  two old tables are dropped. No data table is touched.

Several processes use the file at once (``pipelines run`` beside ``pipelines serve`` or a CLI
command), hence WAL and a generous busy timeout on every connection (:func:`connect`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Self

from pipelines.errors import PipelinesError

if TYPE_CHECKING:
    from pipelines.config import Config

BUSY_TIMEOUT_SECONDS = 60.0
LEDGER = "schema_migrations"
STORE_COMPONENT = "store"
"""The store's name in the ledger (its rows were the old ``schema_version`` table's)."""


class SchemaTooNew(PipelinesError):
    """The database was migrated by a newer version of this package than the one running."""


@dataclass(frozen=True)
class Migration:
    """One schema change of one component: ``number`` orders them and is the version it reaches."""

    number: int
    name: str
    sql: str


def numbered(component: str, scripts: Sequence[str]) -> tuple[Migration, ...]:
    """A component's in-code scripts as migrations: script *n* (from 1) is version *n*."""
    return tuple(Migration(n, f"{component} {n}", sql) for n, sql in enumerate(scripts, start=1))


def connect(path: str | Path, *, rows_by_name: bool = True) -> sqlite3.Connection:
    """A connection to the state file: autocommit mode (transactions are explicit), WAL,
    ``synchronous=NORMAL`` (a killed process loses no committed transaction), a busy timeout for
    the other processes, and rows readable by column name unless ``rows_by_name`` is off."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
    if rows_by_name:
        conn.row_factory = sqlite3.Row
    enable_wal(conn, BUSY_TIMEOUT_SECONDS)
    conn.execute("PRAGMA synchronous=NORMAL")
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


def migrate(conn: sqlite3.Connection, component: str, migrations: Sequence[Migration]) -> list[Migration]:
    """Bring ``component`` up to its last migration; returns the migrations this call applied.

    ``conn`` must be in autocommit mode. See the module docstring for the guarantees.
    """
    numbers = [m.number for m in migrations]
    if any(b <= a for a, b in pairwise(numbers)) or (numbers and numbers[0] < 1):
        raise ValueError(
            f"{component}'s migrations must be numbered from 1 up, each above the last: {numbers}"
        )
    latest = numbers[-1] if numbers else 0
    if _recorded_version(conn, component) == latest:
        return []
    applied: list[Migration] = []
    with transaction(conn):
        _carry_over_legacy_bookkeeping(conn)
        current = _recorded_version(conn, component) or 0
        if current > latest:
            raise SchemaTooNew(
                f"The state database has schema version {current} of {component}, newer than this "
                f"release knows ({latest}): open it with the release that wrote it, or a newer one."
            )
        for migration in migrations:
            if migration.number <= current:
                continue
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {LEDGER} (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
                (component, migration.number, migration.name, datetime.now(UTC).isoformat()),
            )
            applied.append(migration)
    return applied


def recorded_versions(conn: sqlite3.Connection) -> dict[str, int]:
    """Every component's version in the ledger (empty before anything was migrated)."""
    try:
        rows = conn.execute(f"SELECT component, MAX(version) FROM {LEDGER} GROUP BY component").fetchall()
    except sqlite3.OperationalError as exc:
        if f"no such table: {LEDGER}" in str(exc):
            return {}
        raise
    return {str(row[0]): int(row[1]) for row in rows}


def _recorded_version(conn: sqlite3.Connection, component: str) -> int | None:
    """The component's version, or None when the ledger does not exist yet."""
    try:
        row = conn.execute(f"SELECT MAX(version) FROM {LEDGER} WHERE component = ?", (component,)).fetchone()
    except sqlite3.OperationalError as exc:
        if f"no such table: {LEDGER}" in str(exc):
            return None
        raise
    return int(row[0]) if row[0] is not None else 0


def _carry_over_legacy_bookkeeping(conn: sqlite3.Connection) -> None:
    """Create the ledger; move the versions of the two tables it replaces into it, and drop them.

    Runs inside :func:`migrate`'s write transaction, so it happens once and with the migrations.
    ``schema_version`` held one row per applied store file; ``component_schema`` one row per
    component holding how many of its scripts had run, which become versions 1..n.
    """
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {LEDGER} ("
        "component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT, "
        "PRIMARY KEY (component, version)) WITHOUT ROWID"
    )
    legacy = {
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('schema_version', 'component_schema')"
        )
    }
    if "schema_version" in legacy:
        conn.execute(
            f"INSERT OR IGNORE INTO {LEDGER} (component, version, name, applied_at) "
            "SELECT DISTINCT ?, version, 'carried over from schema_version', NULL FROM schema_version",
            (STORE_COMPONENT,),
        )
        conn.execute("DROP TABLE schema_version")
    if "component_schema" in legacy:
        for component, count in conn.execute("SELECT component, version FROM component_schema").fetchall():
            conn.executemany(
                f"INSERT OR IGNORE INTO {LEDGER} (component, version, name, applied_at) "
                "VALUES (?, ?, 'carried over from component_schema', NULL)",
                [(component, n) for n in range(1, int(count) + 1)],
            )
        conn.execute("DROP TABLE component_schema")


def statements(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit our transaction).

    Whole-line ``--`` comments are dropped first, so a comment holding a ``;`` cannot cut a
    statement short.
    """
    found: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                found.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        found.append(buffer.strip())
    return found


class SqliteComponent:
    """A component that keeps its own tables in the shared state file.

    Subclasses name their ``component`` (its key in the ledger; never rename it) and list their
    ``migrations`` as SQL scripts, only ever appending (script *n* is version *n*); construction
    migrates them (one read when up to date). Every call opens its own connection, so an instance
    is thread- and process-safe, and writes take the write lock through :func:`transaction`.
    """

    component: ClassVar[str]
    migrations: ClassVar[Sequence[str]]

    def __init__(self, database_path: str | Path) -> None:
        self.database_path = Path(database_path)
        with connection(self.database_path) as conn:
            migrate(conn, self.component, numbered(self.component, self.migrations))

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
