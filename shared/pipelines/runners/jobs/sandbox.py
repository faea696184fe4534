"""Run one job process with its own ``/opt/ml``, the way a SageMaker container sees it.

Scripts hard-code ``/opt/ml/processing/input`` or ``/opt/ml/model``; two jobs running at once
must each see their own. Each job gets a private mount namespace (``unshare``) in which the
job's staged tree ``<job_root>/opt/ml`` is bind-mounted over ``/opt/ml``, plus a private PID
namespace so that stopping the job kills every process it started, even those that called
``setsid``: when the namespace's first process dies the kernel kills the rest, and the mount
namespace goes with them, so nothing stays mounted after success, failure, stop or timeout.

As root the host's ``/opt/ml`` is created once as the mount point. Without root a user
namespace (``unshare --user --map-root-user``) gives the same powers; if ``/opt/ml`` cannot be
created on the host, a tmpfs is laid over ``/opt`` inside the namespace with the host's
``/opt`` entries bound back into it, so ``/opt/ml`` can exist there alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pipelines.runners.jobs.errors import SandboxUnavailable, WarmStartError
from pipelines.runners.jobs.joblog import log_timestamp
from pipelines.runners.processes import TERMINATE_GRACE_SECONDS, log_recording_failure, tied_to_driver

if TYPE_CHECKING:  # warm.py starts jobs that run_sandboxed watches like its own processes
    from pipelines.runners.jobs.warm import WarmInterpreter, WarmProcess

CONTAINER_ML = "/opt/ml"
SANDBOX_FAILED_EXIT = 121  # the launcher's own exit code when it cannot set the namespace up
_MARKER = "pipelines-sandbox:"
STOP_GRACE_SECONDS = TERMINATE_GRACE_SECONDS  # SIGTERM first, SIGKILL after this long (SageMaker: 120 s)
STDERR_TAIL_LINES = 25

# Runs inside the new namespaces: $1 = the job's staged opt/ml, $2 = 1 to lay a tmpfs over /opt,
# $3 = working directory, the rest = the job's argv. The shell stays as the namespace's PID 1 and
# runs the job as its child: PID 1 ignores SIGTERM unless it handles it, the job must not.
_LAUNCHER = r"""
fail() { echo "pipelines-sandbox: $*" >&2; exit 121; }
ml="$1"; overlay="$2"; workdir="$3"; shift 3
if [ "$overlay" = 1 ]; then
    host_opt="$ml/../../.host-opt"
    mkdir -p "$host_opt" || fail "cannot create $host_opt"
    if [ -d /opt ]; then mount --rbind /opt "$host_opt" || fail "cannot bind the host /opt"; fi
    mount -t tmpfs pipelines-opt /opt || fail "cannot mount a tmpfs over /opt"
    for entry in "$host_opt"/* "$host_opt"/.[!.]*; do
        [ -e "$entry" ] || continue
        name="${entry##*/}"
        if [ -d "$entry" ]; then mkdir "/opt/$name"; else : > "/opt/$name"; fi
        mount --rbind "$entry" "/opt/$name" || fail "cannot bind /opt/$name back"
    done
    mkdir -p /opt/ml || fail "cannot create /opt/ml on the tmpfs"
