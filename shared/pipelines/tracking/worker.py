"""A background worker for writes to a remote system that must never hold up the caller.

Tasks run one at a time, urgent ones (a job start waits for them) first, the rest in order.
Bounded in every direction: the queue has a capacity (a full queue drops the new task), each
task is tried a few times with backoff, and closing waits at most a given time. While the
destination keeps failing, tasks get a single try and no backoff, so a server that is down
drains the queue at once instead of piling up waits. Every dropped task is reported to
``on_drop`` with the reason, never raised.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """One unit of work, labelled for the warning if it is dropped."""

    execution_id: str
    step_name: str | None
    what: str  # e.g. "create the run of step Train"
    work: Callable[[], None]
    urgent: bool = False  # someone may be waiting for it (a job's start): goes before the rest


Dropped = Callable[[Task, str], None]


class BackgroundWorker:
    def __init__(
        self,
        name: str,
        on_drop: Dropped,
        *,
        capacity: int = 10_000,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.on_drop = on_drop
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.healthy = True  # False from a failed try until a task succeeds
        self._busy = False
        # (priority, sequence, task): urgent 0, normal 1, the closing sentinel 2; FIFO within one
        self._queue: queue.PriorityQueue[tuple[int, int, Task | None]] = queue.PriorityQueue(maxsize=capacity)
        self._sequence = itertools.count()
        self._abandon = threading.Event()
        self._name = name
        self._thread: threading.Thread | None = None  # started by the first task
        self._start_lock = threading.Lock()

    def submit(self, task: Task) -> bool:
        """Queue ``task``; False (and the task dropped) when the queue is full or closed."""
        if self._abandon.is_set():
            self._drop(task, "the tracking worker was closed")
            return False
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((0 if task.urgent else 1, next(self._sequence), task))
        except queue.Full:
            self._drop(task, "too many tracking writes are waiting (the server is slow or down)")
            return False
        return True

    def close(self, timeout: float) -> None:
        """Finish what is queued for at most ``timeout`` seconds; drop the rest."""
        with self._start_lock:
            thread = self._thread
        if thread is not None:
            deadline = time.monotonic() + max(timeout, 0.0)
            with contextlib.suppress(queue.Full):
                self._queue.put((2, next(self._sequence), None), timeout=max(timeout, 0.0))
            thread.join(max(deadline - time.monotonic(), 0.0))
        self._abandon.set()
        while True:
            try:
                _priority, _sequence, task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task is not None:
                self._drop(task, f"not written within {timeout:g} s of the process ending")

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing running: the worker has caught up."""
        return not self._busy and self._queue.empty()

    def _loop(self) -> None:
        while True:
            _priority, _sequence, task = self._queue.get()
            if task is None:
                return
            if self._abandon.is_set():
                self._drop(task, "the tracking worker was closed")
                continue
            self._busy = True
            try:
                self._run(task)
            finally:
                self._busy = False

    def _run(self, task: Task) -> None:
        tries = self.attempts if self.healthy else 1  # a failing destination gets one try per task
        for attempt in range(1, tries + 1):
            try:
                task.work()
            except Exception as exc:
                self.healthy = False  # whoever waits on this worker stops waiting now
                reason = f"{type(exc).__name__}: {exc}"
                log.debug("tracking write failed (%s, try %d of %d): %s", task.what, attempt, tries, reason)
                if attempt < tries and not self._abandon.is_set():
                    time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                    continue
                self._drop(task, reason)
                return
            self.healthy = True
            return

    def _drop(self, task: Task, reason: str) -> None:
        try:
            self.on_drop(task, reason)
        except Exception:
            log.exception("could not record a dropped tracking write (%s)", task.what)
