"""The server side of AWS's REST and query protocols, from botocore's service model alone.

botocore knows how a client builds a request and reads a response: ``http.method`` and
``http.requestUri`` (with ``{Label}``/``{Label+}`` placeholders and ``?key`` or ``?key=value``
literals) select the operation; each input member is bound to a URI label, a query-string key,
a header, a header prefix (``x-amz-meta-*``) or the body, where one ``payload`` member may be
the whole body (a stream, or one document); output members go back the same ways, plus the
HTTP status. :class:`ModelCodec` is the inverse for every protocol the API serves: it routes a
request to its operation, reads its parameters, and writes results and errors. What differs
between protocols is only the body's document format, supplied by a subclass:

- ``rest-json`` (Scheduler, RAM): :class:`pipelines.api.rest_json.RestJsonCodec`;
- ``rest-xml`` (S3): :class:`pipelines.api.rest_xml.RestXmlCodec`;
- ``query`` (STS): :class:`pipelines.api.query.QueryCodec` (the operation is the form's
  ``Action``; members are flattened form keys; the result is XML).

Values that arrive as text (labels, query strings, headers, XML, forms) get their member's type
here; a value that does not convert is passed on unchanged, so the strict validator
(:func:`pipelines.api.validation.validate_input`) refuses it naming the member. Nothing here
imports a mocking library: the api Lambda runs this code.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.utils import is_json_value_header, parse_to_aware_datetime

from pipelines.api.errors import UnknownOperation
from pipelines.api.shapes import shape_output
from pipelines.api.validation import service_model
from pipelines.api.wire import HttpResponse
from pipelines.errors import PipelinesError

_LABEL = re.compile(r"\{([A-Za-z0-9_-]+)(\+?)\}")
_BODY_LOCATIONS = (None, "")


@dataclass(frozen=True)
class Route:
    """One operation's method, URI template and the query keys and headers that single it out
    among operations sharing the template (S3's PutObject, CopyObject and UploadPart are all
    ``PUT /{Bucket}/{Key+}``)."""

    operation: OperationModel
    method: str
    pattern: re.Pattern[str]
    query: tuple[tuple[str, str | None], ...]  # required keys, with the literal value if any
    headers: tuple[str, ...]  # required header members (lower case)
    labels: tuple[tuple[str, str], ...]  # (regex group, label name): labels may hold "-"
    specificity: int  # literal characters of the path: the more, the earlier a route is tried

    def labels_of(
        self, method: str, path: str, query: Mapping[str, list[str]], headers: Headers
    ) -> dict[str, str] | None:
        """The request's URI labels (decoded) if this route is its operation, else None."""
        if self.method != method:
            return None
        for key, value in self.query:
            if key not in query or (value is not None and query[key][:1] != [value]):
                return None
        if any(headers.get(name) is None for name in self.headers):
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {label: unquote(found[group]) for group, label in self.labels}


def compile_route(operation: OperationModel) -> Route:
    """``operation``'s route. A greedy label (``{Key+}``) may hold ``/``; so may a label that
    ends the path (an ARN whose ``%2F`` arrived decoded), though it cannot end with one; any
    other label is one path segment. A trailing ``/`` is optional."""
    template = operation.http["requestUri"]
    path, _, query = template.partition("?")
    parts: list[str] = []
    position = 0
    labels = list(_LABEL.finditer(path))
    groups: list[tuple[str, str]] = []
    for index, label in enumerate(labels):
        parts.append(re.escape(path[position : label.start()]))
        name = f"label{index}"
        groups.append((name, label.group(1)))
        last = index == len(labels) - 1 and label.end() == len(path.rstrip("/"))
        if label.group(2):
            pattern = ".+"
        elif last:
            pattern = "[^/](?:.*[^/])?"
        else:
            pattern = "[^/]+"
        parts.append(f"(?P<{name}>{pattern})")
        position = label.end()
    parts.append(re.escape(path[position:].rstrip("/")))
    literals: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, equals, value = part.partition("=")
        literals.append((key, value if equals else None))
    shape = operation.input_shape
    required = set(shape.required_members) if shape is not None else set()
    members = shape.members.items() if isinstance(shape, StructureShape) else ()
    for name, member in members:
        wire = member.serialization.get("name", name)
        location = member.serialization.get("location")
        if name in required and location == "querystring" and wire not in dict(literals):
            literals.append((wire, None))
    headers = tuple(
        member.serialization.get("name", name).lower()
        for name, member in members
        if name in required and member.serialization.get("location") == "header"
    )
    return Route(
        operation,
        operation.http["method"].upper(),
        re.compile("".join(parts) + "/?"),
        tuple(literals),
        headers,
        tuple(groups),
        len(_LABEL.sub("", path)),
    )


