"""``pipelines serve`` as a real process, for tests and benchmarks (this project's and yours).

Like moto's ``ThreadedMotoServer``, but a separate process, as clients meet it in use::

    from pipelines.testing import ServeProcess

    with ServeProcess(project_dir) as server:          # pipelines.toml in project_dir
        sm = boto3.client("sagemaker", endpoint_url=server.url, ...)
        ...

Start-up waits for readiness with a deadline (the start-up banner in the server's log, then a
connection the port accepts) and never blocks on a pipe the server may never write to; a server
that exits or does not come up raises with its output. Stopping is SIGTERM, a grace period, then
SIGKILL, and the process is always reaped (:func:`stop_process` does the same for any process,
e.g. moto's server beside it). Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PIPELINES = Path(sys.executable).parent / "pipelines"
"""The ``pipelines`` command of the interpreter running the tests."""
IN_THIS_INTERPRETER = (sys.executable, "-c", "from pipelines.cli import main; main()")
"""The CLI through this interpreter (for a different ``PYTHONPATH`` or wrapped start-up code)."""
_BANNER = re.compile(r"Serving SageMaker Pipelines on (http://\S+)")


def stop_process(process: subprocess.Popen[Any], *, grace: float = 30.0) -> int:
    """SIGTERM, up to ``grace`` seconds to exit, then SIGKILL; reaps the process, returns its code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def _accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        return False
    return True


class ServeProcess:
    """``pipelines serve --port 0 --config CONFIG`` started in ``cwd``.

    Its output (both streams) goes to a fresh ``serve-*.log`` in ``cwd`` (:meth:`output`), which is
    polled for the start-up banner until ``timeout``; then the port must accept a connection. The
    server is stopped (:meth:`stop`) on leaving the ``with`` block. ``command`` replaces the
    ``pipelines`` executable (e.g. :data:`IN_THIS_INTERPRETER` or a wrapper script), and ``env``
    the environment.
    """

    def __init__(
        self,
        cwd: Path,
        *,
        config: str | Path = "pipelines.toml",
        command: Sequence[str] = (str(PIPELINES),),
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        handle, log = tempfile.mkstemp(prefix="serve-", suffix=".log", dir=cwd)
        self.log = Path(log)
        with os.fdopen(handle, "wb") as output:
            self.process = subprocess.Popen(
                [*command, "serve", "--port", "0", "--config", str(config)],
                cwd=cwd,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
            )
        try:
            self.url = self._await_ready(time.monotonic() + timeout)
        except BaseException:
            self.kill()
            raise
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def _await_ready(self, deadline: float) -> str:
        url: str | None = None
        while time.monotonic() < deadline and self.process.poll() is None:
            if url is None:
                banner = _BANNER.search(self.output())
                url = banner.group(1) if banner else None
            if url is not None and _accepts(url):
                return url
            time.sleep(0.05)
        state = "timed out" if self.process.poll() is None else f"exited with {self.process.returncode}"
        raise AssertionError(f"pipelines serve did not start ({state}):\n{self.output()}")

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(errors="replace")

    @property
    def pid(self) -> int:
        return self.process.pid

    def open_files(self) -> int:
        """How many file descriptors the server process holds now (Linux: ``/proc``)."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def call(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One SageMaker JSON request on a fresh TCP connection (as a new client would open)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(
                "POST",
                "/",
                body=json.dumps(body).encode(),
                headers={
                    "X-Amz-Target": f"SageMaker.{operation}",
                    "Content-Type": "application/x-amz-json-1.1",
                },
            )
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
        finally:
            conn.close()

    def stop(self, *, grace: float = 30.0) -> int:
        """A graceful stop (SIGTERM, then SIGKILL after ``grace`` s); returns the exit code."""
        return stop_process(self.process, grace=grace)

    def kill(self) -> int:
        """A crash: SIGKILL at once; reaped."""
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
