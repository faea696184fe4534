"""The EventBridge Scheduler subset: schedules whose target is one of our pipelines.

The SageMaker SDK's ``Pipeline.put_triggers / describe_trigger / delete_triggers`` call
UpdateSchedule (then CreateSchedule on ResourceNotFoundException), GetSchedule and
DeleteSchedule; with ``AWS_ENDPOINT_URL_SCHEDULER`` pointing at ``pipelines serve`` they land
here. :class:`SchedulerBackend` is the one interface: :class:`LocalScheduler` keeps schedules in
SQLite and fires them from a thread of the server; the cloud implementation forwards to the
real EventBridge Scheduler targeting the trigger Lambda.

Both backends check a written schedule with :mod:`pipelines.triggers.schedule_requests` (the
target must be a pipeline the account may start, and every parameter must end up with a value)
and start executions through one :data:`~pipelines.triggers.fire.StartExecution`
(:func:`~pipelines.triggers.fire.operations_starter`): as the schedule's account, so RAM shares
apply, with the target's parameters over the definition's defaults and a ClientRequestToken
derived from the schedule and the occurrence
(:func:`~pipelines.triggers.targets.schedule_token`), so an occurrence never starts two
executions. Only the ``default`` schedule group exists. ``RetryPolicy`` is echoed but a failed
start is not retried locally (it is logged); ``DeadLetterConfig`` and ``KmsKeyArn`` are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

from pipelines.api.errors import ServiceError
from pipelines.api.ops.access import SharingPolicy
from pipelines.api.ops.context import page_of
from pipelines.api.schedule_expressions import At, Rate, parse_schedule_expression, time_zone
from pipelines.api.wire import CallContext, Handler
from pipelines.engine import Clock, SystemClock
from pipelines.engine.pipelines import attach
from pipelines.errors import PipelinesError
from pipelines.sqlite_schema import migrate, numbered
from pipelines.store import PipelineRecord, Store
from pipelines.triggers.fire import StartExecution
from pipelines.triggers.schedule_requests import (
    DEFAULT_GROUP,
    check_schedule_request,
    schedule_group,
    schedule_not_found,
)
from pipelines.triggers.targets import schedule_token
from pipelines.triggers.validation import being_deleted

log = logging.getLogger(__name__)

DEFAULT_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
_PRECISION = dt.timedelta(seconds=60)  # EventBridge Scheduler invokes targets within the minute
_KMS_REFUSAL = "the local scheduler keeps schedules unencrypted in its state directory"


class SchedulerBackend(Protocol):
    """The five Scheduler operations, request dict in, response dict out, per account."""

    def create_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]: ...

    def update_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]: ...

    def get_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]: ...

    def delete_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]: ...

    def list_schedules(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]: ...

    def delete_schedules_for_target(self, pipeline_arn: str) -> int:
        """Drop every schedule that targets a pipeline (called when the pipeline is deleted).
        A schedule write checks its target again after writing and undoes itself when the
        target is being deleted (``pipelines.engine.pipelines.attach``), so one written while
        this runs is not left behind either."""
        ...


def scheduler_handlers(backend: SchedulerBackend) -> dict[str, Handler]:
    return {
        "CreateSchedule": backend.create_schedule,
        "UpdateSchedule": backend.update_schedule,
        "GetSchedule": backend.get_schedule,
        "DeleteSchedule": backend.delete_schedule,
        "ListSchedules": backend.list_schedules,
    }


# Script 1 says IF NOT EXISTS: files written before the migration ledger already hold its tables.
_MIGRATIONS = numbered(
    "schedules",
    (
        """