def request_path(request: Any) -> str:
    """The request's path as sent (percent-encoding intact) when the server kept it (waitress's
    ``REQUEST_URI``, gunicorn's ``RAW_URI``), else its decoded ``path``: labels are decoded once,
    after matching, so an encoded ``/`` or ``?`` in an S3 key stays part of the key."""
    environ = getattr(request, "environ", None) or {}
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        return str(request.path)
    raw = str(raw)
    if "://" in raw.split("?", 1)[0]:
        raw = urlsplit(raw).path or "/"
    path = raw.split("?", 1)[0] or "/"
    return path if path.startswith("/") else f"/{path}"


def query_lists(args: Any) -> dict[str, list[str]]:
    """A request's query parameters as name -> values, from a werkzeug ``MultiDict`` or a plain
    mapping of lists."""
    pairs: Iterable[tuple[str, list[str]]] = args.lists() if hasattr(args, "lists") else args.items()
    return {str(k): [str(v) for v in values] for k, values in pairs}


class Headers:
    """Case-insensitive view of a request's headers (werkzeug ``Headers`` or a plain mapping)."""

    def __init__(self, headers: Any) -> None:
        items = headers.items() if hasattr(headers, "items") else headers
        self.items: list[tuple[str, str]] = [(str(k), str(v)) for k, v in items]
        self._lower = {k.lower(): v for k, v in self.items}

    def get(self, name: str) -> str | None:
        return self._lower.get(name.lower())


