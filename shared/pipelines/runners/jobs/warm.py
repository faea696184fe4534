"""Warm pools for local jobs: a job starts as a fork of an interpreter that has already
imported numpy, pandas, scikit-learn (the config's ``[warm_pools] preload``), as SageMaker's
warm pools (``KeepAlivePeriodInSeconds``) spare a job the container start.

One warm interpreter (``_warm_interpreter.py``) runs per interpreter path and set of
import-time environment variables (``OMP_*``, ``MKL_*``... are read when numpy loads, so jobs
that set them differently get an interpreter of their own). It lives as long as the driver:
it ends when the driver's end of a pipe closes, whatever way the driver ends. With
``[warm_pools] keep_alive_seconds`` (SageMaker's ``KeepAlivePeriodInSeconds``) it listens on a
socket in :data:`KEPT_ALIVE_FOLDER` instead and outlives the driver until it had no job for
that long; later drivers (any state directory of the same user) reuse it.

Each job is still a process of its own, forked from the untouched warm interpreter, in its
own session and mount + PID namespaces with its ``/opt/ml``, the job's environment, cwd,
only stdin/stdout/stderr open and a fresh interpreter's signal dispositions, so nothing a job
does reaches another (tests/runners/test_warm_pools.py). A job falls back to the cold start
(sandbox.py), with the reason logged, when its command is not ``python script args...`` run by
the mapped interpreter, when it sets interpreter variables a running interpreter cannot take
on (``PYTHONHASHSEED``...), when the sandbox needs a user namespace or a tmpfs over ``/opt``,
when the image is excluded in config, or when the preloaded modules started threads.
"""

from __future__ import annotations

import atexit
import contextlib
import fnmatch
import hashlib
import json
import os
import socket
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pipelines.config import WarmPoolOptions
from pipelines.runners.jobs.errors import WarmStartError
from pipelines.runners.jobs.images import is_python

