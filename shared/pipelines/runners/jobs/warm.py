"""Warm pools for local jobs: a job starts as a fork of an interpreter that has already
imported numpy, pandas, scikit-learn (the config's ``[warm_pools] preload``), as SageMaker's
warm pools (``KeepAlivePeriodInSeconds``) spare a job the container start.

One warm interpreter (``_warm_interpreter.py``) runs per interpreter path and set of
import-time environment variables (``OMP_*``, ``MKL_*``... are read when numpy loads, so jobs
that set them differently get an interpreter of their own). It lives as long as the driver:
it ends when the driver's end of a pipe closes, whatever way the driver ends.

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
    """One running warm interpreter and the socket jobs are asked for on."""

    def __init__(self, interpreter: str, preload: Sequence[str], env: Mapping[str, str]) -> None:
        self._folder = tempfile.mkdtemp(prefix="pipelines-warm-")
        self.address = os.path.join(self._folder, "jobs.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.address)
        listener.listen(64)
        alive_read, self._alive = os.pipe()
        os.set_inheritable(self._alive, False)
        try:
            self._process = subprocess.Popen(
                [
                    interpreter,
                    "-c",
                    _bootstrap(),
                    json.dumps(list(preload)),
                    str(listener.fileno()),
                    str(alive_read),
                ],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                pass_fds=(listener.fileno(), alive_read),
                start_new_session=True,
            )
        finally:
            listener.close()
            os.close(alive_read)
        assert self._process.stdout is not None
        status = self._process.stdout.readline().decode().strip()
        self.unsafe = None if status == "ready" else (status.removeprefix("unsafe: ") or "it did not start")

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
        with contextlib.suppress(OSError):
            os.close(self._alive)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.unlink(self.address)
            os.rmdir(self._folder)


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

    def get(self, interpreter: str, preload: Sequence[str], env: Mapping[str, str]) -> WarmInterpreter:
        import_time = import_time_environment(env)
        key = (interpreter, tuple(preload), import_time)
        with self._lock:
            warm = self._interpreters.get(key)
            if warm is None:
                base = {k: v for k, v in os.environ.items() if not k.startswith(_IMPORT_TIME_PREFIXES)}
                warm = self._interpreters[key] = WarmInterpreter(
                    interpreter, preload, {**base, **dict(import_time)}
                )
            return warm

    def close(self) -> None:
        with self._lock:
            for warm in self._interpreters.values():
                warm.close()
            self._interpreters.clear()


POOLS = WarmPools()
