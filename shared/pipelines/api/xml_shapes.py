"""Shapes to and from XML, as botocore's rest-xml and query parsers and serializers read them.

Element names are the members' wire names (``locationName``); a non-flattened list wraps its
items in elements named by its member (``member`` by default), a flattened one repeats the
item element in place; maps are ``entry`` elements holding ``key`` and ``value``; booleans are
``true``/``false``, timestamps ISO 8601 with milliseconds, blobs base64. Used by
:mod:`pipelines.api.rest_xml` (S3) and :mod:`pipelines.api.query` (STS).
"""

from __future__ import annotations

import base64
import re
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from botocore.model import Shape

from pipelines.api.codec import from_text, timestamp_text

_NAMESPACE = re.compile(r"^\{[^}]*\}")


class MalformedXml(ValueError):
    """A request body that is not well-formed XML."""


# -- writing ---------------------------------------------------------------------------------
def element(name: str, shape: Shape, value: Any, attributes: str = "") -> str:
    """``value`` of ``shape`` as the element ``name`` (with ``attributes`` already rendered)."""
    namespace = shape.serialization.get("xmlNamespace")
    if namespace:
        uri = namespace.get("uri") if isinstance(namespace, dict) else namespace
        prefix = namespace.get("prefix") if isinstance(namespace, dict) else None
        attributes += f" xmlns{':' + prefix if prefix else ''}={quoteattr(str(uri))}"
    kind = shape.type_name
    if kind == "structure":
        own, inner = structure_content(shape, value)
        return _tag(name, attributes + own, inner)
    if kind == "list":
        item = shape.member  # type: ignore[attr-defined]
        item_name = item.serialization.get("name", "member")
        return _tag(name, attributes, "".join(element(item_name, item, v) for v in value))
    if kind == "map":
        return _tag(name, attributes, "".join(_entry(shape, k, v) for k, v in value.items()))
    return _tag(name, attributes, escape(scalar_text(shape, value)))


def structure_content(shape: Shape, value: dict[str, Any]) -> tuple[str, str]:
    """(attributes, child elements) of a structure value: members in the model's order."""
    attributes, children = "", list[str]()
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        item = value.get(name)
        if item is None or member.serialization.get("location"):
            continue
        wire = member.serialization.get("name", name)
        if member.serialization.get("xmlAttribute"):
            attributes += f" {wire}={quoteattr(scalar_text(member, item))}"
        elif member.type_name == "list" and member.serialization.get("flattened"):
            item_shape = member.member
            item_name = item_shape.serialization.get("name", wire)
            children.extend(element(item_name, item_shape, v) for v in item)
        elif member.type_name == "map" and member.serialization.get("flattened"):
            children.extend(_tag(wire, "", _pair(member, k, v)) for k, v in item.items())
        else:
            children.append(element(wire, member, item))
    return attributes, "".join(children)


def scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(timestamp_text(value, shape.serialization.get("timestampFormat", "iso8601")))
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode()
    if kind in ("integer", "long"):
        return str(int(value))
    return str(value)


def _entry(shape: Shape, key: Any, value: Any) -> str:
    return _tag("entry", "", _pair(shape, key, value))


def _pair(shape: Shape, key: Any, value: Any) -> str:
    key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
    return element(key_shape.serialization.get("name", "key"), key_shape, key) + element(
        value_shape.serialization.get("name", "value"), value_shape, value
    )


def _tag(name: str, attributes: str, inner: str) -> str:
    return f"<{name}{attributes}>{inner}</{name}>" if inner else f"<{name}{attributes}/>"


# -- reading ---------------------------------------------------------------------------------
def parse_document(body: bytes) -> ElementTree.Element:
    """The root element of a request body. ElementTree resolves no external entities, and
    expat (>= 2.4) bounds entity expansion."""
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise MalformedXml(str(exc)) from exc


def read_element(shape: Shape, node: ElementTree.Element | list[ElementTree.Element]) -> Any:
    """The value of ``shape`` held by ``node`` (a list of nodes for a flattened list or map)."""
    kind = shape.type_name
    if kind == "list":
        item = shape.member  # type: ignore[attr-defined]
        nodes = node if isinstance(node, list) else list(node)
        return [read_element(item, child) for child in nodes]
    if kind == "map":
        key_shape, value_shape = shape.key, shape.value  # type: ignore[attr-defined]
        key_name = key_shape.serialization.get("name", "key")
        value_name = value_shape.serialization.get("name", "value")
        result: dict[Any, Any] = {}
        for entry in node if isinstance(node, list) else list(node):
            children = _children(entry)
            key, value = children.get(key_name), children.get(value_name)
            if isinstance(key, ElementTree.Element) and isinstance(value, ElementTree.Element):
                result[read_element(key_shape, key)] = read_element(value_shape, value)
        return result
    if isinstance(node, list):  # a repeated element where one is expected: the first counts
        node = node[0]
    if kind == "structure":
        return read_structure(shape, node)
    return from_text(shape, node.text or "")


def read_structure(shape: Shape, node: ElementTree.Element) -> dict[str, Any]:
    """The body members of ``shape`` held by ``node``'s children and attributes."""
    children = _children(node)
    result: dict[str, Any] = {}
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        if member.serialization.get("location"):
            continue
        wire = member.serialization.get("name", name)
        if member.serialization.get("xmlAttribute"):
            if wire in node.attrib:
                result[name] = from_text(member, node.attrib[wire])
            continue
        flattened = member.serialization.get("flattened")
        if member.type_name == "list" and flattened:
            wire = member.member.serialization.get("name", wire)
        found = children.get(wire)
        if found is None:
            continue
        if flattened and not isinstance(found, list):
            found = [found]
        result[name] = read_element(member, found)
    return result


def _children(node: ElementTree.Element) -> dict[str, Any]:
    """Child elements by local name; repeated names gather into a list."""
    found: dict[str, Any] = {}
    for child in node:
        name = _NAMESPACE.sub("", child.tag)
        if name in found:
            existing = found[name]
            found[name] = [*existing, child] if isinstance(existing, list) else [existing, child]
        else:
            found[name] = child
    return found