CREATE TABLE IF NOT EXISTS schedules (
    account TEXT NOT NULL,
    group_name TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    target_arn TEXT NOT NULL,
    next_fire REAL,
    PRIMARY KEY (account, group_name, name)
);
CREATE INDEX IF NOT EXISTS schedules_next_fire ON schedules (next_fire);
CREATE INDEX IF NOT EXISTS schedules_target ON schedules (target_arn);
""",
    ),
)


_COLUMNS = "account, group_name, name, body, target_arn, next_fire"


class LocalScheduler:
    """Schedules in SQLite (``<state_dir>/schedules.sqlite``), fired by :meth:`fire_due`."""

    def __init__(
        self,
        database: Path,
        store: Store,
        start_execution: StartExecution,
        *,
        clock: Clock | None = None,
        sharing: SharingPolicy | None = None,
    ) -> None:
        database.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(database), check_same_thread=False, isolation_level=None)
        migrate(self._db, "schedules", _MIGRATIONS)
        self._lock = threading.RLock()
        self.store = store
        self.start_execution = start_execution
        self.clock = clock or SystemClock()
        self.sharing = sharing

    # -- writes -----------------------------------------------------------------------------
    def create_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._write(params, ctx, create=True)

    def update_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._write(params, ctx, create=False)

    def _write(self, params: dict[str, Any], ctx: CallContext, *, create: bool) -> dict[str, Any]:
        group = self._group(params)
        name = params["Name"]
        now = self.clock.now()
        body, pipeline = self._checked(params, ctx, group)
        with self._lock:
            key = (ctx.account_id, group, name)
            previous = self._db.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE account = ? AND group_name = ? AND name = ?", key
            ).fetchone()
            if create and previous is not None:
                raise ServiceError("ConflictException", f"Schedule {name} already exists.", 409)
            if not create and previous is None:
                raise schedule_not_found(name)
            created = json.loads(previous[3])["CreationDate"] if previous else now.timestamp()
            body.update(
                Arn=f"arn:aws:scheduler:{ctx.region}:{ctx.account_id}:schedule/{group}/{name}",
                CreationDate=created,
                LastModificationDate=now.timestamp(),
            )
            row = (
                *key,
                json.dumps(body),
                body["Target"]["Arn"].lower(),
                self._next_fire(body, now, written=True),
            )

            def undo() -> None:  # the target is going: the schedule as it was before this call
                self._db.execute(
                    "DELETE FROM schedules WHERE account = ? AND group_name = ? AND name = ?", key
                )
                if previous is not None and previous[4] != pipeline.arn.lower():
                    self._db.execute(
                        f"INSERT INTO schedules ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", previous
                    )

            attach(
                self.store,
                [pipeline],
                lambda: self._db.execute(
                    f"INSERT OR REPLACE INTO schedules ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row
                ),
                undo,
                being_deleted,
            )
        return {"ScheduleArn": body["Arn"]}

    def _checked(
        self, params: dict[str, Any], ctx: CallContext, group: str
    ) -> tuple[dict[str, Any], PipelineRecord]:
        checked = check_schedule_request(
            params, ctx.account_id, self.store, self.sharing, kms_refusal=_KMS_REFUSAL
        )
        target = dict(params["Target"])
        target.setdefault("RetryPolicy", dict(DEFAULT_RETRY_POLICY))
        target.setdefault("SageMakerPipelineParameters", {})
        start, end = params.get("StartDate"), params.get("EndDate")
        return {
            "Name": params["Name"],
            "GroupName": group,
            "ScheduleExpression": checked.expression.text,
            "ScheduleExpressionTimezone": params.get("ScheduleExpressionTimezone", "UTC"),
            "StartDate": start.timestamp() if start else None,
            "EndDate": end.timestamp() if end else None,
            "Description": params.get("Description"),
            "State": params.get("State", "ENABLED"),
            "Target": target,
            "FlexibleTimeWindow": dict(params["FlexibleTimeWindow"]),
            "ActionAfterCompletion": params.get("ActionAfterCompletion", "NONE"),
        }, checked.pipeline

    def _group(self, params: dict[str, Any]) -> str:
        return schedule_group(params)

    # -- reads ------------------------------------------------------------------------------
    def _row(self, account: str, group: str, name: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT body FROM schedules WHERE account = ? AND group_name = ? AND name = ?",
            (account, group, name),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        with self._lock:
            body = self._row(ctx.account_id, self._group(params), params["Name"])
        if body is None:
            raise schedule_not_found(params["Name"])
        return _with_datetimes(body)

    def delete_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        group = self._group(params)
        with self._lock:
            deleted = self._db.execute(
                "DELETE FROM schedules WHERE account = ? AND group_name = ? AND name = ?",
                (ctx.account_id, group, params["Name"]),
            ).rowcount
        if not deleted:
            raise schedule_not_found(params["Name"])
        return {}

    def list_schedules(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM schedules WHERE account = ? ORDER BY group_name, name", (ctx.account_id,)
            ).fetchall()
        bodies = [json.loads(r[0]) for r in rows]
        bodies = [
            b
            for b in bodies
            if b["GroupName"] == params.get("GroupName", b["GroupName"])
            and b["Name"].startswith(params.get("NamePrefix", ""))
            and b["State"] == params.get("State", b["State"])
        ]
        items, token = page_of(bodies, {"MaxResults": 100, **params}, f"schedules:{ctx.account_id}")
        summaries = [
            {
                "Arn": b["Arn"],
                "Name": b["Name"],
                "GroupName": b["GroupName"],
                "State": b["State"],
                "CreationDate": _moment(b["CreationDate"]),
                "LastModificationDate": _moment(b["LastModificationDate"]),
                "Target": {"Arn": b["Target"]["Arn"]},
            }
            for b in items
        ]
        return {"Schedules": summaries, "NextToken": token}

    def delete_schedules_for_target(self, pipeline_arn: str) -> int:
        with self._lock:
            return int(
                self._db.execute(
                    "DELETE FROM schedules WHERE target_arn = ?", (pipeline_arn.lower(),)
                ).rowcount
            )

    # -- firing -----------------------------------------------------------------------------
    def _next_fire(self, body: dict[str, Any], after: dt.datetime, *, written: bool = False) -> float | None:
        """The next occurrence strictly after ``after`` within the schedule's window.

        A rate schedule's occurrences are StartDate (default: creation) plus whole periods, the
        first one included: written with a StartDate within the last minute (the SDK's
        ``put_triggers`` sends "now"), it fires at once. Scheduler invokes with 60-second
        precision, and the SDK's ``test_triggers.py::test_pipeline_scheduler_using_training_step``
        counts on that first invocation (more than 3 executions from at/rate(2 minutes)/cron
        schedules within 3 minutes)."""
        if body["State"] != "ENABLED":
            return None
        expression = parse_schedule_expression(body["ScheduleExpression"], body["ScheduleExpressionTimezone"])
        if written and isinstance(expression, Rate):
            after = after - _PRECISION
        start = _moment(body["StartDate"]) or _moment(body["CreationDate"]) or after
        moment = max(after, start - dt.timedelta(microseconds=1))
        found = expression.next_after(moment, start)
        end = _moment(body["EndDate"])
        if found is None or (end is not None and found > end):
            return None
        return found.timestamp()

    def next_fires(self, account: str) -> dict[str, dt.datetime]:
        """Schedule name -> its next occurrence, for the account's enabled schedules."""
        with self._lock:
            rows = self._db.execute(
                "SELECT name, next_fire FROM schedules WHERE account = ? AND next_fire IS NOT NULL",
                (account,),
            ).fetchall()
        return {name: dt.datetime.fromtimestamp(fire, dt.UTC) for name, fire in rows}

    def next_due(self) -> dt.datetime | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(next_fire) FROM schedules WHERE next_fire IS NOT NULL"
            ).fetchone()
        return None if row is None or row[0] is None else dt.datetime.fromtimestamp(row[0], dt.UTC)

    def fire_due(self) -> list[str]:
        """Start every schedule due by the clock's now (each occurrence once); returns the
        execution ARNs started. Missed occurrences are not backfilled: one start, then the next
        occurrence after now, as EventBridge Scheduler does after an outage."""
        now = self.clock.now()
        with self._lock:
            due = self._db.execute(
                "SELECT account, group_name, name, body, next_fire FROM schedules WHERE next_fire <= ?",
                (now.timestamp(),),
            ).fetchall()
        started = []
        for account, group, name, raw, next_fire in due:
            body = json.loads(raw)
            occurrence = dt.datetime.fromtimestamp(next_fire, dt.UTC)
            token = schedule_token(body["Arn"], occurrence.isoformat())
            parameters = (
                body["Target"].get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
            )
            try:
                started.append(self.start_execution(account, body["Target"]["Arn"], parameters, token))
            except PipelinesError as error:
                log.error("schedule %s could not start %s: %s", body["Arn"], body["Target"]["Arn"], error)
            self._advance(account, group, name, body, now)
        return started

    def _advance(self, account: str, group: str, name: str, body: dict[str, Any], now: dt.datetime) -> None:
        expression = parse_schedule_expression(body["ScheduleExpression"], body["ScheduleExpressionTimezone"])
        with self._lock:
            if isinstance(expression, At) and body["ActionAfterCompletion"] == "DELETE":
                self._db.execute(
                    "DELETE FROM schedules WHERE account = ? AND group_name = ? AND name = ?",
                    (account, group, name),
                )
                return
            self._db.execute(
                "UPDATE schedules SET next_fire = ? WHERE account = ? AND group_name = ? AND name = ?",
                (self._next_fire(body, now), account, group, name),
            )

    def close(self) -> None:
        with self._lock:  # never under a query of the firing thread (SQLite would crash)
            self._db.close()


class SchedulerThread:
    """Fires due schedules in the background of ``pipelines serve``."""

    def __init__(self, scheduler: LocalScheduler, *, poll_seconds: float = 1.0) -> None:
        self.scheduler = scheduler
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pipelines-scheduler", daemon=True)

    def start(self) -> SchedulerThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.scheduler.fire_due()
            except Exception:  # keep firing the other schedules
                log.exception("the local scheduler failed to fire due schedules")
            due = self.scheduler.next_due()
            wait = self.poll_seconds
            if due is not None:
                wait = min(wait, max((due - self.scheduler.clock.now()).total_seconds(), 0.0))
            self.scheduler.clock.sleep(wait, self._stop)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _moment(value: float | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


def _with_datetimes(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    for key in ("StartDate", "EndDate", "CreationDate", "LastModificationDate"):
        out[key] = _moment(out.get(key))
    return {k: v for k, v in out.items() if v is not None}


__all__ = [
    "DEFAULT_GROUP",
    "LocalScheduler",
    "SchedulerBackend",
    "SchedulerThread",
    "StartExecution",
    "scheduler_handlers",
    "time_zone",
]
