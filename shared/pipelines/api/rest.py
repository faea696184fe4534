"""REST and query protocols (rest-json for Scheduler and RAM, rest-xml for S3, query for STS) on
the wire.

A :class:`RestService` serves one service's operations from a table of transport-free handlers,
exactly as :class:`pipelines.api.wire.JsonService` does for the JSON protocol: it routes the
request to its operation, reads the parameters, validates them with the same strict validator,
calls the handler, writes the result (checked by the same shapes in strict mode) and renders
errors the way each protocol's SDK parser reads them.

The protocol work is :class:`pipelines.api.codec.ModelCodec`, driven by botocore's service model
alone, with the body format of the model's protocol: :class:`~pipelines.api.rest_json.RestJsonCodec`,
:class:`~pipelines.api.rest_xml.RestXmlCodec` or :class:`~pipelines.api.query.QueryCodec`. The
api Lambda (Scheduler, RAM) and ``pipelines serve`` (all four) run the same code.

The request may be a werkzeug ``Request`` (``pipelines serve``) or any object with ``method``,
``path``, ``headers`` and ``args`` (a ``MultiDict`` or a mapping of lists), such as
:class:`RestRequest` (API Gateway proxy events).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel

from pipelines.api.codec import ModelCodec
from pipelines.api.errors import InternalFailure, UnknownOperation
from pipelines.api.query import QueryCodec
from pipelines.api.rest_json import RestJsonCodec
from pipelines.api.rest_xml import RestXmlCodec
from pipelines.api.validation import service_model, validate_input
from pipelines.api.wire import CallContext, Handler, HttpResponse
from pipelines.errors import PipelinesError

log = logging.getLogger(__name__)

PROTOCOL_CODECS: dict[str, Callable[[str], ModelCodec]] = {
    "rest-json": RestJsonCodec,
    "rest-xml": RestXmlCodec,
    "query": QueryCodec,
}
"""The codec of each botocore protocol a :class:`RestService` serves."""


@dataclass(frozen=True)
class RestRequest:
    """A REST request outside a WSGI server (an API Gateway proxy event)."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, list[str]] = field(default_factory=dict)


class RestService:
    """One REST- or query-protocol service and the operations it serves."""

    def __init__(
        self,
        service_name: str,
        handlers: Mapping[str, Handler],
        *,
        strict_shapes: bool = False,
        codec: ModelCodec | None = None,
    ) -> None:
        self.service_name = service_name
        if codec is None:
            protocol = service_model(service_name).protocol
            factory = PROTOCOL_CODECS.get(protocol)
            if factory is None:
                raise ValueError(f"{service_name} speaks {protocol}, which no codec serves here")
            codec = factory(service_name)
        self.codec = codec
        self.handlers = dict(handlers)
        self.strict_shapes = strict_shapes

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
        operation, labels = self.codec.match(request, body)
        handler = self.handlers.get(operation.name)
        if handler is None:
            raise UnknownOperation(f"{operation.name} is not supported by this endpoint")
        body = self.prepare_body(request, body)
        parsed = self.codec.parse(operation, labels, request, body, request.args)
        params = validate_input(operation, parsed)
        result = handler(params, context)
        status, headers, payload = self.codec.serialize(
            operation, result, strict=self.strict_shapes, request_id=context.request_id
        )
        headers[self.codec.request_id_header] = context.request_id
        return self.finish(operation, result, HttpResponse(status, headers, payload))

    def prepare_body(self, request: Any, body: bytes) -> bytes:
        """The body as the protocol parser should see it (a hook for transfer encodings)."""
        return body

    def finish(
        self, operation: OperationModel, result: dict[str, Any], response: HttpResponse
    ) -> HttpResponse:
        """A hook for what the model cannot express (statuses, payload content types)."""
        return response

    def error_response(self, request: Any, error: PipelinesError, context: CallContext) -> HttpResponse:
        """``error`` in the service's protocol (a HEAD response carries no body)."""
        return self.codec.error_response(error, context.request_id, head=request.method == "HEAD")
