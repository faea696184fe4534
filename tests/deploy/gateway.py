"""A boto3 transport through the api Lambda: every request a real client sends becomes the
API Gateway (REST, AWS_IAM) proxy event the deployed function receives.

Like API Gateway, the harness refuses requests not signed for ``execute-api`` (403 with the
gateway response body the stack configures), strips the stage from the path, and states the
caller's account in ``requestContext.identity`` -- which is all the handler may trust.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from pipelines.deploy.apigateway import CloudEndpoint, handle_proxy_event, to_proxy_response

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
STAGE = "dev"
API_URL = f"https://abc123.execute-api.us-east-1.amazonaws.com/{STAGE}/"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def proxy_event(request: AWSPreparedRequest, account_id: str | None) -> dict[str, Any]:
    url = urlsplit(request.url)
    path = url.path
    if path.startswith(f"/{STAGE}"):
        path = path[len(STAGE) + 1 :] or "/"
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    headers = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()}
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    identity: dict[str, Any] = {"sourceIp": "203.0.113.7"}
    if account_id is not None:
        identity.update(
            accountId=account_id, userArn=f"arn:aws:iam::{account_id}:user/tester", caller="AIDATEST"
        )
    return {
        "resource": "/{proxy+}" if path != "/" else "/",
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "body": body.decode("utf-8") if isinstance(body, bytes) else str(body),
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": STAGE,
            "path": url.path,
            "identity": identity,
        },
    }


def gateway_refusal(code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": 403,
        "headers": {"x-amzn-ErrorType": code, "Content-Type": "application/json"},
        "body": json.dumps({"__type": code, "message": message}),
    }


class Gateway:
    """Routes clients' requests into ``handler`` (default: the endpoint's proxy handler)."""

    def __init__(
        self,
        endpoint: CloudEndpoint | None = None,
        *,
        account_id: str | None = "111111111111",
        handler: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.account_id = account_id
        self.handler = handler
        self.events: list[dict[str, Any]] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register_first("before-send", self._send)
        return client

    def _send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        authorization = request.headers.get("Authorization", "")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        match = _SCOPE.search(str(authorization))
        if match is None or match.group(2) != "execute-api":
            response = gateway_refusal("InvalidSignatureException", "requests must be signed for execute-api")
        else:
            event = proxy_event(request, self.account_id)
            self.events.append(event)
            if self.handler is not None:
                response = dict(self.handler(event))
            else:
                assert self.endpoint is not None
                response = to_proxy_response(handle_proxy_event(self.endpoint, event)[1])
        body = str(response["body"]).encode()
        return AWSResponse(request.url, int(response["statusCode"]), dict(response["headers"]), _Raw(body))
