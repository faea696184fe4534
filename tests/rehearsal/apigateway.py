"""API Gateway (REST, ``AWS_IAM`` auth, ``AWS_PROXY`` integrations) on a loopback port.

moto's API Gateway does not run ``AWS_PROXY`` integrations, so this small HTTP server does
what the deployed stage does with a request:

1. **Authentication.** The request must be SigV4-signed for ``execute-api`` in the stage's
   region with a key IAM knows (:class:`KeyHolder`: an IAM user's access key or an STS session,
   in any account). The signature is recomputed with the key's secret
   (``pipelines.api.identity``, botocore's own signer) and a session's token must be its own.
2. **Authorization** of ``execute-api:Invoke`` on the method's ARN, as API Gateway combines
   the API's resource policy (the template's ``RestApi.Policy``) with the caller's identity
   policies: an explicit deny in either refuses; a caller of the API's own account needs its
   identity policies to allow (or the resource policy to name it); a caller of another account
   needs both (the resource policy naming its account, as ``sharingAccounts`` does, and its
   identity policies).
3. Refusals are answered with the template's gateway responses (``AWS::ApiGateway::
   GatewayResponse``: status, headers and the ``application/json`` template), so clients see
   the error codes the deployed API sends.
4. The request is matched against the template's methods, and the integrated function invoked
   with a REST (v1) proxy event whose ``requestContext.identity`` carries what AWS_IAM
   authentication established (``accountId``, ``userArn``, ``caller``, ``user``,
   ``accessKey``).

A stage URL ``https://<api id>.execute-api.<region>.amazonaws.com/<stage>/`` is served at
``http://127.0.0.1:<port>/<api id>/<stage>/``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pipelines.api.identity import AuthenticationFailed, Authenticator, SignedRequest, signed_credential

Invoke = Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any] | None]]
"""(function name, event) -> (payload, error): the local Lambda service."""

Effect = Literal["allow", "deny", "neither"]
INVOKE = "execute-api:Invoke"
# Gateway response types and their default status codes (API Gateway developer guide,
# "Gateway response types"); the template's GatewayResponse may set another.
DEFAULT_STATUS = {
    "ACCESS_DENIED": 403,
    "UNAUTHORIZED": 401,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "INVALID_SIGNATURE": 403,
    "EXPIRED_TOKEN": 403,
}
# what a failed signature check is, in gateway response types
_AUTH_FAILURES = {
    "MissingAuthenticationToken": "MISSING_AUTHENTICATION_TOKEN",
    "UnrecognizedClientException": "UNAUTHORIZED",
}


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


@dataclass(frozen=True)
class GatewayResponse:
    """A template's ``AWS::ApiGateway::GatewayResponse``: how API Gateway answers a refusal."""

    status: int | None
    headers: tuple[tuple[str, str], ...]
    template: str | None  # the application/json template

    def render(self, response_type: str, message: str) -> tuple[int, dict[str, str], bytes]:
        status = self.status or DEFAULT_STATUS.get(response_type, 400)
        if self.template is None:
            return status, dict(self.headers), json.dumps({"message": message}).encode()
        body = (
            self.template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.message", message)
            .replace("$context.error.responseType", response_type)
        )
        return status, {"Content-Type": "application/json", **dict(self.headers)}, body.encode()


class UnmodelledPolicy(AssertionError):
    """A resource policy element the rehearsal does not evaluate (it must not guess)."""


@dataclass(frozen=True)
class ResourcePolicy:
    """The RestApi's resource policy, its ``execute-api:`` resources expanded as API Gateway does."""

    statements: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(cls, document: Mapping[str, Any] | None, api_arn: str) -> ResourcePolicy:
        if not document:
            return cls(())
        statements = document["Statement"]
        expanded = []
        for statement in statements if isinstance(statements, list) else [statements]:
            unmodelled = set(statement) - {"Sid", "Effect", "Principal", "Action", "Resource"}
            if unmodelled or not isinstance(statement.get("Principal"), str | dict):
                raise UnmodelledPolicy(f"resource policy statement {statement}: {sorted(unmodelled)}")
            resources = statement["Resource"]
            resources = [resources] if isinstance(resources, str) else resources
            expanded.append(
                {
                    **statement,
                    "Resource": [
                        api_arn + r.removeprefix("execute-api:") if r.startswith("execute-api:") else r
                        for r in resources
                    ],
                }
            )
        return cls(tuple(expanded))

    def decide(self, caller: Caller, method_arn: str) -> tuple[Effect, bool]:
        """(effect, whether an allowing statement names the caller itself, not its account)."""
        effect: Effect = "neither"
        named = False
        for statement in self.statements:
            who = _principal_match(statement["Principal"], caller)
            if who is None or not _matches(statement["Action"], INVOKE):
                continue
            if not _matches(statement["Resource"], method_arn):
                continue
            if statement["Effect"] == "Deny":
                return "deny", False
            effect = "allow"
            named = named or who == "caller"
        return effect, named


def _principal_match(principal: str | Mapping[str, Any], caller: Caller) -> str | None:
    """'caller' if the principal names the caller, 'account' if its account (or anyone)."""
    if principal == "*":
        return "account"
    if not isinstance(principal, Mapping) or set(principal) != {"AWS"}:
        raise UnmodelledPolicy(f"principal {principal!r}")
    values = principal["AWS"]
    for value in [values] if isinstance(values, str) else values:
        if value in ("*", caller.account, f"arn:aws:iam::{caller.account}:root"):
            return "account"
        if value == caller.arn:
            return "caller"
    return None


