"""Raw HTTP against a served endpoint: http.client for well-formed requests, a socket for
requests no client library would send."""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return str(parts.hostname), int(parts.port or 80)


def request(
    url: str, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> RawResponse:
    """One request whose target (path and query) is sent byte for byte as given."""
    host, port = address(url)
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.putrequest(method, target, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        if (body or method in ("PUT", "POST")) and "content-length" not in {h.lower() for h in headers or {}}:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        return RawResponse(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def send_raw(url: str, payload: bytes, *, wait_seconds: float = 10.0) -> bytes:
    """Send ``payload`` as is and read until the server closes (or ``wait_seconds`` pass)."""
    with socket.create_connection(address(url), timeout=wait_seconds) as sock:
        sock.sendall(payload)
        return read_until_closed(sock, wait_seconds)


def read_until_closed(sock: socket.socket, wait_seconds: float) -> bytes:
    received = b""
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
    return received


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
