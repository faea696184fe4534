"""An engine that writes its decision and then dies: the crash a ClientRequestToken replay
must absorb (tests/cloud and tests/api make the API answer 500 with it)."""

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
