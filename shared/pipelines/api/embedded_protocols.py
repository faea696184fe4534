"""The rest-xml (S3) and query (STS) codecs of ``pipelines serve``, on moto's protocol layer.

S3's wire format (query-string-selected operations, header-bound members, streaming payloads,
XML with S3's quirks) and STS's query protocol are served by moto's botocore-model-driven
routing, parser and serializer (``moto.core.routing`` / ``parse`` / ``serialize``). Only the
embedded server imports this module (``pipelines.api.embedded``, which calls :func:`register`):
moto is a dependency of ``pipelines serve``, never of the Lambdas, whose REST subsets (Scheduler,
RAM) use :mod:`pipelines.api.rest_json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.routing import get_service_router
from moto.core.serialize import get_serializer_class
from werkzeug.exceptions import NotFound

from pipelines.api.errors import SerializationError, UnknownOperation
from pipelines.api.rest import register_codec
from pipelines.api.shapes import shape_output


class MotoProtocolCodec:
    """Routing, parsing and serialisation of one service by moto's protocol layer."""

    def __init__(self, service_name: str) -> None:
        self.service_name = service_name
        self.router = get_service_router(service_name)

    def match(self, request: Any) -> tuple[OperationModel, dict[str, str]]:
        try:
            operation, labels = self.router.match(request)  # moto's own OperationModel subclass
        except (NotFound, NotImplementedError) as exc:
            raise UnknownOperation(
                f"no {self.service_name} operation at {request.method} {request.path}"
            ) from exc
        return operation, dict(labels)

    def parse(
        self, operation: OperationModel, labels: Mapping[str, str], request: Any, body: bytes, values: Any
    ) -> dict[str, Any]:
        moto_operation: Any = operation  # moto's own OperationModel subclass, from its router
        parser = PROTOCOL_PARSERS[operation.service_model.protocol](moto_operation)
        try:
            parsed = parser.parse(
                {
                    "body": body,
                    "headers": request.headers,
                    "method": request.method,
                    "url_params": dict(labels),
                    "url_path": request.path,
                    "values": values,
                }
            )
        except (ValueError, TypeError, KeyError, OverflowError, RuntimeError) as exc:
            raise SerializationError(f"could not read the request: {exc}") from exc
        return dict(_without_undefined(parsed))

    def serialize(
        self, operation: OperationModel, result: Mapping[str, Any], *, strict: bool
    ) -> tuple[int, dict[str, str], bytes]:
        if strict:
            shape_output(operation.output_shape, _without_body(dict(result)), strict=True)
        moto_operation: Any = operation
        serializer = get_serializer_class(self.service_name, operation.service_model.protocol)(moto_operation)
        serialized = serializer.serialize(dict(result))
        headers = {str(k): str(v) for k, v in serialized["headers"].items()}
        raw = serialized["body"]
        payload = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
        return int(serialized["status_code"]), headers, payload


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


def register() -> None:
    """Make :class:`pipelines.api.rest.RestService` serve rest-xml (S3) and query (STS) services
    with this codec."""
    register_codec("rest-xml", MotoProtocolCodec)
    register_codec("query", MotoProtocolCodec)