_WARM_INTERPRETER = Path(__file__).with_name("_warm_interpreter.py")
_IMPORT_TIME_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_", "VECLIB_", "LD_", "PYTHONPATH")
KEPT_ALIVE_FOLDER = Path(tempfile.gettempdir()) / f"pipelines-warm-{os.geteuid()}"
"""Where kept-alive interpreters listen: per user (mode 0700), shared by every state directory,
since a job brings everything of its own (its /opt/ml, environment, cwd) in its request."""
_JOB_TREE = "/opt/ml"  # where a job sees its own files (its mount namespace's /opt/ml)
_HONOURED_PYTHON_VARIABLES = frozenset({"PYTHONUNBUFFERED", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE"})
# The warm interpreter's last argument: space its jobs overwrite with their own command line,
# so /proc/<pid>/cmdline shows the job's argv as for a cold job (_warm_interpreter.py).
_COMMAND_LINE_ROOM = "-" * 8192


def cold_reason(
    options: WarmPoolOptions,
    overlay_opt: bool,
    image_uri: str | None,
    argv: Sequence[str],
    env: Mapping[str, str],
) -> str | None:
    """Why this job must start cold; None when a warm interpreter can run it. ``overlay_opt``:
    the sandbox lays a tmpfs over /opt (sandbox.SandboxPlan), which warm starts do not do."""
    if not options.enabled:
        return "warm pools are off in the config"
    if image_uri is not None and any(fnmatch.fnmatchcase(image_uri, p) for p in options.exclude):
        return f"image {image_uri} is excluded from warm pools in the config"
    if os.geteuid() != 0 or overlay_opt:
        return (
            "warm starts need root and a host /opt/ml (this machine's sandbox uses a user namespace or tmpfs)"
        )
    if len(argv) < 2 or not is_python(argv[0]) or os.sep not in argv[0] or argv[1].startswith("-"):
        return "the command is not 'python script args...'"
    odd = sorted(k for k in env if k.startswith("PYTHON") and k not in _HONOURED_PYTHON_VARIABLES)
    if odd:
        return f"the job sets {', '.join(odd)}, which only a new interpreter can take on"
    return None


@dataclass
class WarmProcess:
    """A job forked by a warm interpreter, used like ``subprocess.Popen``: ``pid`` leads the
    job's session (stop and timeout signal its group), ``wait`` gives the exit code."""

    pid: int
    stdout: IO[bytes]
    stderr: IO[bytes]
    _connection: socket.socket
    _reader: IO[str]

    def wait(self) -> int:
        line = self._reader.readline()
        self._connection.close()
        if not line.startswith("exit "):
            return -9  # the warm interpreter died under the job: it was killed with it
        return os.waitstatus_to_exitcode(int(line.split()[1]))


class WarmInterpreter:
    """One running warm interpreter and the socket jobs are asked for on.

    With ``keep_alive`` (seconds) the interpreter listens at ``address`` and outlives this
    process until it has had no job for that long, so a later process reuses it
    (:meth:`attach`); without, it ends when this process lets go of it (:meth:`close`) or dies.
    """

    def __init__(
        self,
        interpreter: str,
        preload: Sequence[str],
        env: Mapping[str, str],
        *,
        address: str | None = None,
        keep_alive: int = 0,
    ) -> None:
        self._folder = None if address is not None else tempfile.mkdtemp(prefix="pipelines-warm-")
        self.address = address if address is not None else os.path.join(str(self._folder), "jobs.sock")
        self.keep_alive = keep_alive
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.address)
        listener.listen(64)
        alive_read, self._alive = os.pipe() if not keep_alive else (-1, -1)
        if self._alive >= 0:
            os.set_inheritable(self._alive, False)
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [
                    interpreter,
                    "-c",
                    _bootstrap(),
                    json.dumps(list(preload)),
                    str(listener.fileno()),
                    str(alive_read),
                    str(keep_alive),
                ],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(listener.fileno(),) if alive_read < 0 else (listener.fileno(), alive_read),
                start_new_session=True,
            )
        finally:
            listener.close()
            if alive_read >= 0:
                os.close(alive_read)
        self.pid = self._process.pid
        assert self._process.stdout is not None
        status = self._process.stdout.readline().decode().strip()
        self._process.stdout.close()
        self.unsafe = None if status == "ready" else (status.removeprefix("unsafe: ") or "it did not start")

    @classmethod
    def attach(cls, address: str) -> WarmInterpreter | None:
        """The kept-alive interpreter listening at ``address``, or None when none answers."""
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.settimeout(10.0)
            connection.connect(address)
            socket.send_fds(connection, [json.dumps({"hello": True}).encode()], [])
            line = connection.makefile("r", encoding="utf-8").readline()
        except OSError:
            return None
        finally:
            connection.close()
        if not line.startswith("ready"):
            return None
        warm = cls.__new__(cls)
        warm._folder, warm.address, warm.keep_alive = None, address, 1
        warm._process, warm._alive, warm.unsafe = None, -1, None
        warm.pid = int(line.split()[1])
        return warm

    def start(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: str, host_ml: Path, isolate_network: bool
    ) -> WarmProcess:
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.address)
            request = {
                "argv": list(argv),
                "env": dict(env),
                "cwd": cwd,
                "host_ml": str(host_ml),
                "isolate_network": isolate_network,
            }
            socket.send_fds(connection, [json.dumps(request).encode()], [out_write, err_write])
            reader = connection.makefile("r", encoding="utf-8")
            line = reader.readline()
        except OSError as exc:
            connection.close()
            for fd in (out_read, err_read):
                os.close(fd)
            raise WarmStartError(f"the warm interpreter did not take the job: {exc}") from exc
        finally:
            os.close(out_write)
            os.close(err_write)
        if not line.startswith("pid "):
            connection.close()
            for fd in (out_read, err_read):
                os.close(fd)
            raise WarmStartError("the warm interpreter did not start the job")
        return WarmProcess(
            pid=int(line.split()[1]),
            stdout=os.fdopen(out_read, "rb"),
            stderr=os.fdopen(err_read, "rb"),
            _connection=connection,
            _reader=reader,
        )

    def close(self) -> None:
        """Let go: an interpreter without keep-alive ends (its jobs with it); a kept-alive one
        goes on serving other processes until it idles out."""
        if self.keep_alive:
            return
        with contextlib.suppress(OSError):
            os.close(self._alive)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.unlink(self.address)
            if self._folder is not None:
                os.rmdir(self._folder)


