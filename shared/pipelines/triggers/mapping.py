"""Where a triggered execution's parameter values come from: the event, or fixed text.

A value is read one of three ways, as in EventBridge's SageMaker pipeline targets:

* ``$.detail.object.key`` -- a JSONPath (jsonpath-ng) into the event, which must select one value;
* ``s3://{detail.bucket.name}/{detail.object.key}`` -- a template: each ``{path}`` is a path
  into the event (``$.`` is implied), ``{{`` and ``}}`` are literal braces;
* anything else -- a static value, passed as it is.

Selected values become the strings StartPipelineExecution takes: strings as they are, numbers
and booleans as JSON (``5``, ``true``), objects and lists as JSON text.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng import parse as parse_jsonpath
from jsonpath_ng.jsonpath import Child, Fields, Index, Root

from pipelines.triggers.errors import EventValueMissing, InvalidParameterMapping

Segment = str | int


@dataclass(frozen=True)
class StaticValue:
    text: str

    def paths(self) -> list[EventPath]:
        return []

    def resolve(self, parameter: str, event: Mapping[str, Any]) -> str:
        return self.text


@dataclass(frozen=True)
class EventPath:
    text: str
    expression: JSONPath

    def paths(self) -> list[EventPath]:
        return [self]

    def segments(self) -> list[Segment] | None:
        """The plain field/index chain of the path, or None when it uses wildcards or filters."""
        return _segments(self.expression)

    def resolve(self, parameter: str, event: Mapping[str, Any]) -> str:
        matches = self.expression.find(event)
        if not matches:
            raise EventValueMissing(parameter, self.text, str(event.get("id")) if "id" in event else None)
        if len(matches) > 1:
            raise EventValueMissing(parameter, f"{self.text} (selects {len(matches)} values, not one)", None)
        return as_parameter_text(matches[0].value)


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[str | EventPath, ...]

    def paths(self) -> list[EventPath]:
        return [p for p in self.parts if isinstance(p, EventPath)]

    def resolve(self, parameter: str, event: Mapping[str, Any]) -> str:
        return "".join(p if isinstance(p, str) else p.resolve(parameter, event) for p in self.parts)


ParameterSource = StaticValue | EventPath | Template


def as_parameter_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _path(parameter: str, original: str, text: str) -> EventPath:
    try:
        expression = parse_jsonpath(text)
    except Exception as exc:  # jsonpath-ng raises plain Exceptions from its lexer and parser
        raise InvalidParameterMapping(parameter, original, f"{text} is not a JSONPath ({exc})") from exc
    return EventPath(text, expression)


def parse_parameter_source(parameter: str, value: str) -> ParameterSource:
    """Read one parameter's mapping; raises :class:`InvalidParameterMapping`."""
    if not isinstance(value, str):
        raise InvalidParameterMapping(parameter, repr(value), "a mapping is a string")
    if value.startswith("$"):
        if not (value == "$" or value.startswith(("$.", "$["))):
            raise InvalidParameterMapping(parameter, value, "a JSONPath starts with '$.' or '$['")
        return _path(parameter, value, value)
    if "{" not in value and "}" not in value:
        return StaticValue(value)
    parts: list[str | EventPath] = []
    try:
        pieces = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise InvalidParameterMapping(
            parameter, value, f"unbalanced braces ({exc}); write {{{{ for a literal {{"
        ) from exc
    for literal, field, spec, conversion in pieces:
        if literal:
            parts.append(literal)
        if field is None:
            continue
        if spec or conversion:
            raise InvalidParameterMapping(parameter, value, f"{{{field}}} has a format spec or conversion")
        if not field.strip():
            raise InvalidParameterMapping(parameter, value, "an empty {} names no event field")
        path = field if field.startswith("$") else f"$.{field}"
        parts.append(_path(parameter, value, path))
    return Template(value, tuple(parts))


def parse_mapping(values: Mapping[str, str]) -> dict[str, ParameterSource]:
    return {name: parse_parameter_source(name, value) for name, value in values.items()}


def resolve_parameters(
    sources: Mapping[str, ParameterSource], event: Mapping[str, Any]
) -> list[dict[str, str]]:
    """StartPipelineExecution's ``PipelineParameters`` for one event."""
    return [{"Name": name, "Value": source.resolve(name, event)} for name, source in sources.items()]


def _segments(expression: JSONPath) -> list[Segment] | None:
    if isinstance(expression, Root):
        return []
    if isinstance(expression, Child):
        left = _segments(expression.left)
        right = _segments(expression.right)
        return None if left is None or right is None else left + right
    if isinstance(expression, Fields) and len(expression.fields) == 1 and expression.fields[0] != "*":
        return [expression.fields[0]]
    if isinstance(expression, Index) and len(getattr(expression, "indices", ())) == 1:
        return [int(expression.indices[0])]
    return None
