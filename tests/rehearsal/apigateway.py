"""API Gateway (REST, ``AWS_IAM`` auth, ``AWS_PROXY`` integrations) on a loopback port.

moto's API Gateway does not run ``AWS_PROXY`` integrations, so this small HTTP server does
what the deployed stage does with a request: it refuses a request that is not SigV4-signed for
``execute-api`` in the stage's region, matches it against the template's methods, and invokes
the integrated function with a REST (v1) proxy event carrying the caller's identity. A stage
URL ``https://<api id>.execute-api.<region>.amazonaws.com/<stage>/`` is served at
``http://127.0.0.1:<port>/<api id>/<stage>/``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Invoke = Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any] | None]]
"""(function name, event) -> (payload, error): the local Lambda service."""

_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Method:
    resource: str  # "/" or "/{proxy+}"
    http_method: str  # "POST", "ANY"...
    function: str  # the integrated function's name


@dataclass(frozen=True)
class MockMethod:
    """A method API Gateway answers itself (a CORS preflight: MOCK integration, no auth)."""

    resource: str
    http_method: str
    status: int
    headers: tuple[tuple[str, str], ...]


@dataclass
class RestApi:
    api_id: str
    account: str
    region: str
    stages: set[str] = field(default_factory=set)
    methods: list[Method] = field(default_factory=list)
    mocks: list[MockMethod] = field(default_factory=list)

    def match(self, path: str, http_method: str) -> tuple[Method, dict[str, str]] | None:
        for method in self.methods:
            if method.http_method not in ("ANY", http_method):
                continue
            if method.resource == path:
                return method, {}
            if method.resource.endswith("/{proxy+}"):
                base = method.resource[: -len("{proxy+}")]
                if path.startswith(base) and len(path) > len(base):
                    return method, {"proxy": path[len(base) :]}
        return None

    def mock(self, path: str, http_method: str) -> MockMethod | None:
        """The mock method for this path, which API Gateway prefers to an ``ANY`` method."""
        for mock in self.mocks:
            if mock.http_method != http_method:
                continue
            if mock.resource == path:
                return mock
            base = mock.resource[: -len("{proxy+}")]
            if mock.resource.endswith("/{proxy+}") and path.startswith(base) and len(path) > len(base):
                return mock
        return None


@dataclass(frozen=True)
class Caller:
    """Who the signature says is calling (API Gateway resolves the access key to an identity)."""

    account: str
    arn: str


class LocalApiGateway:
    def __init__(self, invoke: Invoke, caller_of: Callable[[str], Caller | None]) -> None:
        self.invoke = invoke
        self.caller_of = caller_of  # access key id -> identity (None: unknown key)
        self.apis: dict[str, RestApi] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gateway._serve(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stage_url(self, api_id: str, stage: str) -> str:
        return f"{self.base_url}/{api_id}/{stage}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    # -- serving -----------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        parts = url.path.split("/", 3)  # "", api id, stage, rest
        api = self.apis.get(parts[1]) if len(parts) > 2 else None
        if api is None or parts[2] not in api.stages:
            return self._reply(request, 403, {"message": "Forbidden"})
        stage, path = parts[2], "/" + (parts[3] if len(parts) > 3 else "")
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        mock = api.mock(path, request.command)
        if mock is not None:  # no authentication: the method's authorization type is NONE
            self.requests.append((request.command, path, mock.status))
            request.send_response(mock.status)
            for name, value in mock.headers:
                request.send_header(name, value)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return None
        caller = self._authenticate(request, api)
        if isinstance(caller, str):
            return self._reply(request, 403, {"message": caller})
        matched = api.match(path, request.command)
        if matched is None:
            return self._reply(request, 403, {"message": "Missing Authentication Token"})
        method, path_parameters = matched
        event = self._proxy_event(request, api, stage, path, url.query, body, method, path_parameters, caller)
        payload, error = self.invoke(method.function, event)
        if error is not None or not isinstance(payload, dict) or "statusCode" not in payload:
            return self._reply(request, 502, {"message": "Internal server error"})
        raw = payload.get("body") or ""
        data = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode()
        self.requests.append((request.command, path, int(payload["statusCode"])))
        request.send_response(int(payload["statusCode"]))
        for name, value in (payload.get("headers") or {}).items():
            request.send_header(name, str(value))
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            for value in values:
                request.send_header(name, str(value))
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _authenticate(self, request: BaseHTTPRequestHandler, api: RestApi) -> Caller | str:
        found = _SCOPE.search(request.headers.get("Authorization") or "")
        if found is None:
            return "Missing Authentication Token"
        access_key, region, service = found.groups()
        if service != "execute-api" or region != api.region:
            return f"Credential should be scoped to correct service: 'execute-api' in {api.region}"
        caller = self.caller_of(access_key)
        if caller is None:
            return "The security token included in the request is invalid."
        return caller

    @staticmethod
    def _proxy_event(
        request: BaseHTTPRequestHandler,
        api: RestApi,
        stage: str,
        path: str,
        query: str,
        body: bytes,
        method: Method,
        path_parameters: dict[str, str],
        caller: Caller,
    ) -> dict[str, Any]:
        headers = {name: value for name, value in request.headers.items()}
        multi_query = parse_qs(query, keep_blank_values=True)
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        request_id = str(uuid.uuid4())
        return {
            "resource": method.resource,
            "path": path,
            "httpMethod": request.command,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": method.resource,
                "httpMethod": request.command,
                "path": f"/{stage}{path}",
                "stage": stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTimeEpoch": int(time.time() * 1000),
                "apiId": api.api_id,
                "accountId": api.account,
                "protocol": "HTTP/1.1",
                "identity": {
                    "accountId": caller.account,
                    "userArn": caller.arn,
                    "caller": caller.arn.rsplit("/", 1)[-1],
                    "user": caller.arn.rsplit("/", 1)[-1],
                    "accessKey": "AKIA" + "X" * 16,
                    "sourceIp": "127.0.0.1",
                    "userAgent": headers.get("User-Agent", ""),
                },
            },
            "body": text or None,
            "isBase64Encoded": encoded,
        }

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header(
            "x-amzn-ErrorType", "AccessDeniedException" if status == 403 else "InternalFailure"
        )
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
