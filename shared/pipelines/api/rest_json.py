"""The rest-json protocol (Scheduler, RAM) on the server side: :class:`pipelines.api.codec.ModelCodec`
with JSON bodies.

A body is a JSON object of the body members (botocore's names); timestamps arrive as epoch
seconds or ISO 8601 and go out as epoch seconds, blobs are base64 (:mod:`pipelines.api.shapes`).
Body keys the model does not know are kept, for the validator to name as unknown parameters.
Errors are ``{"__type": code, "message": ...}`` with ``x-amzn-ErrorType``, as botocore's
rest-json parser reads them. botocore alone: this is what the api Lambda runs.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from botocore.model import OperationModel, Shape
from botocore.utils import parse_to_aware_datetime

from pipelines.api.codec import ModelCodec, body_members
from pipelines.api.shapes import shape_output
from pipelines.api.wire import HttpResponse, parse_json_body
from pipelines.errors import PipelinesError

REST_JSON_CONTENT_TYPE = "application/json"


class RestJsonCodec(ModelCodec):
    """Routing, request reading and response writing for one rest-json service."""

    protocol = "rest-json"
    content_type = REST_JSON_CONTENT_TYPE
    reads_unbound_body = True

    def read_document(self, operation: OperationModel, shape: Shape, body: bytes) -> Any:
        document = parse_json_body(body)
        if shape is not operation.input_shape:  # a payload member's document
            return _from_json(shape, document)
        members = body_members(shape)
        wire = {m.serialization.get("name", n): (n, m) for n, m in members.items()}
        params: dict[str, Any] = {}
        for key, value in document.items():
            if key in wire:
                name, member = wire[key]
                params[name] = _from_json(member, value)
            else:  # left for the validator to name as an unknown parameter
                params[key] = value
        return params

    def write_document(
        self, operation: OperationModel, shape: Shape | None, value: Any, request_id: str
    ) -> bytes | None:
        # rest-json always answers with a JSON object, an empty one when nothing is in the body
        return json.dumps(shape_output(shape, value) if shape is not None else {}).encode()

    def error_response(self, error: PipelinesError, request_id: str, *, head: bool = False) -> HttpResponse:
        response = super().error_response(error, request_id, head=head)
        response.headers["x-amzn-ErrorType"] = error.code
        return response

    def error_body(self, error: PipelinesError, request_id: str) -> bytes:
        return json.dumps({"__type": error.code, "message": error.message}).encode()


def _from_json(shape: Shape, value: Any) -> Any:
    """A JSON body value in the member's type: timestamps (epoch seconds or ISO 8601) become
    datetimes and blobs bytes; anything malformed is passed on for the validator to refuse."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {k: _from_json(members[k], v) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_from_json(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {k: _from_json(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp" and isinstance(value, int | float | str) and not isinstance(value, bool):
        moment: Any = value  # botocore parses epoch numbers and ISO text alike
        try:
            return parse_to_aware_datetime(moment)
        except (ValueError, TypeError, OverflowError, RuntimeError):  # botocore: out of range
            return value
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return value
    return value
