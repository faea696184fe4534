"""The HTTP server of ``pipelines serve``: every API of the embedded runtime on one port.

One WSGI app (served by werkzeug's threaded server) answers four AWS protocols, told apart
the way AWS's own front ends tell them apart:

1. ``X-Amz-Target`` present, or an ``application/x-amz-json-*`` body -> SageMaker (AWS JSON 1.1);
2. else the SigV4 credential scope's service (``sagemaker``/``execute-api``, ``scheduler``,
   ``ram``, ``s3``) picks the API -- every SDK client signs, so this settles real traffic;
3. else (unsigned) the path: a Scheduler or RAM URI template, otherwise S3 (path-style).

So ``AWS_ENDPOINT_URL_SAGEMAKER``, ``AWS_ENDPOINT_URL_SCHEDULER``, ``AWS_ENDPOINT_URL_RAM`` and
``AWS_ENDPOINT_URL_S3`` can all point at the same ``http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.core.request import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pipelines.api.errors import RequestTooLarge, http_status
from pipelines.api.identity import Credential, caller_account, signed_credential
from pipelines.api.rest import RestService, s3_error_response
from pipelines.api.wire import CallContext, HttpRequest, HttpResponse, JsonService, error_response

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_S3_BODY_BYTES = 1024**3
DEFAULT_MAX_JSON_BODY_BYTES = 4 * 1024**2

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SAGEMAKER_SCOPES = frozenset({"sagemaker", "execute-api"})


@dataclass
class Services:
    """The APIs one endpoint serves, and how callers map to accounts."""

    sagemaker: JsonService
    region: str
    default_account: str
    accounts: Mapping[str, str] = field(default_factory=dict)
    scheduler: RestService | None = None
    ram: RestService | None = None
    s3: RestService | None = None

    def rest_services(self) -> dict[str, RestService]:
        named = {"scheduler": self.scheduler, "ram": self.ram, "s3": self.s3}
        return {name: service for name, service in named.items() if service is not None}


def choose_service(services: Services, request: Request, credential: Credential | None) -> str:
    """Which API a request is for; see the module docstring for the order."""
    if request.headers.get("X-Amz-Target"):
        return "sagemaker"
    rest = services.rest_services()
    if credential is not None:
        if credential.service in _SAGEMAKER_SCOPES:
            return "sagemaker"
        if credential.service in rest:
            return credential.service
    content_type = (request.headers.get("Content-Type") or "").lower()
    if content_type.startswith("application/x-amz-json"):
        return "sagemaker"
    for name in ("scheduler", "ram"):
        service = rest.get(name)
        if service is not None and service.matches(request):
            return name
    return "s3" if "s3" in rest else "sagemaker"


def make_wsgi_app(services: Services) -> WsgiApp:
    """The WSGI app serving ``services``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        credential = signed_credential(
            request.headers.get("Authorization"), request.args.get("X-Amz-Credential")
        )
        name = choose_service(services, request, credential)
        context = CallContext(
            account_id=caller_account(credential, services.accounts, services.default_account),
            # a regional endpoint's ARNs carry its region: the one the client signed for
            region=credential.region if credential and credential.region else services.region,
            request_id=request_id,
        )
        request.max_content_length = (
            DEFAULT_MAX_S3_BODY_BYTES if name == "s3" else DEFAULT_MAX_JSON_BODY_BYTES
        )
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            response = _too_large(name, request_id, request.max_content_length)
        else:
            response = _dispatch(services, name, request, body, context)
        return _respond(start_response, response, head=request.method == "HEAD")

    return app


def _too_large(service: str, request_id: str, limit: int | None) -> HttpResponse:
    error = RequestTooLarge(f"the request body exceeds {limit} bytes")
    if service == "s3":
        return s3_error_response(error, http_status(error), request_id)
    return error_response(error, request_id)


def _dispatch(
    services: Services, name: str, request: Request, body: bytes, context: CallContext
) -> HttpResponse:
    if name == "sagemaker":
        wire_request = HttpRequest(
            method=request.method,
            path=request.path,
            headers=dict(request.headers.items()),
            body=body,
            query=request.query_string.decode("latin-1"),
        )
        return services.sagemaker.handle(wire_request, context)
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
    416: "Range Not Satisfiable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not stderr (the CLI owns the terminal)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('"%s" %s %s', self.requestline, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        getattr(log, type if type in ("info", "warning", "error") else "debug")(message, *args)


class ApiServer:
    """A threaded HTTP server around a WSGI app, plus the background workers that live with it
    (the embedded driver, the local scheduler), which are stopped with it."""

    def __init__(self, app: WsgiApp, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_QuietHandler
        )
        self._thread: threading.Thread | None = None
        self._on_stop: list[Callable[[], None]] = []

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the server stops (workers register their shutdown here)."""
        self._on_stop.append(callback)

    def serve_forever(self) -> None:
        try:
            self._server.serve_forever(poll_interval=0.1)
        finally:
            self._shutdown_workers()

    def start(self) -> ApiServer:
        """Serve from a daemon thread (tests, embedding); returns self."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="pipelines-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._shutdown_workers()

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
