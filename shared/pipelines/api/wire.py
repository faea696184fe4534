"""AWS JSON 1.1 on the wire: one service's operations behind ``POST /``.

The request names its operation in ``X-Amz-Target: <Prefix>.<Operation>``; the body is a JSON
object with the model's member names. :class:`JsonService` turns a raw HTTP request into a
call of a transport-free handler and its result (or error) back into the response the SDKs
parse: ``200`` + ``application/x-amz-json-1.1`` body shaped by the output shape, or a 4xx with
``{"__type": <Code>, "message": ...}``. Everything a client can get wrong -- method, size,
content type, JSON syntax, operation name, parameters -- is refused with a 4xx before any
handler runs, so bad input never changes state. Only an unexpected fault answers 500.

The per-operation path variant (``POST /<stage>/<Operation>``, used so IAM can scope by path)
is accepted, and a path operation that differs from ``X-Amz-Target`` is refused: otherwise a
caller allowed one path could call any operation.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, ServiceModel

from pipelines.api.errors import (
    InternalFailure,
    RequestTooLarge,
    SerializationError,
    UnknownOperation,
    http_status,
)
from pipelines.api.shapes import shape_output
from pipelines.api.validation import service_model, validate_input
from pipelines.errors import PipelinesError, ValidationError

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
ACCEPTED_CONTENT_TYPES = frozenset({JSON_CONTENT_TYPE, "application/x-amz-json-1.0", "application/json"})
# SageMaker's largest member is a 1 MiB definition; JSON escaping may double it.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
_MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class HttpRequest:
    """A transport-neutral request; header names are matched case-insensitively."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    query: str = ""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class CallContext:
    """What a handler knows about the call besides its parameters."""

    account_id: str  # the calling account (owner checks and RAM shares are against it)
    region: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # The caller's IAM principal when the transport knows it (API Gateway's userArn); locally
    # there is no IAM, and the caller acts as its account's root principal.
    principal_arn: str | None = None

    @property
    def caller(self) -> str:
        """The calling principal's ARN (the account's root when the transport names none)."""
        return self.principal_arn or f"arn:aws:iam::{self.account_id}:root"


Handler = Callable[[dict[str, Any], CallContext], dict[str, Any]]


def error_response(
    error: PipelinesError, request_id: str, content_type: str = JSON_CONTENT_TYPE
) -> HttpResponse:
    """The JSON error body every AWS SDK parses (``__type`` becomes ``Error.Code``)."""
    body = json.dumps({"__type": error.code, "message": error.message}).encode()
    headers = {
        "Content-Type": content_type,
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": error.code,
    }
    return HttpResponse(http_status(error), headers, body)


def _reject_constant(name: str) -> Any:
    raise SerializationError(f"the request body is not valid JSON: {name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SerializationError(f"the request body holds the number {text[:40]}, beyond a double's range")
    return value


def _depth(value: Any, limit: int) -> int:
    """Nesting depth, stopping early once past ``limit`` (no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SerializationError("the request body is not UTF-8") from exc
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise SerializationError("the request body is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise SerializationError(f"the request body is not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer beyond int()'s 4,300 digits: no SDK can send one
        raise SerializationError(f"the request body holds a number no SDK can send: {exc}") from exc
    if not isinstance(document, dict):
        raise SerializationError(f"the request body must be a JSON object, not {type(document).__name__}")
    if _depth(document, _MAX_JSON_DEPTH) > _MAX_JSON_DEPTH:
        raise SerializationError("the request body is nested too deeply")
    return document


class JsonService:
    """One AWS JSON 1.1 service (e.g. ``sagemaker``) and the operations it serves."""

    def __init__(
        self,
        service_name: str,
        handlers: Mapping[str, Handler],
        *,
        strict_shapes: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.model: ServiceModel = service_model(service_name)
        unknown = set(handlers) - set(self.model.operation_names)
        if unknown:
            raise ValueError(f"not {service_name} operations: {sorted(unknown)}")
        self.handlers = dict(handlers)
        self.target_prefix: str = self.model.metadata["targetPrefix"]
        self.strict_shapes = strict_shapes
        self.max_body_bytes = max_body_bytes

    def operation_for(self, request: HttpRequest) -> OperationModel:
        """The operation a request names; refuses requests that name none or two."""
        if request.method.upper() != "POST":
            raise UnknownOperation(f"{request.method} is not supported: AWS JSON requests are POST")
        target = request.header("X-Amz-Target")
        if not target:
            raise UnknownOperation("missing X-Amz-Target header naming the operation")
        prefix, _, name = target.partition(".")
        if prefix != self.target_prefix or name not in self.model.operation_names:
            raise UnknownOperation(f"unknown operation {target!r}")
        path_operation = request.path.rstrip("/").rpartition("/")[2] if not request.path.endswith("/") else ""
        if path_operation in self.model.operation_names and path_operation != name:
            raise ValidationError(
                f"the path names operation {path_operation} but X-Amz-Target names {name}; they must match"
            )
        if name not in self.handlers:
            raise UnknownOperation(f"{name} is not supported by this endpoint")
        return self.model.operation_model(name)

    def handle(self, request: HttpRequest, context: CallContext) -> HttpResponse:
        try:
            return self._handle(request, context)
        except PipelinesError as error:
            return error_response(error, context.request_id)
        except Exception:
            log.exception("unexpected fault in %s", request.header("X-Amz-Target"))
            return error_response(InternalFailure("internal error; see the server log"), context.request_id)

    def _handle(self, request: HttpRequest, context: CallContext) -> HttpResponse:
        if len(request.body) > self.max_body_bytes:
            raise RequestTooLarge(f"the request body exceeds {self.max_body_bytes} bytes")
        operation = self.operation_for(request)
        content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if content_type and content_type not in ACCEPTED_CONTENT_TYPES:
            raise SerializationError(f"unsupported Content-Type {content_type!r}; send {JSON_CONTENT_TYPE}")
        params = validate_input(operation, parse_json_body(request.body))
        result = self.handlers[operation.name](params, context)
        shaped = shape_output(operation.output_shape, result, strict=self.strict_shapes)
        headers = {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": context.request_id}
        return HttpResponse(200, headers, json.dumps(shaped).encode())
