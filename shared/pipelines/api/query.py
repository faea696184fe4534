"""The query protocol (STS) on the server side: :class:`pipelines.api.codec.ModelCodec` where the
operation is the form's ``Action`` and the members are flattened form keys.

A request is ``POST /`` with an ``application/x-www-form-urlencoded`` body (or the same keys
in the query string): ``Action=GetCallerIdentity&Version=2011-06-15``. Members are named as
botocore's query serializer names them: ``Name.Sub`` for a structure's members,
``Name.member.N`` for a list (``Name.N`` when flattened; an empty list is ``Name=``),
``Name.entry.N.key``/``.value`` for a map. The result is
``<OpResponse xmlns=..><OpResult>..</OpResult><ResponseMetadata><RequestId>`` and an error
``<ErrorResponse><Error><Type><Code><Message></Error><RequestId>``, as botocore's query parser
reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from botocore.model import OperationModel, Shape

from pipelines.api.codec import ModelCodec, from_text, query_lists
from pipelines.api.errors import UnknownOperation
from pipelines.api.xml_shapes import structure_content
from pipelines.errors import PipelinesError

_NOT_GIVEN = object()


class QueryCodec(ModelCodec):
    """Routing, request reading and response writing for one query-protocol service."""

    protocol = "query"
    content_type = "text/xml"

    def form(self, request: Any, body: bytes, values: Any = None) -> dict[str, list[str]]:
        """The request's form: the urlencoded body, then the query string's keys it lacks."""
        form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        for key, items in query_lists(request.args if values is None else values).items():
            form.setdefault(key, items)
        return form

    def match(self, request: Any, body: bytes = b"") -> tuple[OperationModel, dict[str, str]]:
        action = (self.form(request, body).get("Action") or [""])[0]
        if action not in self.model.operation_names:
            raise UnknownOperation(f"unknown {self.service_name} action {action!r}")
        return self.model.operation_model(action), {}

    def parse(
        self, operation: OperationModel, labels: Mapping[str, str], request: Any, body: bytes, values: Any
    ) -> dict[str, Any]:
        shape = operation.input_shape
        if shape is None:
            return {}
        flat = {k: v[0] for k, v in self.form(request, body, values).items()}
        parsed = _read(shape, flat, "")
        return parsed if isinstance(parsed, dict) else {}

    def write_document(
        self, operation: OperationModel, shape: Shape | None, value: Any, request_id: str
    ) -> bytes | None:
        name = operation.name
        namespace = self.model.metadata.get("xmlNamespace")
        attributes = f" xmlns={quoteattr(namespace)}" if namespace else ""
        result = ""
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{name}Result")
            own, inner = structure_content(shape, value)
            result = f"<{wrapper}{own}>{inner}</{wrapper}>"
        metadata = f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
        return f"<{name}Response{attributes}>{result}{metadata}</{name}Response>".encode()

    def error_body(self, error: PipelinesError, request_id: str) -> bytes:
        namespace = self.model.metadata.get("xmlNamespace")
        attributes = f" xmlns={quoteattr(namespace)}" if namespace else ""
        fault = "Receiver" if error.status >= 500 else "Sender"
        return (
            f"<ErrorResponse{attributes}><Error><Type>{fault}</Type><Code>{escape(error.code)}</Code>"
            f"<Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
        ).encode()


def _read(shape: Shape, form: Mapping[str, str], prefix: str) -> Any:
    """The value of ``shape`` at ``prefix`` in the flattened form; _NOT_GIVEN if absent."""
    kind = shape.type_name
    if kind == "structure":
        if prefix and not any(key.startswith(prefix + ".") for key in form):
            return _NOT_GIVEN
        result: dict[str, Any] = {}
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            wire = member.serialization.get("name", name)
            value = _read(member, form, f"{prefix}.{wire}" if prefix else wire)
            if value is not _NOT_GIVEN:
                result[name] = value
        return result
    if kind == "list":
        if form.get(prefix) == "":
            return []
        item = shape.member  # type: ignore[attr-defined]
        if shape.serialization.get("flattened"):
            base = prefix
            if "name" in item.serialization:
                base = ".".join([*prefix.split(".")[:-1], item.serialization["name"]])
        else:
            base = f"{prefix}.{item.serialization.get('name', 'member')}"
        items: list[Any] = []
        while (value := _read(item, form, f"{base}.{len(items) + 1}")) is not _NOT_GIVEN:
            items.append(value)
        return items or _NOT_GIVEN
    if kind == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        key_name = key_shape.serialization.get("name", "key")
        value_name = value_shape.serialization.get("name", "value")
        mapping: dict[Any, Any] = {}
        index = 1
        while (key := _read(key_shape, form, f"{base}.{index}.{key_name}")) is not _NOT_GIVEN:
            value = _read(value_shape, form, f"{base}.{index}.{value_name}")
            mapping[key] = None if value is _NOT_GIVEN else value
            index += 1
        return mapping or _NOT_GIVEN
    if prefix not in form:
        return _NOT_GIVEN
    return from_text(shape, form[prefix])