fi
mount --bind "$ml" /opt/ml || fail "cannot bind $ml over /opt/ml"
cd "$workdir" || fail "cannot enter the working directory $workdir"
"$@" &
wait $!
"""


@dataclass(frozen=True)
class SandboxPlan:
    """How this machine isolates jobs: the unshare prefix and whether /opt needs a tmpfs."""

    prefix: tuple[str, ...]
    overlay_opt: bool


@dataclass
class ProcessOutcome:
    exit_code: int
    timed_out: bool
    stopped: bool
    stderr_tail: list[str]
    seconds: float


@dataclass
class SandboxCommand:
    """One job process: ``argv`` runs with ``env`` in ``cwd`` (a path as the job sees it)."""

    job_root: Path  # holds opt/ml (the job's /opt/ml) and the job's log
    argv: list[str]
    env: dict[str, str]
    cwd: str
    timeout: float | None = None
    on_line: Callable[[str], None] = lambda _line: None
    log_file: Path | None = None
    stop_grace: float = STOP_GRACE_SECONDS
    isolate_network: bool = False
    on_start: Callable[[int], None] = lambda _pid: None  # told the job process's pid once started
    warm: WarmInterpreter | None = None  # fork the job from this warm interpreter (warm.py)


def _ensure_host_mountpoint() -> bool:
    """True if /opt/ml exists on the host (creating it when we may)."""
    with contextlib.suppress(OSError):
        Path(CONTAINER_ML).mkdir(parents=True, exist_ok=True)
    return Path(CONTAINER_ML).is_dir()


@functools.lru_cache(maxsize=4)
def sandbox_plan(force_overlay: bool = False) -> SandboxPlan:
    """Probe once per process: a namespace that can bind a directory over /opt/ml.

    Raises SandboxUnavailable with the reason (no ``unshare``, namespaces disabled, ...)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SandboxUnavailable(
            "local jobs need the 'unshare' command (util-linux) to present /opt/ml through a private "
            "mount namespace; it is not installed (Debian: apt-get install util-linux)"
        )
    prefix = [
        unshare,
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--kill-child",
        "--mount-proc",
    ]
    if os.geteuid() != 0:
        prefix[1:1] = ["--user", "--map-root-user"]
    overlay = force_overlay or not _ensure_host_mountpoint()
    plan = SandboxPlan(prefix=tuple(prefix), overlay_opt=overlay)
    with tempfile.TemporaryDirectory(prefix="pipelines-sandbox-probe-") as tmp:
        ml = Path(tmp) / "opt" / "ml"
        (ml / "probe").mkdir(parents=True)
        try:
            proc = subprocess.run(
                launch_argv(plan, ml, "/", ["test", "-d", "/opt/ml/probe"]),
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"cannot start a private mount namespace for local jobs: {exc}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip() or f"exit code {proc.returncode}"
        user_hint = (
            ""
            if os.geteuid() == 0
            else " (unprivileged user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone=1)"
        )
        raise SandboxUnavailable(
            f"cannot present /opt/ml to local jobs through a private mount namespace{user_hint}: {detail}"
        )
    return plan


def launch_argv(
    plan: SandboxPlan, host_ml: Path, cwd: str, argv: list[str], *, isolate_network: bool = False
) -> list[str]:
    """``isolate_network`` adds a network namespace with nothing but loopback (the service's
    EnableNetworkIsolation: the job reaches no network)."""
    return [
        *plan.prefix,
        *(["--net"] if isolate_network else []),
        "/bin/sh",
        "-c",
        _LAUNCHER,
        "pipelines-job",
        str(host_ml),
        "1" if plan.overlay_opt else "0",
        cwd,
        *argv,
    ]


def run_sandboxed(
    command: SandboxCommand, cancel: threading.Event, *, plan: SandboxPlan | None = None
) -> ProcessOutcome:
    """Run the job to its end, its stop, or its timeout; stream its output line by line.

    On stop or timeout the whole process group gets SIGTERM, then SIGKILL after the grace
    period; the PID namespace takes any process that left the group with it. The job also dies
    (SIGKILL) with the thread that runs this, i.e. with the driver process: see
    :mod:`pipelines.runners.processes`."""
    plan = plan or sandbox_plan()
    host_ml = command.job_root / "opt" / "ml"
    started = time.monotonic()
    log = command.log_file.open("a", encoding="utf-8", errors="replace") if command.log_file else None
    log_lock = threading.Lock()
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    def pump(stream: IO[bytes], is_stderr: bool) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            if is_stderr:
                stderr_tail.append(line)
            with log_lock:
                if log is not None:
                    log.write(f"{log_timestamp()} {line}\n")
                    log.flush()
            command.on_line(line)

    proc: subprocess.Popen[bytes] | WarmProcess
    try:
        if command.warm is not None:
            proc = command.warm.start(
                command.argv, command.env, command.cwd, host_ml, command.isolate_network
            )
        else:
            proc = subprocess.Popen(
                tied_to_driver(
                    launch_argv(
                        plan, host_ml, command.cwd, command.argv, isolate_network=command.isolate_network
                    )
                ),
                env=command.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
    except WarmStartError:
        if log is not None:
            log.close()
        raise
    except OSError as exc:
        if log is not None:
            log.close()
        raise SandboxUnavailable(f"cannot start the job process: {exc}") from exc

    try:
        command.on_start(proc.pid)
    except Exception:  # the job runs either way; it still dies with this process
        log_recording_failure(proc.pid)
    readers = [
        threading.Thread(target=pump, args=(proc.stdout, False), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, True), daemon=True),
    ]
    for reader in readers:
        reader.start()

    finished = threading.Event()
    why_killed: list[str] = []
    deadline = started + command.timeout if command.timeout else None

    def watch() -> None:
        while not finished.is_set():
            if cancel.is_set():
                why_killed.append("stopped")
                break
            if deadline is not None and time.monotonic() >= deadline:
                why_killed.append("timeout")
                break
            wait = 0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic()))
            finished.wait(wait)
        if why_killed and not finished.is_set():
            _terminate_group(proc, command.stop_grace, finished)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        exit_code = proc.wait()
    finally:
        finished.set()
        for reader in readers:
            reader.join(timeout=5)
        watcher.join(timeout=command.stop_grace + 5)
        if log is not None:
            log.close()
    return ProcessOutcome(
        exit_code=exit_code,
        timed_out="timeout" in why_killed,
        stopped="stopped" in why_killed,
        stderr_tail=list(stderr_tail),
        seconds=time.monotonic() - started,
    )


def _terminate_group(
    proc: subprocess.Popen[bytes] | WarmProcess, grace: float, finished: threading.Event
) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    if finished.wait(grace):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def is_sandbox_failure(outcome: ProcessOutcome) -> str | None:
    """The launcher's own complaint, if the namespace could not be set up for this job."""
    if outcome.exit_code != SANDBOX_FAILED_EXIT:
        return None
    for line in reversed(outcome.stderr_tail):
        if line.startswith(_MARKER):
            return line[len(_MARKER) :].strip()
    return None
