"""Tracking warnings that outlive the process: what could not be logged, and why.

A tracking failure never fails a step, so it must be visible somewhere else: each dropped
write is a :class:`~pipelines.store.base.TrackingWarningRecord` in the runtime's store (SQLite
embedded, DynamoDB in the cloud), with its execution and step. ``pipelines steps`` prints the
ones of the execution it shows, whichever process or Lambda dropped them; the cloud's engine
also writes each one to its log (CloudWatch Logs), where an alarm or a search can find it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from pipelines.store.base import Store, TrackingWarningRecord

log = logging.getLogger(__name__)


class WarningSink(Protocol):
    """Where dropped tracking writes are reported."""

    def add(self, execution_id: str, step_name: str | None, message: str) -> None: ...


class StoreWarnings:
    """Keeps each warning in the store (both runtimes); with ``also_log`` (the cloud's engine)
    it is a log line too, with the execution id and step name. A store that cannot take it
    (down, throttled) loses the warning, never the run."""

    def __init__(self, store: Store, *, also_log: bool = False) -> None:
        self.store = store
        self.also_log = also_log

    def add(self, execution_id: str, step_name: str | None, message: str) -> None:
        if self.also_log:
            log.warning(
                "tracking warning: %s",
                message,
                extra={"execution_id": execution_id, "step_name": step_name or ""},
            )
        record = TrackingWarningRecord(
            execution_id=execution_id, step_name=step_name, message=message, at=datetime.now(UTC)
        )
        try:
            self.store.add_tracking_warning(record)
        except Exception:
            log.exception("could not keep a tracking warning of execution %s in the store", execution_id)


def read_warnings(store: Store, execution_id: str) -> list[TrackingWarningRecord]:
    """The tracking warnings recorded for one execution, oldest first."""
    return store.list_tracking_warnings(execution_id)


def warning_json(warning: TrackingWarningRecord) -> dict[str, Any]:
    """One warning as ``pipelines steps --json`` shows it (``TrackingWarnings``)."""
    return {
        "execution_id": warning.execution_id,
        "step_name": warning.step_name,
        "message": warning.message,
        "time": warning.at.isoformat(),
    }
