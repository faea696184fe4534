"""The cloud publisher: PutEvents on the deployment's custom event bus.

PutEvents takes at most 10 entries per call and reports failures per entry without raising;
failed entries (throttling, internal errors) are sent again once, and what still fails raises
:class:`PublishFailed`, so the engine Lambda's invocation fails and is retried rather than an
event being dropped silently. Entries keep the engine's order within each call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipelines.events.details import StatusEvent
from pipelines.events.errors import PublishFailed

MAX_ENTRIES_PER_CALL = 10
_ATTEMPTS = 2


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any) -> None:
        """``client`` is a boto3 ``events`` client (shared: clients are thread-safe)."""
        self.bus_name = bus_name
        self.client = client

    @classmethod
    def from_environment(cls, bus_name: str, *, region: str | None = None) -> EventBridgePublisher:
        import boto3

        return cls(bus_name, boto3.client("events", region_name=region))

    def entry(self, event: StatusEvent) -> dict[str, Any]:
        return {
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": json.dumps(event.detail, separators=(",", ":")),
            "Resources": list(event.resources),
            "Time": event.time,
            "EventBusName": self.bus_name,
        }

    def publish(self, events: Sequence[StatusEvent]) -> None:
        entries = [self.entry(e) for e in events]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self._put(entries[start : start + MAX_ENTRIES_PER_CALL])

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        errors: list[str] = []
        for _ in range(_ATTEMPTS):
            response = self.client.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return
            results = response["Entries"]
            failed = [(e, r) for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            errors = [
                f"{e['DetailType']}: {r['ErrorCode']} {r.get('ErrorMessage', '')}".strip() for e, r in failed
            ]
            pending = [e for e, _ in failed]
        raise PublishFailed(
            f"{len(pending)} status event(s) could not be put on event bus {self.bus_name}: "
            + "; ".join(errors)
        )
