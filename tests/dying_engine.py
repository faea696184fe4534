"""An engine that writes its decision and then dies (the crash a ClientRequestToken replay
must absorb: tests/cloud and tests/api make the API answer 500 with it), and the attempts a
boto3 client makes, its own retries included."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.engine import Engine, Outcome


def dies_once_after_writing(monkeypatch: pytest.MonkeyPatch, engine: Engine, method: str) -> list[Outcome]:
    """Make ``engine.<method>`` write its decision and then fail, the first time only (as a
    process that ran out of memory right after its transaction); the list holds the outcome
    that first call wrote."""
    real = getattr(engine, method)
    written: list[Outcome] = []

    def die_after_writing(*args: Any, **kwargs: Any) -> Outcome:
        outcome = real(*args, **kwargs)
        if not written:
            written.append(outcome)
            raise MemoryError(f"ran out of memory after writing the {method}")
        return outcome

    monkeypatch.setattr(engine, method, die_after_writing)
    return written


Attempts = list[tuple[int, str]]


def attempts_at(client: Any, operation: str) -> Attempts:
    """The (HTTP status, error code) of each attempt ``client`` makes at ``operation``, its own
    retries included, as they happen."""
    attempts: Attempts = []

    def record(response: Any, **_: Any) -> None:
        if response is not None:
            http, parsed = response
            attempts.append((http.status_code, parsed.get("Error", {}).get("Code", "")))

    client.meta.events.register(f"needs-retry.sagemaker.{operation}", record)
    return attempts
