"""The embedded store: SQLite in WAL mode, one transaction per transition.

WAL with ``synchronous=NORMAL`` survives a killed process (``kill -9``) with every committed
transaction intact; the worst an OS crash can cost is the last few transactions, never
consistency. Connections come from a bounded pool (store/connections.py: one writer, a few
readers shared by all threads), so open files stay flat however many threads use the store;
every write runs in ``BEGIN IMMEDIATE``.

Execution states are memoised by execution version: since every change to an execution's steps
goes through :meth:`apply`, which bumps the version, a state whose version still matches the
stored one is exactly what a full read would return. This keeps the engine's per-event read at
one indexed lookup for large executions.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from pipelines.config import Config
from pipelines.sqlite_schema import transaction
from pipelines.store.base import (
    ACTIVE_EXECUTION_STATUSES,
    CacheEntry,
    CallbackTokenRecord,
    ExecutionRecord,
    ExecutionState,
    ExperimentRecord,
    IdempotencyRecord,
    LeaseRecord,
    ListQuery,
    OutboxRecord,
    Page,
    PipelineRecord,
    PipelineVersionRecord,
    PipelineWrite,
    RecordNotFound,
    StaleWrite,
    StepRecord,
    Store,
    TrackingWarningRecord,
    Transition,
    TrialComponentRecord,
    TrialRecord,
    decode_token,
    encode_token,
    pipeline_key,
    step_listing_key,
    timestamp,
)
from pipelines.store.connections import DEFAULT_READERS, ConnectionPool
from pipelines.store.mapping import dump, load, parse_timestamp
from pipelines.store.migrations import migrate

R = TypeVar("R", bound=BaseModel)


class SQLiteStore(Store):
    transition_limit: int | None = None  # one SQLite transaction holds any decision

    def __init__(self, path: str | os.PathLike[str], *, readers: int = DEFAULT_READERS) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__()
        self._pool = ConnectionPool(self.path, readers)
        with self._pool.writer() as conn:
            migrate(conn)

    # -- connections ----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._pool.writer() as conn, transaction(conn):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A pooled reader inside one read transaction: a consistent snapshot (WAL)."""
        with self._pool.reader() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        """The first row of a single read statement (autocommit: its own snapshot)."""
        with self._pool.reader() as conn:
            return conn.execute(sql, params).fetchone()

    @property
    def open_connections(self) -> int:
        """How many SQLite connections this store holds open now (bounded by the pool)."""
        return self._pool.open_connections

    def close(self) -> None:
        self._pool.close()

    # -- pipelines ------------------------------------------------------------------------------

    def _write_pipeline(self, write: PipelineWrite) -> None:
        pipeline = write.pipeline
        key = pipeline_key(pipeline.arn)
        try:
            with self._write() as conn:
                if write.expected_version is None:
                    conn.execute(
                        "INSERT INTO pipelines (arn, name, name_lower, created_at, version, body) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            key,
                            pipeline.name,
                            pipeline.name.lower(),
                            timestamp(pipeline.created_at),
                            pipeline.version,
                            dump(pipeline),
                        ),
                    )
                else:
                    replaced = conn.execute(
                        "UPDATE pipelines SET version = ?, body = ? WHERE arn = ? AND version = ?",
                        (pipeline.version, dump(pipeline), key, write.expected_version),
                    ).rowcount
                    if not replaced:
                        raise StaleWrite(
                            f"Pipeline {pipeline.name} is not at version {write.expected_version}."
                        )
                if write.new_version is not None:
                    self._insert_version(conn, write.new_version)
                if write.changed_version is not None:
                    changed = write.changed_version
                    replaced = conn.execute(
                        "UPDATE pipeline_versions SET body = ? WHERE pipeline_arn = ? AND version_id = ?",
                        (dump(changed), pipeline_key(changed.pipeline_arn), changed.version_id),
                    ).rowcount
                    if not replaced:
                        raise StaleWrite(f"Pipeline {pipeline.name} has no version {changed.version_id}.")
        except sqlite3.IntegrityError as exc:
            raise StaleWrite(f"Pipeline {pipeline.name} or its version already exists.") from exc

    @staticmethod
    def _insert_version(conn: sqlite3.Connection, version: PipelineVersionRecord) -> None:
        conn.execute(
            "INSERT INTO pipeline_versions (pipeline_arn, version_id, created_at, body) VALUES (?, ?, ?, ?)",
            (
                pipeline_key(version.pipeline_arn),
                version.version_id,
                timestamp(version.created_at),
                dump(version),
            ),
        )

    def delete_pipeline(
        self, arn: str, *, expected_version: int | None = None, request: IdempotencyRecord | None = None
    ) -> None:
        key = pipeline_key(arn)
        with self._write() as conn:
            row = conn.execute("SELECT version FROM pipelines WHERE arn = ?", (key,)).fetchone()
            if row is None:
                raise RecordNotFound(f"Pipeline {arn} does not exist.")
            if expected_version is not None and row[0] != expected_version:
                raise StaleWrite(f"Pipeline {arn} is not at version {expected_version}.")
            conn.execute("DELETE FROM pipelines WHERE arn = ?", (key,))
            conn.execute("DELETE FROM pipeline_versions WHERE pipeline_arn = ?", (key,))
            if request is not None and not self._insert_idempotency(conn, request):
                raise StaleWrite(f"ClientRequestToken {request.token} is already recorded.")

    def record_last_run(self, arn: str, started_at: datetime) -> None:
        with self._write() as conn:
            row = conn.execute("SELECT body FROM pipelines WHERE arn = ?", (pipeline_key(arn),)).fetchone()
            if row is None:
                return
            record = load(PipelineRecord, row[0])
            if record.last_run_at is not None and record.last_run_at >= started_at:
                return
            record = record.model_copy(update={"last_run_at": started_at, "version": record.version + 1})
            conn.execute(
                "UPDATE pipelines SET version = ?, body = ? WHERE arn = ?",
                (record.version, dump(record), pipeline_key(arn)),
            )

    def get_pipeline(self, arn: str) -> PipelineRecord | None:
        row = self._one("SELECT body FROM pipelines WHERE arn = ?", (pipeline_key(arn),))
        return load(PipelineRecord, row[0]) if row else None

    def list_pipelines(self, query: ListQuery) -> Page[PipelineRecord]:
        where: list[str] = []
        params: list[Any] = []
        if query.name_prefix:
            where.append("name_lower LIKE ? ESCAPE '\\'")
            params.append(_like_prefix(query.name_prefix.lower()))
        sort_column = "name" if query.sort_by == "Name" else "created_at"
        return self._page(
            "pipelines",
            "pipelines",
            sort_column,
            "arn",
            where,
            params,
            query,
            lambda row: load(PipelineRecord, row["body"]),
        )

    def get_pipeline_version(self, arn: str, version_id: int) -> PipelineVersionRecord | None:
        row = self._one(
            "SELECT body FROM pipeline_versions WHERE pipeline_arn = ? AND version_id = ?",
            (pipeline_key(arn), version_id),
        )
        return load(PipelineVersionRecord, row[0]) if row else None

    def list_pipeline_versions(self, arn: str, query: ListQuery) -> Page[PipelineVersionRecord]:
        key = pipeline_key(arn)
        return self._page(
            "pipeline_versions",
            f"versions:{key}",
            "created_at",
            "version_id",
            ["pipeline_arn = ?"],
            [key],
            query,
            lambda row: load(PipelineVersionRecord, row["body"]),
        )

    # -- executions -----------------------------------------------------------------------------

    def _commit(self, transition: Transition) -> None:
        execution = transition.execution
        try:
            with self._write() as conn:
                self._write_execution(conn, transition)
                for write in transition.steps:
                    self._write_step(conn, write.record, write.expected_version)
                for entry in transition.cache_entries:
                    conn.execute(
                        "INSERT OR REPLACE INTO cache_entries (pipeline_arn, cache_key, completed_at, execution_id, "
                        "step_name, body) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            pipeline_key(entry.pipeline_arn),
                            entry.cache_key,
                            timestamp(entry.completed_at),
                            entry.execution_id,
                            entry.step_name,
                            dump(entry),
                        ),
                    )
                for token in transition.callback_tokens:
                    conn.execute(
                        "INSERT INTO callback_tokens (token, execution_id, body) VALUES (?, ?, ?)",
                        (token.token, token.execution_id, dump(token)),
                    )
                for token_value in transition.release_callback_tokens:
                    conn.execute("DELETE FROM callback_tokens WHERE token = ?", (token_value,))
                for experiment in transition.experiments:
                    conn.execute(
                        "INSERT OR IGNORE INTO experiments (name, created_at, body) VALUES (?, ?, ?)",
                        (experiment.name, timestamp(experiment.created_at), dump(experiment)),
                    )
                for trial in transition.trials:
                    conn.execute(
                        "INSERT OR IGNORE INTO trials (name, experiment_name, created_at, body) VALUES (?, ?, ?, ?)",
                        (trial.name, trial.experiment_name, timestamp(trial.created_at), dump(trial)),
                    )
                if transition.idempotency is not None:
                    record = transition.idempotency
                    conn.execute(
                        "INSERT INTO idempotency (token, operation, created_at, body) VALUES (?, ?, ?, ?)",
                        (record.token, record.operation, timestamp(record.created_at), dump(record)),
                    )
                if transition.outbox is not None:
                    outbox = transition.outbox
                    conn.execute(
                        "INSERT INTO outbox (execution_id, version, claimant, claimed_at, body) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            outbox.execution_id,
                            outbox.version,
                            outbox.claimant,
                            timestamp(outbox.claimed_at),
                            dump(outbox.model_copy(update={"settles": []})),
                        ),
                    )
                    conn.executemany(
                        "DELETE FROM outbox WHERE execution_id = ? AND version = ?",
                        [(outbox.execution_id, version) for version in outbox.settles],
                    )
        except sqlite3.IntegrityError as exc:
            raise StaleWrite(
                f"Pipeline execution {execution.execution_id}: a record appeared concurrently."
            ) from exc

    def _write_execution(self, conn: sqlite3.Connection, transition: Transition) -> None:
        execution = transition.execution
        body = dump(execution)
        if transition.expected_version is None:
            conn.execute(
                "INSERT INTO executions (execution_id, pipeline_name, pipeline_arn, status, created_at, version, "
                "definition, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    execution.execution_id,
                    execution.pipeline_name,
                    pipeline_key(execution.pipeline_arn),
                    execution.status,
                    timestamp(execution.created_at),
                    execution.version,
                    execution.definition,
                    body,
                ),
            )
            return
        updated = conn.execute(
            "UPDATE executions SET status = ?, version = ?, body = ? WHERE execution_id = ? AND version = ?",
            (execution.status, execution.version, body, execution.execution_id, transition.expected_version),
        ).rowcount
        if not updated:
            raise StaleWrite(f"Pipeline execution {execution.execution_id} changed concurrently.")

    @staticmethod
    def _write_step(conn: sqlite3.Connection, record: StepRecord, expected_version: int | None) -> None:
        started = timestamp(record.started_at) if record.started_at else ""
        order = step_listing_key(record)
        if expected_version is None:
            conn.execute(
                "INSERT INTO steps (execution_id, step_name, status, started_at, start_order, version, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.execution_id,
                    record.step_name,
                    record.status,
                    started,
                    order,
                    record.version,
                    dump(record),
                ),
            )
            return
        updated = conn.execute(
            "UPDATE steps SET status = ?, started_at = ?, start_order = ?, version = ?, body = ? "
            "WHERE execution_id = ? AND step_name = ? AND version = ?",
            (
                record.status,
                started,
                order,
                record.version,
                dump(record),
                record.execution_id,
                record.step_name,
                expected_version,
            ),
        ).rowcount
        if not updated:
            raise StaleWrite(f"Step {record.step_name} of {record.execution_id} changed concurrently.")

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        row = self._one(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE execution_id = ?", (execution_id,)
        )
        return _execution(row) if row else None

    def _stored_version(self, execution_id: str) -> int | None:
        row = self._one("SELECT version FROM executions WHERE execution_id = ?", (execution_id,))
        return None if row is None else int(row[0])

    def _read_state(self, execution_id: str) -> ExecutionState | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            if row is None:
                return None
            rows = conn.execute(
                f"SELECT {_STEP_COLUMNS} FROM steps WHERE execution_id = ?", (execution_id,)
            ).fetchall()
        return ExecutionState(_execution(row), {r.step_name: r for r in map(_step, rows)})

    def list_executions(self, pipeline_arn: str | None, query: ListQuery) -> Page[ExecutionRecord]:
        key = pipeline_key(pipeline_arn) if pipeline_arn else None
        where, params = (["pipeline_arn = ?"], [key]) if key else ([], [])
        return self._page(
            "executions",
            f"executions:{key or ''}",
            "created_at",
            "execution_id",
            where,
            params,
            query,
            _execution,
            columns=_EXECUTION_COLUMNS,
        )

    def list_unfinished_executions(self) -> list[ExecutionRecord]:
        marks = ",".join("?" for _ in ACTIVE_EXECUTION_STATUSES)
        with self._pool.reader() as conn:
            rows = conn.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE status IN ({marks}) "
                "ORDER BY created_at, execution_id",
                tuple(sorted(ACTIVE_EXECUTION_STATUSES)),
            ).fetchall()
        return [_execution(r) for r in rows]

    def list_steps(self, execution_id: str, query: ListQuery) -> Page[StepRecord]:
        return self._page(
            "steps",
            f"steps:{execution_id}",
            "start_order",
            "step_name",
            ["execution_id = ?"],
            [execution_id],
            query,
            _step,
            columns=_STEP_COLUMNS,
            time_filter_column=None,
        )

    # -- cache and callbacks ----------------------------------------------------------------------

    def find_cache_entry(self, pipeline_arn: str, cache_key: str, newer_than: datetime) -> CacheEntry | None:
        row = self._one(
            "SELECT body FROM cache_entries WHERE pipeline_arn = ? AND cache_key = ? AND completed_at >= ? "
            "ORDER BY completed_at DESC LIMIT 1",
            (pipeline_key(pipeline_arn), cache_key, timestamp(newer_than) if newer_than.year > 1 else ""),
        )
        return load(CacheEntry, row[0]) if row else None

    def get_callback(self, token: str) -> CallbackTokenRecord | None:
        row = self._one("SELECT body FROM callback_tokens WHERE token = ?", (token,))
        return load(CallbackTokenRecord, row[0]) if row else None

    # -- experiments ------------------------------------------------------------------------------

    def list_experiments(self, query: ListQuery) -> Page[ExperimentRecord]:
        return self._page_named("experiments", "experiments", ExperimentRecord, query)

    def list_trials(self, experiment_name: str | None, query: ListQuery) -> Page[TrialRecord]:
        listing = f"trials:{experiment_name or ''}"
        return self._page_named("trials", listing, TrialRecord, query, ("experiment_name", experiment_name))

    def list_trial_components(self, trial_name: str | None, query: ListQuery) -> Page[TrialComponentRecord]:
        listing = f"runs:{trial_name or ''}"
        return self._page_named(
            "trial_components", listing, TrialComponentRecord, query, ("trial_name", trial_name)
        )

    def record_run(self, run: TrialComponentRecord) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO trial_components (name, trial_name, created_at, body) VALUES (?, ?, ?, ?)",
                (run.name, run.trial_name, timestamp(run.created_at), dump(run)),
            )

    # -- idempotency ------------------------------------------------------------------------------

    def get_idempotency(self, token: str, operation: str) -> IdempotencyRecord | None:
        row = self._one("SELECT body FROM idempotency WHERE token = ? AND operation = ?", (token, operation))
        return load(IdempotencyRecord, row[0]) if row else None

    def put_idempotency(self, record: IdempotencyRecord) -> bool:
        with self._write() as conn:
            return self._insert_idempotency(conn, record)

    @staticmethod
    def _insert_idempotency(conn: sqlite3.Connection, record: IdempotencyRecord) -> bool:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO idempotency (token, operation, created_at, body) VALUES (?, ?, ?, ?)",
            (record.token, record.operation, timestamp(record.created_at), dump(record)),
        ).rowcount
        return bool(inserted)

    # -- tracking warnings ------------------------------------------------------------------------

    def add_tracking_warning(self, warning: TrackingWarningRecord) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO tracking_warnings (execution_id, body) VALUES (?, ?)",
                (warning.execution_id, dump(warning)),
            )

    def list_tracking_warnings(self, execution_id: str) -> list[TrackingWarningRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT body FROM tracking_warnings WHERE execution_id = ? ORDER BY seq", (execution_id,)
            ).fetchall()
        return [load(TrackingWarningRecord, row[0]) for row in rows]

    # -- the outbox -------------------------------------------------------------------------------

    def list_outbox(
        self, execution_id: str | None, limit: int = 100, skip: Collection[int] = ()
    ) -> list[OutboxRecord]:
        columns = (
            "SELECT o.execution_id, o.version, o.claimant, o.claimed_at, o.body, e.status FROM outbox o "
            "LEFT JOIN executions e ON e.execution_id = o.execution_id"
        )
        with self._read() as conn:
            if execution_id is None:
                rows = conn.execute(
                    f"{columns} ORDER BY o.execution_id, o.version LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = conn.execute(
                    f"{columns} WHERE o.execution_id = ? ORDER BY o.version LIMIT ?",
                    (execution_id, limit + len(skip)),
                ).fetchall()
        if skip:  # left out by their version (the rows' first two columns) before their bodies are read
            rows = [row for row in rows if row[1] not in skip][:limit]
        return [_outbox(row) for row in rows]

    def claim_outbox(self, record: OutboxRecord, claimant: str, now: datetime) -> OutboxRecord | None:
        claimed_record = record.model_copy(update={"claimant": claimant, "claimed_at": now, "settles": []})
        with self._write() as conn:
            claimed = conn.execute(
                "UPDATE outbox SET claimant = ?, claimed_at = ?, body = ? WHERE execution_id = ? "
                "AND version = ? AND claimant = ? AND claimed_at = ?",
                (
                    claimant,
                    timestamp(now),
                    dump(claimed_record),
                    record.execution_id,
                    record.version,
                    record.claimant,
                    timestamp(record.claimed_at),
                ),
            ).rowcount
        return claimed_record if claimed else None

    def delete_outbox(self, records: Sequence[OutboxRecord]) -> None:
        if not records:
            return
        with self._write() as conn:
            conn.executemany(
                "DELETE FROM outbox WHERE execution_id = ? AND version = ?",
                [(r.execution_id, r.version) for r in records],
            )

    # -- leases -----------------------------------------------------------------------------------

    def _take_lease(self, lease: LeaseRecord, holder: str, stale_before: datetime | None) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT owner, heartbeat_at FROM leases WHERE execution_id = ?", (lease.execution_id,)
            ).fetchone()
            fresh = row is not None and (stale_before is None or row[1] >= timestamp(stale_before))
            if fresh and row[0] != holder:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO leases (execution_id, owner, heartbeat_at) VALUES (?, ?, ?)",
                (lease.execution_id, lease.owner, timestamp(lease.heartbeat_at)),
            )
            return True

    def renew_lease(self, execution_id: str, owner: str, now: datetime) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    "UPDATE leases SET heartbeat_at = ? WHERE execution_id = ? AND owner = ?",
                    (timestamp(now), execution_id, owner),
                ).rowcount
            )

    def release_lease(self, execution_id: str, owner: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM leases WHERE execution_id = ? AND owner = ?", (execution_id, owner))

    def get_lease(self, execution_id: str) -> LeaseRecord | None:
        row = self._one("SELECT owner, heartbeat_at FROM leases WHERE execution_id = ?", (execution_id,))
        if row is None:
            return None
        return LeaseRecord(execution_id=execution_id, owner=row[0], heartbeat_at=parse_timestamp(row[1]))

    # -- internals --------------------------------------------------------------------------------

    def _page_named(
        self,
        table: str,
        listing: str,
        model: type[R],
        query: ListQuery,
        parent: tuple[str, str | None] = ("", None),
    ) -> Page[R]:
        """Named records (experiments, trials, runs) by creation time, then name; only those
        whose ``parent`` column (e.g. ``experiment_name``) holds its value, when one is given."""
        column, value = parent
        where, params = ([f"{column} = ?"], [value]) if value else ([], [])
        return self._page(
            table, listing, "created_at", "name", where, params, query, lambda row: load(model, row["body"])
        )

    def _page(
        self,
        table: str,
        listing: str,
        sort_column: str,
        id_column: str,
        where: Sequence[str],
        params: Sequence[Any],
        query: ListQuery,
        build: Callable[[sqlite3.Row], R],
        *,
        columns: str = "body",
        time_filter_column: str | None = "created_at",
    ) -> Page[R]:
        """Keyset pagination on (sort column, id): stable under concurrent inserts."""
        clauses = list(where)
        values = list(params)
        if time_filter_column and query.created_after is not None:
            clauses.append(f"{time_filter_column} > ?")
            values.append(timestamp(query.created_after))
        if time_filter_column and query.created_before is not None:
            clauses.append(f"{time_filter_column} < ?")
            values.append(timestamp(query.created_before))
        direction = "ASC" if query.ascending else "DESC"
        if query.next_token:
            last_sort, last_id = decode_token(listing, query.next_token)
            compare = ">" if query.ascending else "<"
            clauses.append(
                f"({sort_column} {compare} ? OR ({sort_column} = ? AND CAST({id_column} AS TEXT) {compare} ?))"
            )
            values.extend([last_sort, last_sort, last_id])
        sql = f"SELECT {columns}, {sort_column} AS sort_value, CAST({id_column} AS TEXT) AS id_value FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {sort_column} {direction}, CAST({id_column} AS TEXT) {direction} LIMIT ?"
        limit = max(1, query.limit)
        values.append(limit + 1)
        with self._pool.reader() as conn:
            conn.row_factory = sqlite3.Row
            try:
                rows = conn.execute(sql, values).fetchall()
            finally:
                conn.row_factory = None
        items = [build(row) for row in rows[:limit]]
        next_token = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = encode_token(listing, [str(last["sort_value"]), str(last["id_value"])])
        return Page(items=items, next_token=next_token)


_EXECUTION_COLUMNS = "body, definition, execution_id, status, version"
_STEP_COLUMNS = "body, execution_id, step_name, status, version"


def _execution(row: Sequence[Any]) -> ExecutionRecord:
    """An execution from the columns ``_EXECUTION_COLUMNS`` names, in that order."""
    body, definition, execution_id, status, version = (row[i] for i in range(5))
    return load(
        ExecutionRecord,
        body,
        definition=definition,
        execution_id=execution_id,
        status=status,
        version=version,
    )


def _step(row: Sequence[Any]) -> StepRecord:
    """A step record from the columns ``_STEP_COLUMNS`` names, in that order."""
    body, execution_id, step_name, status, version = (row[i] for i in range(5))
    return load(
        StepRecord, body, execution_id=execution_id, step_name=step_name, status=status, version=version
    )


def _outbox(row: Sequence[Any]) -> OutboxRecord:
    """An outbox row (joined with its execution's status: ``launched`` holds only while active)."""
    record = load(
        OutboxRecord,
        row[4],
        execution_id=row[0],
        version=row[1],
        claimant=row[2],
        claimed_at=parse_timestamp(row[3]),
    )
    return record if row[5] in ACTIVE_EXECUTION_STATUSES else record.model_copy(update={"launched": []})


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def open_store(config: Config) -> SQLiteStore:
    """The embedded store of a config (``<state_dir>/pipelines.sqlite``)."""
    return SQLiteStore(config.database_path)
