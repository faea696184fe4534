"""A real ``pipelines serve`` process on a free loopback port, for tests that watch the process
itself (its open files) or kill it."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PIPELINES = Path(sys.executable).parent / "pipelines"
_URL = re.compile(r"(http://[\w.\-\[\]:]+)")


class ServeProcess:
    """``pipelines serve --port 0`` started in ``cwd`` with ``pipelines.toml`` there; the URL is
    read from its start-up line. Stopped (SIGKILL) on leaving the ``with`` block."""

    def __init__(self, cwd: Path, *, timeout: float = 60.0) -> None:
        self.process = subprocess.Popen(
            [str(PIPELINES), "serve", "--port", "0", "--config", "pipelines.toml"],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self._await_url(timeout)
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        # keep draining stderr so the server never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _await_url(self, timeout: float) -> str:
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            seen.append(line)
            match = _URL.search(line)
            if match:
                return match.group(1)
        self.process.kill()
        raise AssertionError(f"pipelines serve did not start: {''.join(seen)}")

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for _ in self.process.stderr:
            pass

    @property
    def pid(self) -> int:
        return self.process.pid

    def open_files(self) -> int:
        """How many file descriptors the server process holds now."""
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

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
