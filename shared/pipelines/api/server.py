"""The HTTP server of ``pipelines serve``: every API of the embedded runtime on one port.

One WSGI app (served by waitress, see :class:`ApiServer`) answers four AWS protocols, told apart
the way AWS's own front ends tell them apart:

0. ``POST /endpoints/<name>/invocations`` without ``X-Amz-Target``, unsigned or signed for
   ``sagemaker`` -> ``sagemaker-runtime`` InvokeEndpoint (rest-json; :mod:`pipelines.api.runtime`).
   S3 clients sign for ``s3``, so a path-style key in a bucket named ``endpoints`` stays S3's;
1. ``X-Amz-Target`` present, or an ``application/x-amz-json-*`` body -> SageMaker (AWS JSON 1.1);
2. else the SigV4 credential scope's service (``sagemaker``/``execute-api``, ``scheduler``,
   ``ram``, ``s3``) picks the API -- every SDK client signs, so this settles real traffic;
3. else (unsigned) the path: a Scheduler or RAM URI template, otherwise S3 (path-style).

``X-Amz-Target: Logs_20140328.*`` is the CloudWatch Logs subset (also JSON 1.1), and a
form-encoded query request (or an ``sts`` signature) is STS. So ``AWS_ENDPOINT_URL_SAGEMAKER``,
``..._SAGEMAKER_RUNTIME``, ``..._SCHEDULER``, ``..._RAM``, ``..._S3``, ``..._CLOUDWATCH_LOGS`` and ``..._STS`` can all point at the
same ``http://127.0.0.1:PORT``. Each request is logged on ``pipelines.api.requests``.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import WSGITask
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from pipelines.api.browser import BrowserGuard, Refused
from pipelines.api.codec import request_path
from pipelines.api.errors import RequestTooLarge, ServiceError
from pipelines.api.identity import (
    AuthenticationFailed,
    Authenticator,
    Credential,
    SignedRequest,
    signed_credential,
)
from pipelines.api.rest import RestService
from pipelines.api.runtime import MAX_PAYLOAD_BYTES, RuntimeService, invocation_path
from pipelines.api.wire import CallContext, HttpRequest, HttpResponse, JsonService, error_response
from pipelines.errors import PipelinesError

log = logging.getLogger(__name__)
# One line per request (method, service, X-Amz-Target or path, status, time): `pipelines serve
# --log-level` shows them at INFO.
request_log = logging.getLogger("pipelines.api.requests")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_S3_BODY_BYTES = 1024**3
DEFAULT_MAX_JSON_BODY_BYTES = 4 * 1024**2
DEFAULT_THREADS = 8
# Seconds of silence after which a connection is dropped: a client that announces more body
# than it sends, or stops mid-headers, holds a socket for this long and never a worker thread.
DEFAULT_READ_TIMEOUT_SECONDS = 60
DEFAULT_CONNECTION_LIMIT = 256
DEFAULT_GRACE_SECONDS = 10.0
_LOOP_TIMEOUT_SECONDS = 0.5

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SAGEMAKER_SCOPES = frozenset({"sagemaker", "execute-api"})


@dataclass
class Services:
    """The APIs one endpoint serves, who may call them, and how callers map to accounts."""

    sagemaker: JsonService
    region: str
    default_account: str
    scheduler: RestService | None = None
    ram: RestService | None = None
    s3: RestService | None = None
    logs: JsonService | None = None
    sts: RestService | None = None
    runtime: RuntimeService | None = None  # sagemaker-runtime InvokeEndpoint (embedded endpoints)
    authenticator: Authenticator | None = None
    guard: BrowserGuard = field(default_factory=BrowserGuard)

    def __post_init__(self) -> None:
        if self.authenticator is None:
            self.authenticator = Authenticator({}, {}, self.default_account)

    def rest_services(self) -> dict[str, RestService]:
        named = {"scheduler": self.scheduler, "ram": self.ram, "s3": self.s3, "sts": self.sts}
        return {name: service for name, service in named.items() if service is not None}

    def json_services(self) -> dict[str, JsonService]:
        named = {"sagemaker": self.sagemaker, "logs": self.logs}
        return {name: service for name, service in named.items() if service is not None}


def choose_service(services: Services, request: Request, credential: Credential | None) -> str:
    """Which API a request is for; see the module docstring for the order."""
    target = request.headers.get("X-Amz-Target")
    if (
        services.runtime is not None
        and not target
        and invocation_path(request.method, request.path) is not None
        and (credential is None or credential.service in _SAGEMAKER_SCOPES)
    ):
        return "runtime"
    if target:
        for name, json_service in services.json_services().items():
            if target.startswith(json_service.target_prefix + "."):
                return name
        return "sagemaker"
    rest = services.rest_services()
    if credential is not None:
        if credential.service in _SAGEMAKER_SCOPES:
            return "sagemaker"
        if credential.service in rest or credential.service in services.json_services():
            return credential.service
    content_type = (request.headers.get("Content-Type") or "").lower()
    if content_type.startswith("application/x-amz-json"):
        return "sagemaker"
    if content_type.startswith("application/x-www-form-urlencoded") and "sts" in rest:
        return "sts"
    for name in ("scheduler", "ram"):
        candidate = rest.get(name)
        if candidate is not None and candidate.matches(request):
            return name
    return "s3" if "s3" in rest else "sagemaker"


def make_wsgi_app(services: Services) -> WsgiApp:
    """The WSGI app serving ``services``: browser-origin checks, then the body, then the
    caller's identity, then the operation."""
    authenticator = services.authenticator
    assert authenticator is not None

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        request = Request(environ)
        request_id = str(uuid.uuid4())
        credential = signed_credential(
            request.headers.get("Authorization"), request.args.get("X-Amz-Credential")
        )
        name = choose_service(services, request, credential)
        head = request.method == "HEAD"

        def finish(response: HttpResponse, *, head: bool) -> Iterable[bytes]:
            request_log.info(
                "%s %s %s %d %.1f ms",
                request.method,
                name,
                request.headers.get("X-Amz-Target") or request.path,
                response.status,
                (time.monotonic() - started) * 1000,
            )
            return _respond(start_response, response, head=head)

        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            if request.method == "OPTIONS":
                cors = services.guard.preflight(headers)
                return finish(HttpResponse(200, cors, b""), head=True)
            cors = services.guard.check(request.method, headers)
        except Refused as refused:
            error = ServiceError(
                "AccessDenied" if name == "s3" else "AccessDeniedException", refused.message, 403
            )
            return finish(_refusal(services, name, request, error, request_id), head=head)
        request.max_content_length = {"s3": DEFAULT_MAX_S3_BODY_BYTES, "runtime": MAX_PAYLOAD_BYTES}.get(
            name, DEFAULT_MAX_JSON_BODY_BYTES
        )
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            too_large = RequestTooLarge(f"the request body exceeds {request.max_content_length} bytes")
            return finish(_refusal(services, name, request, too_large, request_id), head=head)
        signed = SignedRequest(
            method=request.method,
            raw_path=request_path(request),
            raw_query=request.query_string.decode("latin-1"),
            headers=headers,
            body=body,
        )
        try:
            account = authenticator.account_for(signed, name)
        except AuthenticationFailed as failed:
            response = _refusal(services, name, request, failed, request_id)
        else:
            # a regional endpoint's ARNs carry its region: the one the client signed for
            region = credential.region if credential and credential.region else services.region
            context = CallContext(account_id=account, region=region, request_id=request_id)
            response = _dispatch(services, name, request, body, context)
        response.headers.update(cors)
        return finish(response, head=head)

    return app