def _matches(patterns: str | list[str], value: str) -> bool:
    """IAM's wildcard match (``*``, ``?``); actions compare case-insensitively."""
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        flags = re.IGNORECASE if pattern.count(":") == 1 and not pattern.startswith("arn:") else 0
        if re.fullmatch(regex, value, flags):
            return True
    return False


@dataclass
class RestApi:
    api_id: str
    account: str
    region: str
    stages: set[str] = field(default_factory=set)
    methods: list[Method] = field(default_factory=list)
    mocks: list[MockMethod] = field(default_factory=list)
    policy: ResourcePolicy = field(default_factory=lambda: ResourcePolicy(()))
    responses: dict[str, GatewayResponse] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}"

    def method_arn(self, stage: str, http_method: str, path: str) -> str:
        """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``."""
        return f"{self.arn}/{stage}/{http_method}{path}"

    def refusal(self, response_type: str, message: str) -> tuple[int, dict[str, str], bytes]:
        """The gateway response for ``response_type`` (else DEFAULT_4XX, else API Gateway's own)."""
        response = self.responses.get(response_type) or self.responses.get("DEFAULT_4XX")
        if response is None:
            response = GatewayResponse(None, (), None)
        return response.render(response_type, message)

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
    principal_id: str = ""  # IAM's unique id: AIDA... for a user, AROA...:<session> for a session
    access_key: str = ""


@dataclass(frozen=True)
class KeyHolder:
    """What IAM knows of an access key id: who holds it, the secret that signs with it, the
    session token that must come with it, and how the holder's identity policies decide."""

    caller: Caller
    secret_key: str
    session_token: str | None
    identity: Callable[[str, str], Effect]  # (action, resource) -> effect


class LocalApiGateway:
    def __init__(
        self,
        invoke: Invoke,
        holder_of: Callable[[str, Mapping[str, str]], KeyHolder | None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.invoke = invoke
        self.holder_of = holder_of  # (access key id, request headers) -> its holder (None: unknown)
        self.clock = clock
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
        matched = api.match(path, request.command)
        if matched is None:
            return self._refuse(
                request, api, path, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"
            )
        holder = self._authenticate(request, url.path, url.query, body, api)
        if isinstance(holder, tuple):
            return self._refuse(request, api, path, *holder)
        denied = self._authorize(holder, api.method_arn(stage, request.command, path), api)
        if denied is not None:
            return self._refuse(request, api, path, "ACCESS_DENIED", denied)
        method, path_parameters = matched
        event = self._proxy_event(request, api, stage, path, url.query, body, method, path_parameters, holder)
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

    def _authenticate(
        self, request: BaseHTTPRequestHandler, raw_path: str, raw_query: str, body: bytes, api: RestApi
    ) -> KeyHolder | tuple[str, str]:
        """The key's holder, or (gateway response type, message)."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        credential = signed_credential(headers.get("authorization"))
        if credential is None:
            return "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"
        if credential.service != "execute-api" or credential.region != api.region:
            return (
                "INVALID_SIGNATURE",
                f"Credential should be scoped to correct service: 'execute-api' in {api.region}.",
            )
        holder = self.holder_of(credential.access_key, request.headers)
        if holder is None or headers.get("x-amz-security-token") != holder.session_token:
            return "UNAUTHORIZED", "The security token included in the request is invalid."
        verifier = Authenticator(
            {credential.access_key: holder.caller.account},
            {credential.access_key: holder.secret_key},
            holder.caller.account,
            clock=self.clock,
        )
        signed = SignedRequest(request.command, raw_path, raw_query, headers, body)
        try:
            verifier.account_for(signed, "execute-api")
        except AuthenticationFailed as exc:
            return _AUTH_FAILURES.get(exc.code, "INVALID_SIGNATURE"), exc.message
        return holder

    @staticmethod
    def _authorize(holder: KeyHolder, method_arn: str, api: RestApi) -> str | None:
        """None if ``execute-api:Invoke`` is allowed, else API Gateway's message."""
        caller = holder.caller
        policy, named = api.policy.decide(caller, method_arn)
        identity = holder.identity(INVOKE, method_arn)
        refused = f"User: {caller.arn} is not authorized to perform: {INVOKE} on resource: {method_arn}"
        if "deny" in (policy, identity):
            return refused + " with an explicit deny"
        if caller.account == api.account:
            allowed = identity == "allow" or named
        else:  # cross-account: the resource policy must admit the account, and IAM the caller
            allowed = policy == "allow" and identity == "allow"
        return None if allowed else refused

    def _refuse(
        self, request: BaseHTTPRequestHandler, api: RestApi, path: str, response_type: str, message: str
    ) -> None:
        status, headers, data = api.refusal(response_type, message)
        self.requests.append((request.command, path, status))
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

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
        holder: KeyHolder,
    ) -> dict[str, Any]:
        caller = holder.caller
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
                    "caller": caller.principal_id,
                    "user": caller.principal_id,
                    "accessKey": caller.access_key,
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
