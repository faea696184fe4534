"""The embedded runtime's job records: every local job's Describe*Job response, kept current.

A job is recorded InProgress when its runner starts it and rewritten when it ends (Completed,
Failed or Stopped), in exactly the shape its step's properties have (see :mod:`describe`), so
the API's Describe/List/Stop*Job operations, ``execution.result()`` and ``pipelines logs``
read what the engine read. A Stop*Job call marks the record; the process running the job
sees the mark (:meth:`JobRecords.stop_requested`) and stops it, whichever process that is.
Records live in the state database, in their own tables (component ``job_records`` of the
state file's migration ledger, :mod:`pipelines.sqlite_schema`).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pipelines.config import Config
from pipelines.runners.base import RunContext, StepRequest
from pipelines.runners.jobs.describe import (
    JOB_KINDS,
    JobTimes,
    job_description,
    model_artifacts_uri,
    training_fields,
)
from pipelines.runners.jobs.errors import JobStopped
from pipelines.sqlite_schema import SqliteComponent, connection, transaction

STOP_POLL_SECONDS = 0.25

COMPONENT = "job_records"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})

_MIGRATIONS = (
    """
    CREATE TABLE jobs (
        kind TEXT NOT NULL,
        name_key TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        parent TEXT,
        execution_arn TEXT,
        step_name TEXT,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        record TEXT NOT NULL,
        PRIMARY KEY (kind, name_key)
    );
    CREATE INDEX jobs_by_kind_created ON jobs (kind, created_at);
    CREATE INDEX jobs_by_execution ON jobs (execution_arn, step_name);
    """,
)


@dataclass(frozen=True)
class JobRecord:
    """One job: its kind (``ProcessingJob``...), name, Describe response and who ran it."""

    kind: str
    name: str
    status: str
    created_at: str
    describe: dict[str, Any]
    parent: str | None = None  # the tuning job a training trial belongs to
    execution_arn: str | None = None
    step_name: str | None = None
    stop_requested: bool = False


class JobRecords(SqliteComponent):
    """Thread- and process-safe: each call opens its own connection (SQLite WAL)."""

    component = COMPONENT
    migrations = _MIGRATIONS

    def put(
        self,
        kind: str,
        describe: Mapping[str, Any],
        *,
        parent: str | None = None,
        execution_arn: str | None = None,
        step_name: str | None = None,
        name: str | None = None,
        status: str | None = None,
    ) -> None:
        """Record (or rewrite) a job from its Describe response; a stop mark survives rewrites.

        A SageMaker job's name and status are read from its Describe response. A job of
        another service (an EMR step, an EMR Serverless job run: runners/spark) has no such
        members, so its runner passes ``name`` (the attempt's job name, which names its log)
        and ``status`` (one of InProgress, Completed, Failed, Stopped)."""
        if name is None or status is None:
            prefix = JOB_KINDS[kind].prefix
            name = str(describe[f"{prefix}Name"]) if name is None else name
            status = str(describe[f"{prefix}Status"]) if status is None else status
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute(
                "INSERT INTO jobs (kind, name_key, name, status, created_at, parent, execution_arn, step_name, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name_key) DO UPDATE SET "
                "status = excluded.status, record = excluded.record, "
                "parent = COALESCE(excluded.parent, jobs.parent), "
                "execution_arn = COALESCE(excluded.execution_arn, jobs.execution_arn), "
                "step_name = COALESCE(excluded.step_name, jobs.step_name)",
                (
                    kind,
                    name.lower(),
                    name,
                    status,
                    str(describe.get("CreationTime", "")),
                    parent.lower() if parent else None,
                    execution_arn,
                    step_name,
                    json.dumps(dict(describe), default=str),
                ),
            )

    def get(self, kind: str, name: str) -> JobRecord | None:
        """A job by name; names are matched case-insensitively, as job ARNs carry them lower-cased."""
        with connection(self.database_path) as conn:
            row = conn.execute(
                "SELECT * FROM jobs WHERE kind = ? AND name_key = ?", (kind, name.lower())
            ).fetchone()
        return None if row is None else _record(row)

    def of_kind(self, kind: str, *, parent: str | None = None) -> list[JobRecord]:
        """Every job of a kind (or every trial of one tuning job), oldest first."""
        query = "SELECT * FROM jobs WHERE kind = ?"
        args: tuple[Any, ...] = (kind,)
        if parent is not None:
            query += " AND parent = ?"
            args += (parent.lower(),)
        with connection(self.database_path) as conn:
            rows = conn.execute(query + " ORDER BY created_at, name", args).fetchall()
        return [_record(row) for row in rows]

    def for_execution(self, execution_arn: str, step_name: str | None = None) -> list[JobRecord]:
        """The jobs an execution ran (every attempt, tuning trials included), oldest first."""
        query = "SELECT * FROM jobs WHERE execution_arn = ?"
        args: tuple[Any, ...] = (execution_arn,)
        if step_name is not None:
            query += " AND step_name = ?"
            args += (step_name,)
        with connection(self.database_path) as conn:
            rows = conn.execute(query + " ORDER BY created_at, name", args).fetchall()
        return [_record(row) for row in rows]

    def request_stop(self, kind: str, name: str) -> JobRecord | None:
        """Mark a running job to be stopped and show it Stopping; the record after the change,
        or the unchanged record if the job had already ended (None if there is no such job)."""
        prefix = JOB_KINDS[kind].prefix
        with connection(self.database_path) as conn, transaction(conn):
            row = conn.execute(
                "SELECT * FROM jobs WHERE kind = ? AND name_key = ?", (kind, name.lower())
            ).fetchone()
            if row is None:
                return None
            record = _record(row)
            if record.status in TERMINAL:
                return record
            describe = {**record.describe, f"{prefix}Status": "Stopping"}
            if kind == "TrainingJob":
                describe["SecondaryStatus"] = "Stopping"
            conn.execute(
                "UPDATE jobs SET stop_requested = 1, status = 'Stopping', record = ? "
                "WHERE kind = ? AND name_key = ?",
                (json.dumps(describe, default=str), kind, name.lower()),
            )
        return JobRecord(
            **{**record.__dict__, "status": "Stopping", "describe": describe, "stop_requested": True}
        )

    def stop_requested(self, kind: str, name: str) -> bool:
        with connection(self.database_path) as conn:
            row = conn.execute(
                "SELECT stop_requested FROM jobs WHERE kind = ? AND name_key = ?", (kind, name.lower())
            ).fetchone()
        return bool(row and row["stop_requested"])


def _record(row: Any) -> JobRecord:
    return JobRecord(
        kind=row["kind"],
        name=row["name"],
        status=row["status"],
        created_at=row["created_at"],
        describe=dict(json.loads(row["record"])),
        parent=row["parent"],
        execution_arn=row["execution_arn"],
        step_name=row["step_name"],
        stop_requested=bool(row["stop_requested"]),
    )


def _description(
    config: Config, kind: str, request: StepRequest, times: JobTimes, status: str, reason: str | None = None
) -> dict[str, Any]:
    arguments = request.arguments if isinstance(request.arguments, Mapping) else {}
    extras: dict[str, Any] = {}
    if kind == "TrainingJob":
        extras = training_fields(
            times,
            secondary_status={"InProgress": "Starting"}.get(status, status),
            model_artifacts=model_artifacts_uri(arguments, request.job_name),
            hyperparameters=arguments.get("HyperParameters"),
        )
    elif kind == "TuningJob":
        extras = {
            "TrainingJobStatusCounters": {
                "Completed": 0,
                "InProgress": 0,
                "RetryableError": 0,
                "NonRetryableError": 0,
                "Stopped": 0,
            },
            "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
        }
    return job_description(
        config, kind, request, arguments, times, status=status, failure_reason=reason, **extras
    )


@dataclass
class TrackedJob:
    """A job being run: ``ctx`` is the runner's context with a cancel event that also fires on a
    Stop*Job call; ``completed`` records the job's final Describe response."""

    records: JobRecords
    kind: str
    request: StepRequest
    ctx: RunContext
    times: JobTimes
    parent: str | None
    started: dict[str, Any]
    done: bool = False

    def completed(self, describe: Mapping[str, Any]) -> None:
        # The job was created when it was first recorded: a runner's own later clock must not
        # move CreationTime (the job's Logs stream is named after it, and readers tail it).
        final = {**self.started, **describe, "CreationTime": self.started["CreationTime"]}
        self.records.put(self.kind, final, parent=self.parent)
        self.done = True


@contextmanager
def tracked_job(
    records: JobRecords, kind: str, request: StepRequest, ctx: RunContext, *, parent: str | None = None
) -> Iterator[TrackedJob]:
    """Record the job InProgress, stop it when a Stop*Job call marks it, and record how it
    ended: the Describe response given to :meth:`TrackedJob.completed`, or Failed/Stopped with
    the error as FailureReason when the body raises."""
    times = JobTimes()
    started = _description(ctx.config, kind, request, times, "InProgress")
    records.put(
        kind, started, parent=parent, execution_arn=request.execution_arn, step_name=request.step_name
    )
    cancel = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        while not cancel.is_set():
            if ctx.cancel.is_set() or records.stop_requested(kind, request.job_name):
                cancel.set()
                return
            if finished.wait(STOP_POLL_SECONDS):
                return

    watcher = threading.Thread(target=watch, name=f"job-stop-{request.job_name}", daemon=True)
    watcher.start()
    job = TrackedJob(records, kind, request, dataclasses.replace(ctx, cancel=cancel), times, parent, started)
    try:
        yield job
    except BaseException as exc:
        times.end()
        stopped = isinstance(exc, JobStopped) or cancel.is_set()
        status = "Stopped" if stopped else "Failed"
        records.put(kind, _description(ctx.config, kind, request, times, status, str(exc)), parent=parent)
        raise
    finally:
        finished.set()
        watcher.join()