def _refusal(
    services: Services, name: str, request: Request, error: PipelinesError, request_id: str
) -> HttpResponse:
    """``error`` in the protocol of the service the request was for."""
    if name == "runtime":
        return error_response(error, request_id, "application/json")
    rest = services.rest_services().get(name)
    if rest is not None:
        return rest.error_response(
            request, error, CallContext(services.default_account, services.region, request_id)
        )
    return error_response(error, request_id)


def _dispatch(
    services: Services, name: str, request: Request, body: bytes, context: CallContext
) -> HttpResponse:
    if name == "runtime" and services.runtime is not None:
        return services.runtime.handle(
            request.method, request.path, dict(request.headers.items()), body, context
        )
    json_service = services.json_services().get(name)
    if json_service is not None:
        wire_request = HttpRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers.items()),
            body=body,
            query=request.query_string.decode("latin-1"),
        )
        return json_service.handle(wire_request, context)
    return services.rest_services()[name].handle(request, body, context)


def _respond(start_response: Callable[..., Any], response: HttpResponse, *, head: bool) -> Iterable[bytes]:
    headers = {
        k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")
    }
    if head:
        length = next((v for k, v in response.headers.items() if k.lower() == "content-length"), "0")
        body = b""
    else:
        body = response.body
        length = str(len(body))
    headers["Content-Length"] = length
    start_response(f"{response.status} {_REASONS.get(response.status, 'Status')}", list(headers.items()))
    return [body]


