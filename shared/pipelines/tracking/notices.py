"""Tracking warnings that outlive the process: what could not be logged, and why.

A tracking failure never fails a step, so it must be visible somewhere else: each dropped
write is appended to ``<state_dir>/tracking/warnings.jsonl`` with its execution and step, and
``pipelines steps`` prints the ones of the execution it shows (from any process).
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrackingWarning:
    execution_id: str
    step_name: str | None
    message: str
    time: str


def warnings_path(state_dir: Path) -> Path:
    return state_dir / "tracking" / "warnings.jsonl"


class WarningSink(Protocol):
    """Where dropped tracking writes are reported (a file embedded, the Lambda's log in the cloud)."""

    def add(self, execution_id: str, step_name: str | None, message: str) -> None: ...


class WarningLog:
    """Appends warnings to one JSON-lines file (one line per write, so processes can share it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, execution_id: str, step_name: str | None, message: str) -> None:
        entry = TrackingWarning(execution_id, step_name, message, datetime.now(UTC).isoformat())
        line = json.dumps(asdict(entry)) + "\n"
        with _LOCK:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as sink:
                sink.write(line)


def read_warnings(state_dir: Path, execution_id: str) -> list[TrackingWarning]:
    """The tracking warnings recorded for one execution, oldest first."""
    path = warnings_path(state_dir)
    if not path.exists():
        return []
    found: list[TrackingWarning] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
            if data.get("execution_id") == execution_id:
                found.append(TrackingWarning(**data))
        except (ValueError, TypeError):
            continue  # a torn last line of a process that died mid-write
    return found
