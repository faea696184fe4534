"""The embedded publisher: one JSON line per event under the state directory.

Each line is the event exactly as an EventBridge rule target would receive it (``version``,
``id``, ``detail-type``, ``source``, ...), so a script can ``tail -f`` the file and reuse the
code it would run in the cloud; a status event's ``id`` is its change's stable id, so a reader
can drop the repeats at-least-once delivery may bring. Lines are appended with one ``write`` on a file opened for
appending, so concurrent writers in several processes do not interleave within a line.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import msgspec

from pipelines.config import Config
from pipelines.events.details import StatusEvent
from pipelines.events.errors import PublishFailed

EVENTS_FILE = Path("events") / "status-changes.jsonl"
_ENCODER = msgspec.json.Encoder()


def events_path(config: Config) -> Path:
    """Where the embedded runtime of ``config`` writes its status events."""
    return config.state_dir / EVENTS_FILE


class JsonLinesPublisher:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, config: Config) -> JsonLinesPublisher:
        return cls(events_path(config))

    def publish(self, events: Sequence[StatusEvent]) -> None:
        if not events:
            return
        # msgspec's encoder: compact UTF-8 JSON, as json.dumps writes it less its \u escapes, at
        # a fraction of its cost (one line per status change of every run)
        encode = _ENCODER.encode
        lines = b"".join(encode(event.envelope()) + b"\n" for event in events)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("ab") as handle:
                    handle.write(lines)
        except OSError as exc:
            raise PublishFailed(f"could not append status events to {self.path}: {exc}") from exc


def read_events(path: Path) -> list[dict[str, object]]:
    """Every event written to ``path`` so far, oldest first (for tools and tests)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
