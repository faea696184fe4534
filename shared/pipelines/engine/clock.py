"""Time as the engine and the driver see it, injectable so tests never sleep for a backoff."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        """Wait up to ``seconds``; return early (True) if ``interrupt`` is set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        if interrupt is None:
            threading.Event().wait(max(seconds, 0.0))
            return False
        return interrupt.wait(max(seconds, 0.0))


class FakeClock:
    """A clock whose time moves only when told to, or when someone sleeps on it.

    ``sleep`` advances the fake time by the full amount at once but yields the real CPU for at
    most ``real_slice`` seconds, so a driver waiting out a 30 s retry backoff does so instantly
    while worker threads still get to run.
    """

    def __init__(self, start: datetime | None = None, real_slice: float = 0.002) -> None:
        self._now = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()
        self.real_slice = real_slice

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> bool:
        woke = (interrupt or threading.Event()).wait(min(max(seconds, 0.0), self.real_slice))
        if not woke:
            self.advance(max(seconds, 0.0))
        return woke
