"""Runs inside a local endpoint's process, under the model image's interpreter: the model server
of a SageMaker framework serving container (``GET /ping``, ``POST /invocations``).

Order of start-up: bind the port named by ``SAGEMAKER_BIND_TO_PORT`` on loopback (a port
already taken exits at once with :data:`PORT_IN_USE_EXIT`, so the host retries another port
without loading anything), load the model through the handler chain of ``_inference.py``
(a model that cannot load writes ``/opt/ml/output/failure`` and exits 1: the endpoint goes
Failed with that reason), then answer requests. ``/ping`` is 200 only once the model is loaded.

Requests follow the scikit-learn container: no Content-Type means the framework's default
(JSON; CSV for XGBoost), no Accept or ``*/*`` means ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``;
an unsupported content type is 415, an unsupported Accept 406, any other failure of the user's
code 500, each with the JSON body ``{"error", "error-message", "stack-trace"}``. SIGTERM stops
the server. Standalone: only the standard library and ``_inference.py`` beside it.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__:  # imported by the tests as part of the package
    from pipelines.runners.jobs import _inference as inference
else:  # run as a script: its folder is first on sys.path
    import _inference as inference  # type: ignore[no-redef]

FAILURE = Path("/opt/ml/output/failure")
PORT_IN_USE_EXIT = 98  # EADDRINUSE's number on Linux: the host picks another port
PORT_IN_USE_MARKER = "pipelines-model-server: port in use"
MAX_REQUEST_BYTES = 6 * 1024 * 1024 + 1024  # InvokeEndpoint's limit (6 MiB), with room for framing


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # over TIME_WAIT only: a port another socket listens on still fails (Linux)
    handler: inference.Handler | None = None


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the front end reuses its connections
    # headers and body go out in two writes: with Nagle on, the body waits for the client's
    # delayed ACK of the headers (40 ms a request on Linux)
    disable_nagle_algorithm = True
    server: ModelServer

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _reply(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, exc: BaseException) -> None:
        body = {
            "error": type(exc).__name__,
            "error-message": str(exc),
            "stack-trace": traceback.format_exception(exc),
        }
        self._reply(status, json.dumps(body).encode(), "application/json")

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/ping":
            self.send_response(200 if self.server.handler is not None else 503)
            # tells the host that this server answered, not another program on the same port
            self.send_header("X-Pipelines-Server", os.environ.get("PIPELINES_SERVER_TOKEN", ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._reply(404, b'{"error": "not found"}', "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            self._error(413, inference.InferenceError(f"the request body exceeds {MAX_REQUEST_BYTES} bytes"))
            return
        payload = self.rfile.read(length) if length else b""
        if self.path.split("?", 1)[0] != "/invocations":
            self._reply(404, b'{"error": "not found"}', "application/json")
            return
        handler = self.server.handler
        if handler is None:
            self._error(503, inference.InferenceError("the model is not loaded yet"))
            return
        framework = handler.framework
        content_type = self.headers.get("Content-Type") or inference.default_content_type(framework)
        accept = self.headers.get("Accept") or ""
        if not accept or accept.strip() == "*/*":
            accept = inference.default_accept(framework)
        try:
            body = handler(payload, content_type, accept)
        except inference.InferenceError as exc:
            traceback.print_exc()
            self._error(exc.status, exc)
            return
        except Exception as exc:
            traceback.print_exc()
            self._error(500, exc)
            return
        self._reply(200, body, accept)


def _fail(message: str) -> None:
    FAILURE.parent.mkdir(parents=True, exist_ok=True)
    FAILURE.write_text(message)
    sys.exit(1)


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))
    try:
        server = ModelServer(("127.0.0.1", port), RequestHandler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"{PORT_IN_USE_MARKER} {port}", file=sys.stderr, flush=True)
            sys.exit(PORT_IN_USE_EXIT)
        raise
    try:
        server.handler = inference.load_handler(spec)
    except Exception as exc:
        traceback.print_exc()
        _fail(f"ClientError: the model could not be loaded: {type(exc).__name__}: {exc}")
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"serving model on port {port} ({spec.get('framework', 'generic')} handlers)", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()


if __name__ == "__main__":
    main(sys.argv[1])
