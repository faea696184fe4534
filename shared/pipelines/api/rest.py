"""REST protocols (rest-json for Scheduler and RAM, rest-xml for S3) on the wire.

The routing, request parsing and response serialisation come from moto's protocol layer,
which is driven by botocore's service models (``moto.core.routing`` / ``parse`` /
``serialize``): maintained code that already knows every URI template, header binding,
query-string member, payload member and XML quirk of these services. What it calls is ours:
a table of transport-free handlers, exactly as for the JSON protocol in :mod:`pipelines.api.wire`.
Requests are validated with the same strict validator, responses checked by the same shapes
in strict mode. Errors are rendered the way each protocol's SDK parser reads them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import Request
from moto.core.routing import ServiceOperationRouter, get_service_router
from moto.core.serialize import get_serializer_class
from werkzeug.exceptions import NotFound

from pipelines.api.errors import InternalFailure, SerializationError, UnknownOperation, http_status
from pipelines.api.shapes import shape_output
from pipelines.api.validation import validate_input
from pipelines.api.wire import CallContext, Handler, HttpResponse
from pipelines.errors import PipelinesError

log = logging.getLogger(__name__)


class RestService:
    """One REST-protocol service and the operations it serves."""

    def __init__(
        self, service_name: str, handlers: Mapping[str, Handler], *, strict_shapes: bool = False
    ) -> None:
        self.service_name = service_name
        self.router: ServiceOperationRouter = get_service_router(service_name)
        self.handlers = dict(handlers)
        self.strict_shapes = strict_shapes

    def matches(self, request: Request) -> bool:
        """Whether the request's method and path are one of this service's operations."""
        try:
            self.router.match(request)
        except (NotFound, NotImplementedError):
            return False
        return True

    def handle(self, request: Request, body: bytes, context: CallContext) -> HttpResponse:
        try:
            return self._handle(request, body, context)
        except PipelinesError as error:
            return self.error_response(request, error, context)
        except Exception:
            log.exception("unexpected fault in %s %s", self.service_name, request.path)
            return self.error_response(
                request, InternalFailure("internal error; see the server log"), context
            )

    def _handle(self, request: Request, body: bytes, context: CallContext) -> HttpResponse:
        operation, uri_params = self.route(request, body)
        handler = self.handlers.get(operation.name)
        if handler is None:
            raise UnknownOperation(f"{operation.name} is not supported by this endpoint")
        parser = PROTOCOL_PARSERS[operation.service_model.protocol](operation)
        body = self.prepare_body(request, body)
        try:
            parsed = parser.parse(
                {
                    "body": body,
                    "headers": request.headers,
                    "method": request.method,
                    "url_params": uri_params,
                    "url_path": request.path,
                    "values": self.values(request, body),
                }
            )
        except (ValueError, TypeError, KeyError, OverflowError, RuntimeError) as exc:
            raise SerializationError(f"could not read the request: {exc}") from exc
        params = validate_input(operation, _without_undefined(parsed))
        result = handler(params, context)
        if self.strict_shapes:
            shape_output(operation.output_shape, _without_body(result), strict=True)
        serializer = get_serializer_class(self.service_name, operation.service_model.protocol)(operation)
        serialized = serializer.serialize(result)
        headers = {str(k): str(v) for k, v in serialized["headers"].items()}
        headers["x-amzn-RequestId"] = context.request_id
        raw = serialized["body"]
        payload = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
        return self.finish(
            operation.name, result, HttpResponse(int(serialized["status_code"]), headers, payload)
        )

    def route(self, request: Request, body: bytes) -> tuple[Any, dict[str, Any]]:
        """The operation a request names and its URI parameters."""
        try:
            operation, uri_params = self.router.match(request)
        except (NotFound, NotImplementedError) as exc:
            raise UnknownOperation(
                f"no {self.service_name} operation at {request.method} {request.path}"
            ) from exc
        return operation, uri_params

    def values(self, request: Request, body: bytes) -> Any:
        """The query values the protocol parser reads."""
        return request.args

    def prepare_body(self, request: Request, body: bytes) -> bytes:
        """The body as the protocol parser should see it (a hook for transfer encodings)."""
        return body

    def finish(self, operation_name: str, result: dict[str, Any], response: HttpResponse) -> HttpResponse:
        """A hook for what the model cannot express (statuses, payload content types)."""
        return response

    def error_response(self, request: Request, error: PipelinesError, context: CallContext) -> HttpResponse:
        status = http_status(error)
        if self.service_name == "s3":
            return s3_error_response(error, status, context.request_id, head=request.method == "HEAD")
        body = json.dumps({"__type": error.code, "message": error.message}).encode()
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": error.code,
            "x-amzn-RequestId": context.request_id,
        }
        return HttpResponse(status, headers, body)


def s3_error_response(
    error: PipelinesError, status: int, request_id: str, *, head: bool = False
) -> HttpResponse:
    """S3's XML error document (HEAD responses carry no body, as on S3)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"<RequestId>{escape(request_id)}</RequestId></Error>"
    ).encode("utf-8", "backslashreplace")  # a message quoting a lone surrogate stays sendable
    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    return HttpResponse(status, headers, b"" if head else body)


def _without_undefined(value: Any) -> Any:
    """moto's parser marks unparseable booleans with an UNDEFINED sentinel; drop them so the
    validator reports the member as missing or wrong instead of crashing."""
    if isinstance(value, dict):
        return {k: _without_undefined(v) for k, v in value.items() if _is_plain(v)}
    if isinstance(value, list):
        return [_without_undefined(v) for v in value if _is_plain(v)]
    return value


def _is_plain(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str | bytes | int | float | bool | dict | list)
        or hasattr(value, "isoformat")
    )


def _without_body(result: dict[str, Any]) -> dict[str, Any]:
    """Streaming payloads are not checked member by member."""
    return {k: v for k, v in result.items() if k != "Body"}
