"""Time as the engine and the driver see it, injectable so tests never sleep for a backoff."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(
        self, seconds: float | None, interrupt: threading.Event | None = None, real_limit: float | None = None
    ) -> bool:
        """Wait until ``seconds`` of clock time passed (None: no clock deadline), at most
        ``real_limit`` real seconds; return True as soon as ``interrupt`` is set."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(
        self, seconds: float | None, interrupt: threading.Event | None = None, real_limit: float | None = None
    ) -> bool:
        limits = [max(x, 0.0) for x in (seconds, real_limit) if x is not None]
        timeout = min(limits) if limits else None
        return (interrupt or threading.Event()).wait(timeout)


class FakeClock:
    """A clock whose time moves only when told to, or when someone sleeps on it.

    ``sleep`` with a clock deadline jumps the fake time there after yielding the real CPU for at
    most ``real_slice`` seconds, so a driver waiting out a 30 min retry backoff does so at once
    while worker threads still get to run. Without a clock deadline it only waits real time.
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

    def sleep(
        self, seconds: float | None, interrupt: threading.Event | None = None, real_limit: float | None = None
    ) -> bool:
        event = interrupt or threading.Event()
        if seconds is None:
            return event.wait(real_limit)
        real = self.real_slice if real_limit is None else min(self.real_slice, max(real_limit, 0.0))
        woke = event.wait(real)
        if not woke:
            self.advance(max(seconds, 0.0))
        return woke
