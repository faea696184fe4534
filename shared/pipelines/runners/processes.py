"""The processes a step starts: tied to their driver's life, and identifiable after it died.

A local job or Lambda handler runs as a child of the process that drives the execution
(``pipelines run``, ``pipelines serve``, ``pipelines resume``). Each child starts a session of
its own (so a stop or timeout can signal everything it started), which also means it would not
get the terminal's signals, nor die when its driver dies. Two defences keep a step from
running twice at once after a driver crashes:

1. **Dying with the driver.** :func:`tied_to_driver` prefixes the command with ``setpriv
   --pdeathsig KILL`` (util-linux, like the ``unshare`` jobs already need): the kernel sends the
   child SIGKILL the moment the thread that started it ends, which for our runners is when the
   driver process dies (the starting thread waits for the child for as long as it runs). For a
   job the child is ``unshare --kill-child``, so its whole PID namespace goes with it.
2. **Adoption.** Whatever escapes (a Lambda handler's own children, which keep the handler's
   session; a child forked in the instant before the death signal was armed) is found again
   from its :class:`ProcessIdentity`, which the driver records in the state database when the
   child starts (runtime/attempt_processes.py). ``resume`` and ``stop`` end those survivors
   (SIGTERM, then SIGKILL after a grace period) before the engine decides anything.

A process is identified by pid, start time (clock ticks after boot, from ``/proc/<pid>/stat``)
and boot id, so a recycled pid is never mistaken for the child: a process whose start time
differs is someone else's.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROC = Path("/proc")
_BOOT_ID = PROC / "sys" / "kernel" / "random" / "boot_id"
TERMINATE_GRACE_SECONDS = 5.0  # SIGTERM first, SIGKILL after this long (as a stopped job gets)
_REAP_TIMEOUT_SECONDS = 10.0  # how long SIGKILLed processes may take to disappear


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, unambiguously: pid, start time in clock ticks after boot, and the boot."""

    pid: int
    start_time: int
    boot_id: str


@dataclass(frozen=True)
class _Stat:
    pid: int
    state: str
    session: int
    start_time: int


def _stat(pid: int) -> _Stat | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ... starttime(22nd)": comm may hold spaces and ")"
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20:
        return None
    return _Stat(pid=pid, state=fields[0], session=int(fields[3]), start_time=int(fields[19]))


@functools.cache
def boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


def identify(pid: int) -> ProcessIdentity | None:
    """The identity of a live process, or None if it is gone already."""
    stat = _stat(pid)
    if stat is None or stat.state in ("Z", "X"):
        return None
    return ProcessIdentity(pid=pid, start_time=stat.start_time, boot_id=boot_id())


def survivors(identity: ProcessIdentity) -> list[int]:
    """Live processes of the session ``identity`` led: the leader itself if it still runs, and
    any process that stayed in its session (started no earlier than the leader).

    The kernel never hands out a pid that is still some live process's session id, so while
    any member lives the session id still names the leader's session."""
    if identity.boot_id != boot_id():
        return []  # the machine restarted since: nothing of that boot runs any more
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if (
            stat is not None
            and stat.state not in ("Z", "X")
            and stat.session == identity.pid
            and stat.start_time >= identity.start_time
        ):
            found.append(stat.pid)
    return sorted(found)


def terminate(identity: ProcessIdentity, grace: float = TERMINATE_GRACE_SECONDS) -> list[int]:
    """End every survivor of ``identity``'s session as a stopped job ends: SIGTERM, then SIGKILL
    to whatever still runs after ``grace`` seconds. Returns the pids that were signalled and
    comes back only when they are gone (or after a bounded wait for SIGKILLed ones)."""
    signalled = survivors(identity)
    if not signalled:
        return []
    _signal_all(signalled, signal.SIGTERM)
    if not _gone(identity, grace):
        _signal_all(survivors(identity), signal.SIGKILL)
        _gone(identity, _REAP_TIMEOUT_SECONDS)
    return signalled


def _signal_all(pids: list[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _gone(identity: ProcessIdentity, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while survivors(identity):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@functools.cache
def _setpriv() -> str | None:
    return shutil.which("setpriv")


def tied_to_driver(argv: list[str]) -> list[str]:
    """``argv`` run so that the kernel kills it (SIGKILL) when the starting thread ends.

    Without ``setpriv`` (util-linux) the command runs as given; adoption (see the module
    docstring) still ends it on the next ``resume`` or ``stop``."""
    setpriv = _setpriv()
    if setpriv is None:
        return list(argv)
    return [setpriv, "--pdeathsig", "KILL", "--", *argv]


def log_recording_failure(pid: int) -> None:
    """A child's identity could not be recorded: it still dies with its driver, but a later
    ``resume`` or ``stop`` cannot find it if it escaped. Logged, never raised: the step runs."""
    log.exception("could not record the identity of step process %s", pid)
