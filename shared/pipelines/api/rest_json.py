"""The rest-json protocol (Scheduler, RAM) on the server side, from botocore's service model alone.

botocore knows how a client builds a request (``http.method``, ``http.requestUri`` with its
``{Label}`` and ``{Label+}`` placeholders, members bound to the ``uri`` and ``querystring``, the
rest in a JSON body) and how it reads a response (the output members as a JSON body, timestamps
as epoch seconds). This module is the inverse, for the services the API serves: route a request
to its operation, read its parameters, and write the result. It needs botocore and nothing else,
so it runs in the api Lambda (no mocking library in production).

Headers and payload members, which these two services do not use for input, are refused when a
model has them, naming the operation: nothing is parsed but dropped.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel, Shape
from botocore.utils import parse_to_aware_datetime

from pipelines.api.errors import SerializationError, UnknownOperation
from pipelines.api.shapes import shape_output
from pipelines.api.validation import service_model
from pipelines.api.wire import parse_json_body

JSON_CONTENT_TYPE = "application/json"
_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    """One operation's method and URI template, compiled."""

    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    required_query: tuple[str, ...]  # ``?key`` parts of the template
    specificity: int  # literal characters: the more, the earlier a template is tried


def _route(operation: OperationModel) -> Route:
    template = operation.http["requestUri"]
    path, _, query = template.partition("?")
    parts: list[str] = []
    position = 0
    labels = list(_LABEL.finditer(path))
    for index, label in enumerate(labels):
        parts.append(re.escape(path[position : label.start()]))
        last = index == len(labels) - 1 and label.end() == len(path)
        # A greedy label, or a label ending the path, may hold "/" (an ARN whose %2F arrived
        # decoded); any other stays within one segment.
        parts.append(f"(?P<{label.group(1)}>{'.+' if label.group(2) or last else '[^/]+'})")
        position = label.end()
    parts.append(re.escape(path[position:]))
    literal = len(_LABEL.sub("", path))
    required = tuple(p.partition("=")[0] for p in query.split("&") if p)
    return Route(
        operation, operation.http["method"].upper(), re.compile("".join(parts) + "/?"), required, literal
    )


class RestJsonCodec:
    """Routing, request reading and response writing for one rest-json service."""

    def __init__(self, service_name: str) -> None:
        model: ServiceModel = service_model(service_name)
        if model.protocol != "rest-json":
            raise ValueError(f"{service_name} speaks {model.protocol}, not rest-json")
        self.service_name = service_name
        routes = [_route(model.operation_model(name)) for name in model.operation_names]
        self.routes = sorted(routes, key=lambda r: (-r.specificity, -len(r.required_query)))

    def match(self, request: Any) -> tuple[OperationModel, dict[str, str]]:
        """The operation at the request's method and path, and its URI labels; UnknownOperation
        if none."""
        method, path, query = str(request.method), str(request.path), query_lists(request.args)
        for route in self.routes:
            if route.method != method.upper() or not all(key in query for key in route.required_query):
                continue
            found = route.pattern.fullmatch(path)
            if found is not None:
                return route.operation, {k: unquote(v) for k, v in found.groupdict().items()}
        raise UnknownOperation(f"no {self.service_name} operation at {method} {path}")

    def parse(
        self, operation: OperationModel, labels: Mapping[str, str], request: Any, body: bytes, values: Any
    ) -> dict[str, Any]:
        """The operation's input parameters, as a client's botocore would have given them."""
        query = query_lists(values)
        shape = operation.input_shape
        if shape is None:
            return {}
        if shape.serialization.get("payload"):
            raise SerializationError(f"{operation.name}: payload members are not supported")
        document = parse_json_body(body) if body.strip() else {}
        params: dict[str, Any] = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire_name = member.serialization.get("name", name)
            if location == "uri":
                if wire_name in labels:
                    params[name] = labels[wire_name]
            elif location == "querystring":
                values = query.get(wire_name)
                if values:
                    params[name] = _query_value(member, values)
            elif location is not None:
                raise SerializationError(f"{operation.name}: {location} members are not supported")
            elif wire_name in document:
                params[name] = _from_json(member, document[wire_name])
        unknown = set(document) - {
            m.serialization.get("name", n)
            for n, m in shape.members.items()
            if not m.serialization.get("location")
        }
        for name in unknown:  # left for the validator to name as unknown parameters
            params[name] = document[name]
        return params

    def serialize(
        self, operation: OperationModel, result: Mapping[str, Any], *, strict: bool
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of a successful call: the output members as a JSON body."""
        shaped = shape_output(operation.output_shape, dict(result), strict=strict)
        status = int(operation.http.get("responseCode") or 200)
        return status, {"Content-Type": JSON_CONTENT_TYPE}, json.dumps(shaped).encode()


def _query_value(member: Shape, values: list[str]) -> Any:
    if member.type_name == "list":
        return [_scalar(member.member, v) for v in values]  # type: ignore[attr-defined]
    return _scalar(member, values[-1])


def _scalar(shape: Shape, text: str) -> Any:
    """A query-string value in the member's type; a value that does not convert is passed on as
    text, for the validator to refuse with the member's name."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}[text.lower()]
        if kind == "timestamp":
            return parse_to_aware_datetime(text)
    except (ValueError, KeyError, TypeError, OverflowError, RuntimeError):
        return text
    return text


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


def query_lists(args: Any) -> dict[str, list[str]]:
    """A request's query parameters as name -> values, from a werkzeug ``MultiDict`` or a plain
    mapping of lists."""
    pairs: Iterable[tuple[str, list[str]]] = args.lists() if hasattr(args, "lists") else args.items()
    return {str(k): [str(v) for v in values] for k, values in pairs}
