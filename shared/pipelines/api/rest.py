"""REST protocols (rest-json for Scheduler and RAM, rest-xml for S3) on the wire.

A :class:`RestService` serves one service's operations from a table of transport-free handlers,
exactly as :class:`pipelines.api.wire.JsonService` does for the JSON protocol: it routes the
request to its operation, reads the parameters, validates them with the same strict validator,
calls the handler, writes the result (checked by the same shapes in strict mode) and renders
errors the way each protocol's SDK parser reads them.

The protocol work is a codec chosen by the service model's protocol:

- ``rest-json`` (Scheduler, RAM): :class:`pipelines.api.rest_json.RestJsonCodec`, driven by
  botocore's service model alone. This is what the api Lambda runs.
- ``rest-xml`` (S3) and ``query`` (STS), served by ``pipelines serve`` only: registered by
  :func:`pipelines.api.embedded_protocols.register` (moto's protocol layer), which the embedded
  server calls; the Lambdas never import that module.

The request may be a werkzeug ``Request`` (``pipelines serve``) or any object with ``method``,
``path``, ``headers`` and ``args`` (a ``MultiDict`` or a mapping of lists), such as
:class:`RestRequest` (API Gateway proxy events).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from xml.sax.saxutils import escape

from botocore.model import OperationModel

from pipelines.api.errors import InternalFailure, UnknownOperation, http_status
from pipelines.api.rest_json import RestJsonCodec
from pipelines.api.validation import service_model, validate_input
from pipelines.api.wire import CallContext, Handler, HttpResponse
from pipelines.errors import PipelinesError

log = logging.getLogger(__name__)


class RestCodec(Protocol):
    """One REST protocol: routing, request reading, response writing."""

    def match(self, request: Any) -> tuple[OperationModel, dict[str, str]]:
        """The operation and its URI labels; raises UnknownOperation when none matches."""
        ...

    def parse(
        self, operation: OperationModel, labels: Mapping[str, str], request: Any, body: bytes, values: Any
    ) -> dict[str, Any]:
        """The operation's input parameters; ``values`` is the query as RestService.values gives it."""
        ...

    def serialize(
        self, operation: OperationModel, result: Mapping[str, Any], *, strict: bool
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of a successful call."""
        ...


PROTOCOL_CODECS: dict[str, Callable[[str], RestCodec]] = {"rest-json": RestJsonCodec}
"""Codec factories by botocore protocol name; :mod:`pipelines.api.embedded_protocols` adds
``rest-xml`` and ``query``."""


def register_codec(protocol: str, factory: Callable[[str], RestCodec]) -> None:
    PROTOCOL_CODECS[protocol] = factory


@dataclass(frozen=True)
class RestRequest:
    """A REST request outside a WSGI server (an API Gateway proxy event)."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, list[str]] = field(default_factory=dict)


class RestService:
    """One REST-protocol service and the operations it serves."""

    def __init__(
        self, service_name: str, handlers: Mapping[str, Handler], *, strict_shapes: bool = False
    ) -> None:
        self.service_name = service_name
        protocol = service_model(service_name).protocol
        factory = PROTOCOL_CODECS.get(protocol)
        if factory is None:
            raise ValueError(
                f"{service_name} speaks {protocol}, which no codec serves here (the embedded S3 "
                "endpoint's codecs are registered by pipelines.api.embedded_protocols.register())"
            )
        self.codec = factory(service_name)
        self.handlers = dict(handlers)
        self.strict_shapes = strict_shapes

    @property
    def router(self) -> Any:
        """The router of a moto-backed codec (S3, STS), which S3Service replaces with a
        path-style one; rest-json services have none."""
        router = getattr(self.codec, "router", None)
        if router is None:
            raise AttributeError(f"{self.service_name}'s {type(self.codec).__name__} has no router")
        return router

    @router.setter
    def router(self, router: Any) -> None:
        if not hasattr(self.codec, "router"):
            raise AttributeError(f"{self.service_name}'s {type(self.codec).__name__} has no router")
        self.codec.router = router

    def matches(self, request: Any) -> bool:
        """Whether the request's method and path are one of this service's operations."""
        try:
            self.codec.match(request)
        except UnknownOperation:
            return False
        return True

    def handle(self, request: Any, body: bytes, context: CallContext) -> HttpResponse:
        try:
            return self._handle(request, body, context)
        except PipelinesError as error:
            return self.error_response(request, error, context)
        except Exception:
            log.exception("unexpected fault in %s %s", self.service_name, request.path)
            return self.error_response(
                request, InternalFailure("internal error; see the server log"), context
            )

    def _handle(self, request: Any, body: bytes, context: CallContext) -> HttpResponse:
        operation, labels = self.route(request, body)
        handler = self.handlers.get(operation.name)
        if handler is None:
            raise UnknownOperation(f"{operation.name} is not supported by this endpoint")
        body = self.prepare_body(request, body)
        parsed = self.codec.parse(operation, labels, request, body, self.values(request, body))
        params = validate_input(operation, parsed)
        result = handler(params, context)
        status, headers, payload = self.codec.serialize(operation, result, strict=self.strict_shapes)
        headers["x-amzn-RequestId"] = context.request_id
        return self.finish(operation.name, result, HttpResponse(status, headers, payload))

    def route(self, request: Any, body: bytes) -> tuple[Any, dict[str, Any]]:
        """The operation a request names and its URI parameters (a hook for protocols that name
        it in the body, like STS's query protocol)."""
        return self.codec.match(request)

    def values(self, request: Any, body: bytes) -> Any:
        """The query values the protocol parser reads."""
        return request.args

    def prepare_body(self, request: Any, body: bytes) -> bytes:
        """The body as the protocol parser should see it (a hook for transfer encodings)."""
        return body

    def finish(self, operation_name: str, result: dict[str, Any], response: HttpResponse) -> HttpResponse:
        """A hook for what the model cannot express (statuses, payload content types)."""
        return response

    def error_response(self, request: Any, error: PipelinesError, context: CallContext) -> HttpResponse:
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
    ).encode()
    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    return HttpResponse(status, headers, b"" if head else body)
