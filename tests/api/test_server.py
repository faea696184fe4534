"""The HTTP server of `pipelines serve`: keep-alive, a bounded worker pool, read timeouts for
slow or lying clients, graceful shutdown, no leaked file descriptors. Raw HTTP throughout."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pipelines.api.server import ApiServer
from pipelines.testing import ServeProcess

from tests.api.conftest import Served
from tests.api.raw_http import address, read_until_closed, request, send_raw, status_of
from tests.cli.helpers import wait_for


class SlowApp:
    """A WSGI app that takes ``delay`` seconds and counts how many requests run at once."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(self.delay)
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        finally:
            with self._lock:
                self.running -= 1
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body) + 2))])
        return [b"ok" + body]


@pytest.fixture
def slow_server() -> Iterator[tuple[ApiServer, SlowApp]]:
    app = SlowApp(delay=0.3)
    server = ApiServer(app, "127.0.0.1", 0, threads=2, read_timeout=1).start()
    yield server, app
    server.stop()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_connections_are_kept_alive(single_user: Served) -> None:
    host, port = address(single_user.url)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/")
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        connection.request("GET", "/")
        second = connection.getresponse()
        second.read()
        assert first.status == second.status == 200
        assert first.getheader("Connection") != "close"
        assert connection.sock is sock  # the same TCP connection served both
    finally:
        connection.close()


def test_the_worker_pool_is_bounded(slow_server: tuple[ApiServer, SlowApp]) -> None:
    server, app = slow_server
    results: list[int] = []

    def call() -> None:
        results.append(request(server.url, "GET", "/").status)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert results == [200] * 6
    assert app.most == 2  # six clients, never more than the two workers at once


def test_a_content_length_larger_than_the_body_holds_no_worker_and_times_out(
    slow_server: tuple[ApiServer, SlowApp],
) -> None:
    server, app = slow_server
    liars = []
    for _ in range(3):  # more liars than workers
        sock = socket.create_connection(address(server.url), timeout=10)
        sock.sendall(b"PUT /bkt/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n0123456789")
        liars.append(sock)
    try:
        started = time.monotonic()
        assert request(server.url, "POST", "/", b"honest").body == b"okhonest"  # workers are free
        assert time.monotonic() - started < 5
        for sock in liars:  # dropped after the read timeout (1 s here), without a response
            assert read_until_closed(sock, wait_seconds=10) == b""
        assert time.monotonic() - started < 10
    finally:
        for sock in liars:
            sock.close()
    assert app.most <= 1


def test_a_negative_content_length_is_a_400(single_user: Served) -> None:
    single_user.client("s3").create_bucket(Bucket="bkt")
    raw = send_raw(
        single_user.url,
        b"PUT /bkt/neg HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\nConnection: close\r\n\r\nhello",
    )
    assert status_of(raw) == 400
    assert not (single_user.config.object_root / "bkt" / "neg").exists()


def test_stop_lets_requests_in_flight_finish_then_refuses_connections() -> None:
    app = SlowApp(delay=1.0)
    server = ApiServer(app, "127.0.0.1", 0, threads=2).start()
    outcome: list[int] = []
    caller = threading.Thread(target=lambda: outcome.append(request(server.url, "GET", "/").status))
    caller.start()
    deadline = time.monotonic() + 5
    while app.running == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.running == 1
    server.stop()
    caller.join(timeout=10)
    assert outcome == [200]
    with pytest.raises(OSError):
        socket.create_connection(address(server.url), timeout=2).close()


def test_requests_do_not_leak_file_descriptors(single_user: Served) -> None:
    s3 = single_user.client("s3")
    s3.create_bucket(Bucket="bkt")
    payload = b"x" * (600 * 1024)  # above waitress's in-memory threshold: spooled to a temp file

    def burst(count: int) -> None:
        for index in range(count):
            assert request(single_user.url, "PUT", f"/bkt/k{index % 5}", payload).status == 200
            assert request(single_user.url, "GET", f"/bkt/k{index % 5}").status == 200
            assert request(single_user.url, "GET", "/no-such-bucket/k").status == 404

    burst(20)  # warm up: lazily opened files (logs, modules) are opened by now
    baseline = open_fds()
    burst(150)
    deadline = time.monotonic() + 10
    while open_fds() > baseline + 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # closed connections are reaped by the I/O loop
    assert open_fds() <= baseline + 3


def test_pipelines_serve_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    with ServeProcess(tmp_path) as server:
        wait_for(lambda: "Security:" in server.output(), what="the start banner's security line")
        security = server.output().split("Security:", 1)[1].splitlines()[0]  # who may call
        assert "single-user" in security and "000000000000" in security
        assert request(server.url, "GET", "/").status == 200
        assert server.stop() == 0  # SIGTERM: a graceful exit (a SIGKILL after 30 s would be -9)


def test_pipelines_serve_refuses_to_listen_beyond_loopback_without_secret_keys(tmp_path: Path) -> None:
    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pipelines"), "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--allow-unauthenticated" in done.stderr and "[accounts]" in done.stderr