def from_text(shape: Shape, text: str) -> Any:
    """A value that arrived as text (label, query string, header, XML, form) in ``shape``'s
    type; text that does not convert is passed on for the validator to refuse by name."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}[text.strip().lower()]
        if kind == "timestamp":
            return parse_to_aware_datetime(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
        if kind == "string" and is_json_value_header(shape):
            return json.loads(base64.b64decode(text))
    except (ValueError, KeyError, TypeError, OverflowError, RuntimeError):
        return text
    return text


def timestamp_text(value: Any, fmt: str) -> str | float:
    """A timestamp in one of the model's formats: ``iso8601`` (milliseconds, as S3 and STS
    write them), ``rfc822`` (HTTP dates) or ``unixTimestamp``."""
    moment = value if isinstance(value, dt.datetime) else parse_to_aware_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    if fmt == "rfc822":
        return email.utils.format_datetime(moment, usegmt=True)
    if fmt == "unixTimestamp":
        return round(moment.timestamp(), 3)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def header_text(shape: Shape, value: Any) -> str:
    """An output member bound to a header, as text."""
    kind = shape.type_name
    if kind == "timestamp":
        return str(timestamp_text(value, shape.serialization.get("timestampFormat", "rfc822")))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "list":
        return ",".join(header_text(shape.member, v) for v in value)  # type: ignore[attr-defined]
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()
    if kind == "string" and is_json_value_header(shape):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return str(value)


def body_members(shape: Shape | None) -> dict[str, Shape]:
    """The members of a structure bound to the body (no ``location``)."""
    if not isinstance(shape, StructureShape):
        return {}
    return {n: m for n, m in shape.members.items() if m.serialization.get("location") in _BODY_LOCATIONS}


def is_stream(shape: Shape) -> bool:
    """A payload member that is the raw body (a blob or string), not a document."""
    return shape.type_name in ("blob", "string")


class ModelCodec:
    """Routing, request reading and response writing for one service, by its botocore model.

    Subclasses name their ``protocol`` and supply the body's document format
    (:meth:`read_document`, :meth:`write_document`, :meth:`error_body`)."""

    protocol: ClassVar[str]
    content_type: ClassVar[str]
    # The request id header the protocol's SDK parser reads into ResponseMetadata.
    request_id_header: ClassVar[str] = "x-amzn-RequestId"
    # Whether a body is read when the input has no body members (so that the validator names
    # what it holds as unknown parameters); XML bodies there are ignored, as S3 does.
    reads_unbound_body: ClassVar[bool] = False

    def __init__(self, service_name: str) -> None:
        model: ServiceModel = service_model(service_name)
        if model.protocol != self.protocol:
            raise ValueError(f"{service_name} speaks {model.protocol}, not {self.protocol}")
        self.service_name = service_name
        self.model = model
        routes = [compile_route(model.operation_model(name)) for name in model.operation_names]
        self.routes = sorted(routes, key=lambda r: (-r.specificity, -(len(r.query) + len(r.headers))))

    # -- requests ----------------------------------------------------------------------------
    def match(self, request: Any, body: bytes = b"") -> tuple[OperationModel, dict[str, str]]:
        """The operation at the request's method and path, and its URI labels (decoded);
        UnknownOperation if none."""
        method, path = str(request.method).upper(), request_path(request)
        query, headers = query_lists(request.args), Headers(request.headers)
        for route in self.routes:
            labels = route.labels_of(method, path, query, headers)
            if labels is not None:
                return route.operation, labels
        raise UnknownOperation(f"no {self.service_name} operation at {request.method} {request.path}")

    def parse(
        self, operation: OperationModel, labels: Mapping[str, str], request: Any, body: bytes, values: Any
    ) -> dict[str, Any]:
        """The operation's input parameters, as a client's botocore would have given them;
        ``values`` is the request's query (a ``MultiDict`` or a mapping of lists)."""
        shape = operation.input_shape
        if not isinstance(shape, StructureShape):
            return {}
        query, headers = query_lists(values), Headers(request.headers)
        params: dict[str, Any] = {}
        bound_query = {
            m.serialization.get("name", n)
            for n, m in shape.members.items()
            if m.serialization.get("location") == "querystring" and m.type_name != "map"
        }
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                if wire in labels:
                    params[name] = from_text(member, labels[wire])
            elif location == "querystring":
                value = _query_member(member, wire, query, bound_query)
                if value is not None:
                    params[name] = value
            elif location == "header":
                text = headers.get(wire)
                if text is not None:
                    params[name] = _header_value(member, text)
            elif location == "headers":
                prefix = wire.lower()
                found = {k[len(prefix) :]: v for k, v in headers.items if k.lower().startswith(prefix)}
                if found:
                    params[name] = found
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if is_stream(member):
                if body:
                    params[payload] = body if member.type_name == "blob" else body.decode("utf-8", "replace")
            elif body.strip():
                params[payload] = self.read_document(operation, member, body)
        elif body.strip() and (self.reads_unbound_body or body_members(shape)):
            params.update(self.read_document(operation, shape, body))
        return params

    def read_document(self, operation: OperationModel, shape: Shape, body: bytes) -> Any:
        """The body (a document of ``shape``) as Python values."""
        raise NotImplementedError

    # -- responses ---------------------------------------------------------------------------
    def serialize(
        self, operation: OperationModel, result: Mapping[str, Any], *, strict: bool, request_id: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of a successful call. In strict mode the result must fit the
        output shape exactly (see :mod:`pipelines.api.shapes`)."""
        shape = operation.output_shape
        status = int(operation.http.get("responseCode") or 200)
        headers: dict[str, str] = {}
        if not isinstance(shape, StructureShape):
            if strict:
                shape_output(shape, dict(result), strict=True)
            return status, headers, self.write_document(operation, None, {}, request_id) or b""
        payload = shape.serialization.get("payload")
        stream = payload is not None and is_stream(shape.members[payload])
        if strict:
            shape_output(
                shape, {k: v for k, v in result.items() if not (stream and k == payload)}, strict=True
            )
        body: dict[str, Any] = {}
        for name, value in result.items():
            member = shape.members.get(name)
            if member is None or value is None:
                continue
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "header":
                headers[wire] = header_text(member, value)
            elif location == "headers":
                headers.update({f"{wire}{k}": str(v) for k, v in value.items()})
            elif location == "statusCode":
                status = int(value)
            elif location in _BODY_LOCATIONS:
                body[name] = value
        if payload is not None:
            value = result.get(payload)
            member = shape.members[payload]
            if stream:
                raw = b"" if value is None else value.encode() if isinstance(value, str) else bytes(value)
                return status, headers, raw
            document = None if value is None else self.write_document(operation, member, value, request_id)
            if document is not None:
                headers["Content-Type"] = self.content_type
            return status, headers, document or b""
        written = self.write_document(operation, shape, body, request_id)
        if written is not None:
            headers["Content-Type"] = self.content_type
        return status, headers, written or b""

    def write_document(
        self, operation: OperationModel, shape: Shape | None, value: Any, request_id: str
    ) -> bytes | None:
        """The body for ``value`` (the body members, or the payload member's value); None for
        no body at all."""
        raise NotImplementedError

    # -- errors ------------------------------------------------------------------------------
    def error_response(self, error: PipelinesError, request_id: str, *, head: bool = False) -> HttpResponse:
        """``error`` as the protocol's SDK parser reads it (a HEAD response carries no body)."""
        headers = {"Content-Type": self.content_type, self.request_id_header: request_id}
        body = self.error_body(error, request_id)
        return HttpResponse(error.status, headers, b"" if head else body)

    def error_body(self, error: PipelinesError, request_id: str) -> bytes:
        raise NotImplementedError


def _query_member(member: Shape, wire: str, query: Mapping[str, list[str]], bound: set[str]) -> Any:
    kind = member.type_name
    if kind == "map":  # every query key no other member binds
        value_shape = member.value  # type: ignore[attr-defined]
        found = {k: v for k, v in query.items() if k not in bound}
        if not found:
            return None
        if value_shape.type_name == "list":
            return {k: [from_text(value_shape.member, x) for x in v] for k, v in found.items()}
        return {k: from_text(value_shape, v[-1]) for k, v in found.items()}
    values = query.get(wire)
    if not values:
        return None
    if kind == "list":
        return [from_text(member.member, v) for v in values]  # type: ignore[attr-defined]
    return from_text(member, values[-1])


def _header_value(member: Shape, text: str) -> Any:
    if member.type_name == "list":  # RFC 9110: a comma-separated list
        return [from_text(member.member, part.strip()) for part in text.split(",")]  # type: ignore[attr-defined]
    return from_text(member, text)
