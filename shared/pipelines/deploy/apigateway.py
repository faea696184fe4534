"""API Gateway (REST, AWS_IAM) proxy events in, the wire layer's responses out.

The api Lambda serves every protocol of the endpoint from one function, told apart as in
``pipelines serve`` except that every caller signs for ``execute-api`` here, so the credential
scope cannot pick the service:

1. ``X-Amz-Target: SageMaker.<Op>`` -> the SageMaker operations; ``AWSEvents.<Op>`` -> the
   EventBridge subset (both AWS JSON 1.1, also on ``POST /<Operation>`` for IAM scoping);
2. otherwise a Scheduler or RAM URI template (``/schedules/<name>``, ``/createresourceshare``...).

The caller's account is the one API Gateway authenticated (``requestContext.identity.accountId``),
never anything in the request; a request without one is refused.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from pipelines.api.errors import AccessDenied, UnknownOperation
from pipelines.api.rest import RestRequest, RestService
from pipelines.api.wire import CallContext, HttpRequest, HttpResponse, JsonService, error_response


@dataclass
class CloudEndpoint:
    """The services one deployment's API serves."""

    sagemaker: JsonService
    region: str
    events: JsonService | None = None
    scheduler: RestService | None = None
    ram: RestService | None = None

    def json_services(self) -> dict[str, JsonService]:
        services = {self.sagemaker.target_prefix: self.sagemaker}
        if self.events is not None:
            services[self.events.target_prefix] = self.events
        return services


@dataclass(frozen=True)
class Caller:
    account_id: str
    arn: str | None


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if values and name not in headers:
            headers[str(name)] = ",".join(str(v) for v in values)
    return headers


def _body(event: Mapping[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


def _query(event: Mapping[str, Any]) -> str:
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi:
        return urlencode([(k, v) for k, values in multi.items() for v in values])
    return urlencode(event.get("queryStringParameters") or {})


def caller(event: Mapping[str, Any]) -> Caller:
    """Who API Gateway authenticated (AWS_IAM); refuses a request without an account."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    account = identity.get("accountId")
    if not account:
        raise AccessDenied("the request carries no authenticated AWS account (AWS_IAM authorization)")
    return Caller(str(account), identity.get("userArn") or identity.get("caller"))


def request_id(event: Mapping[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("requestId") or uuid.uuid4())


CORS_EXPOSED_HEADERS = ("x-amzn-RequestId", "x-amzn-ErrorType", "x-amzn-ErrorMessage")
"""Response headers a browser client reads (request id, the error code of a failed call)."""


def cors_headers(allow_origin: str | None) -> dict[str, str]:
    """What lets the console, served from ``allow_origin``, read an answer cross-origin.

    One fixed origin, never ``*`` nor an echo of the request's ``Origin``: any other page's
    script gets no readable answer (its own signed calls still need credentials it lacks)."""
    if not allow_origin:
        return {}
    return {
        "Access-Control-Allow-Origin": allow_origin,
        "Access-Control-Expose-Headers": ", ".join(CORS_EXPOSED_HEADERS),
        "Vary": "Origin",
    }


def to_proxy_response(response: HttpResponse, *, allow_origin: str | None = None) -> dict[str, Any]:
    """The proxy integration's answer; ``allow_origin``: the console's origin (CORS headers)."""
    return {
        "statusCode": response.status,
        "headers": {**dict(response.headers), **cors_headers(allow_origin)},
        "body": response.body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def handle_proxy_event(endpoint: CloudEndpoint, event: Mapping[str, Any]) -> tuple[str, HttpResponse]:
    """Serve one proxy event; returns the service that answered (for metrics) and the response."""
    rid = request_id(event)
    try:
        who = caller(event)
    except AccessDenied as denied:
        return "none", error_response(denied, rid)
    context = CallContext(
        account_id=who.account_id, region=endpoint.region, request_id=rid, principal_arn=who.arn
    )
    method = str(event.get("httpMethod") or "POST")
    path = str(event.get("path") or "/")
    headers = _headers(event)
    body = _body(event)
    target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), None)
    if target is not None:
        prefix = target.partition(".")[0]
        service = endpoint.json_services().get(prefix, endpoint.sagemaker)
        wire = HttpRequest(method=method, path=path, headers=headers, body=body, query=_query(event))
        return prefix, service.handle(wire, context)
    request = RestRequest(method, path, headers, parse_qs(_query(event), keep_blank_values=True))
    for name, rest in (("scheduler", endpoint.scheduler), ("ram", endpoint.ram)):
        if rest is not None and rest.matches(request):
            return name, rest.handle(request, body, context)
    error = UnknownOperation(
        f"no operation at {method} {path}: send X-Amz-Target for SageMaker and EventBridge calls"
    )
    return "none", error_response(error, rid)