_REASONS = {
    200: "OK",
    204: "No Content",
    206: "Partial Content",
    304: "Not Modified",
    400: "Bad Request",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    424: "Failed Dependency",
    416: "Range Not Satisfiable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class ApiServer:
    """``pipelines serve``'s HTTP server (waitress) around a WSGI app, plus the background
    workers that live with it (the embedded driver, the local scheduler), stopped with it.

    Why waitress: see ``docs/serve.md``. In short, its asynchronous front end reads each request
    in full (body included) before a worker thread sees it, so slow or lying clients hold a
    socket, never a thread, and are dropped after ``read_timeout`` seconds of silence; the
    worker pool is bounded; connections are kept alive; it is pure Python, maintained, and
    serves the synchronous WSGI app as it is, in one process with the runtime's threads.
    """

    def __init__(
        self,
        app: WsgiApp,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        threads: int = DEFAULT_THREADS,
        read_timeout: int = DEFAULT_READ_TIMEOUT_SECONDS,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        max_body_bytes: int = DEFAULT_MAX_S3_BODY_BYTES,
    ) -> None:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listener = socket.create_server(address[:2], family=family)
        self._map: dict[int, Any] = {}
        try:
            self._server: Any = create_server(
                _raw_uri(app),
                map=self._map,
                sockets=[listener],
                threads=threads,
                channel_timeout=read_timeout,
                cleanup_interval=max(1, min(read_timeout, 30)),
                connection_limit=connection_limit,
                max_request_body_size=max_body_bytes,
                ident="pipelines",
                asyncore_use_poll=True,
                clear_untrusted_proxy_headers=True,
            )
        except BaseException:
            listener.close()
            raise
        self._server.channel_class = _Channel
        self._host = str(listener.getsockname()[0])
        self._port = int(listener.getsockname()[1])
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stopped = False
        self._on_stop: list[Callable[[], None]] = []

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the server stops (workers register their shutdown here)."""
        self._on_stop.append(callback)

    def start(self) -> ApiServer:
        """Serve from a daemon thread (tests, embedding); returns self."""
        self._thread = threading.Thread(target=self._loop, name="pipelines-api", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until SIGINT/SIGTERM (or :meth:`stop` from another thread), then stop gracefully."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: self._stopping.set())
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _loop(self) -> None:
        wasyncore.loop(timeout=_LOOP_TIMEOUT_SECONDS, map=self._map, use_poll=True)

    def stop(self, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        """Stop accepting connections, let requests in flight finish (up to ``grace_seconds``),
        close every connection, then stop the background workers."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        dispatcher = self._server.task_dispatcher
        if self._thread is not None and self._thread.is_alive():
            self._in_loop(self._close_listener)
            deadline = time.monotonic() + grace_seconds
            while time.monotonic() < deadline and (dispatcher.queue or dispatcher.active_count > 0):
                time.sleep(0.02)
            self._in_loop(lambda: wasyncore.close_all(self._map))
            self._thread.join(timeout=grace_seconds)
        else:
            wasyncore.close_all(self._map)
        dispatcher.shutdown(cancel_pending=True, timeout=grace_seconds)
        self._shutdown_workers()

    def _close_listener(self) -> None:
        self._server.accepting = False
        self._server.del_channel()
        self._server.socket.close()

    def _in_loop(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the I/O loop's thread (waitress's channels are not thread-safe)."""
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        try:
            self._server.trigger.pull_trigger(run)
        except OSError:
            # The loop closed its trigger already (a dispatcher error closes channels, the
            # trigger among them): no loop is left to hand over to, so act from this thread.
            if self._thread is not None:
                self._thread.join(timeout=1)
            run()
            return
        done.wait(timeout=5)

    def _shutdown_workers(self) -> None:
        while self._on_stop:
            callback = self._on_stop.pop()
            try:
                callback()
            except Exception:  # a failing worker must not keep the others running
                log.exception("error while stopping a background worker")

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Task(WSGITask):
    """waitress capitalises every response header name. HTTP does not care, but botocore keeps
    the case of an ``x-amz-meta-*`` name as the user-metadata key, and S3 sends those names in
    lower case (the keys are stored lower-cased), so they go out in lower case again."""

    def build_response_header(self) -> bytes:
        lines = bytes(super().build_response_header()).split(b"\r\n")
        for index, line in enumerate(lines):
            if line[:11].lower() == b"x-amz-meta-":
                name, sep, value = line.partition(b":")
                lines[index] = name.lower() + sep + value
        return b"\r\n".join(lines)


class _Channel(HTTPChannel):
    task_class = _Task

    def send_continue(self) -> None:
        """waitress marks the request incomplete after ``100 Continue`` so that the body follows;
        with ``Expect: 100-continue`` and an empty body (botocore's empty PutObject) no body ever
        follows and the request would hang. Such a request is complete: answer it directly, as
        RFC 9110 allows."""
        request = self.request
        if request is not None and request.completed and not request.chunked and not request.content_length:
            request.expect_continue = False
            return
        super().send_continue()


def _raw_uri(app: WsgiApp) -> WsgiApp:
    """The request target exactly as sent: waitress calls it ``REQUEST_URI``, other servers
    ``RAW_URI`` (:func:`pipelines.api.codec.request_path` reads either; without it, an encoded
    ``/``, ``?`` or ``%`` in an S3 key would be decoded before routing)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["RAW_URI"] = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        return app(environ, start_response)

    return wrapped