def _kept_alive_address(folder: Path, key: tuple[object, ...]) -> str | None:
    """The socket of the kept-alive interpreter for ``key``, in a folder only its owner can
    enter (whoever can connect can run a job); None when that folder is not ours."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid != os.geteuid():
            return None
        folder.chmod(0o700)
    except OSError:
        return None
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:20]
    return str(folder / f"{digest}.sock")


def _kept_alive(
    interpreter: str, preload: Sequence[str], env: Mapping[str, str], address: str | None, keep_alive: int
) -> WarmInterpreter | None:
    """The interpreter an earlier process left at ``address``, or a new one kept alive there;
    None when neither can be had (the caller starts one of its own)."""
    if address is None:
        return None
    for _ in range(2):
        warm = WarmInterpreter.attach(address)
        if warm is not None:
            return warm
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)  # left by one that idled out or died
        try:
            return WarmInterpreter(interpreter, preload, env, address=address, keep_alive=keep_alive)
        except OSError:
            continue  # another process bound the address first: attach to its interpreter
    return None


def import_time_environment(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The job variables its warm interpreter must have had when it imported the preload.

    ``PYTHONPATH`` entries below ``/opt/ml`` name the job's own files (a training job's code
    channel, ``/opt/ml/code``), which exist only inside the job's namespace, so the
    interpreter's imports could not have seen them; like the script's own folder they are put on
    ``sys.path`` per job (_warm_interpreter.py), and a job whose only extra path is its own code
    shares the interpreter of its image instead of starting another."""
    variables: list[tuple[str, str]] = []
    for name, value in env.items():
        if not name.startswith(_IMPORT_TIME_PREFIXES):
            continue
        if name == "PYTHONPATH":
            value = os.pathsep.join(p for p in value.split(os.pathsep) if p and not _in_job_tree(p))
            if not value:
                continue
        variables.append((name, value))
    return tuple(sorted(variables))


def _in_job_tree(path: str) -> bool:
    return path == _JOB_TREE or path.startswith(_JOB_TREE + "/")


def _bootstrap() -> str:
    """Run the warm interpreter file as ``__main__`` with ``sys.path[0]`` its folder, as
    ``python file`` would, but from ``-c`` so the preload list can follow as ``argv[1]``."""
    return (
        "import runpy, sys; "
        f"sys.path[0] = {str(_WARM_INTERPRETER.parent)!r}; "
        f"runpy.run_path({str(_WARM_INTERPRETER)!r}, run_name='__main__')"
    )


class WarmPools:
    """The process's warm interpreters, started on first use and ended at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._interpreters: dict[
            tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], WarmInterpreter
        ] = {}
        atexit.register(self.close)

    def get(
        self,
        interpreter: str,
        preload: Sequence[str],
        env: Mapping[str, str],
        *,
        keep_alive: int = 0,
        folder: Path | None = None,
    ) -> WarmInterpreter:
        """The interpreter for a job's ``env``. With ``keep_alive`` (seconds), one that an
        earlier process left running is reused, and a new one is started to outlive this
        process; they listen in ``folder`` (default :data:`KEPT_ALIVE_FOLDER`), one socket per
        interpreter, preload and import-time environment."""
        folder = folder or KEPT_ALIVE_FOLDER
        import_time = import_time_environment(env)
        key = (interpreter, tuple(preload), import_time)
        with self._lock:
            warm = self._interpreters.get(key)
            if warm is not None:
                return warm
            base = {k: v for k, v in os.environ.items() if not k.startswith(_IMPORT_TIME_PREFIXES)}
            boot_env = {**base, **dict(import_time)}
            kept = (
                _kept_alive(interpreter, preload, boot_env, _kept_alive_address(folder, key), keep_alive)
                if keep_alive
                else None
            )
            warm = self._interpreters[key] = kept or WarmInterpreter(interpreter, preload, boot_env)
            return warm

    def close(self) -> None:
        with self._lock:
            for warm in self._interpreters.values():
                warm.close()
            self._interpreters.clear()


POOLS = WarmPools()
