"""pydantic validation errors -> ``Problem``s with clean JSON paths and the allowed values.

pydantic puts the tag of a discriminated union into the error location
(``Steps.3.Condition.Arguments``); users must see ``Steps[3].Arguments``. Tags sit right
after the index of an element of a step or condition list, and right after ``Condition``
(the operand of ``Not``), so those positions are dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pydantic

from pipelines.definition.problems import Problem, format_json_path

_TAGGED_LISTS = frozenset({"Steps", "IfSteps", "ElseSteps", "Conditions"})
_TAGGED_FIELDS = frozenset({"Condition"})

_EXPECTED_BY_TYPE = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def describe_value(value: Any, limit: int = 40) -> str:
    """``string "abc"``, ``number 3``, ``object``: what a user typed, briefly."""
    if value is None or isinstance(value, dict | list):
        return json_type(value)
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    shown = shown if len(shown) <= limit else shown[: limit - 3] + "..."
    return f"{json_type(value)} {shown}"


def public_location(location: Sequence[str | int], parent_key: str | None = None) -> list[str | int]:
    """Drop pydantic's discriminator tags from an error location.

    ``parent_key`` is the key under which the validated value sits, when it is not the root.
    """
    out: list[str | int] = []
    previous_key: str | int | None = parent_key
    tag_next = False
    for part in location:
        if tag_next and isinstance(part, str):
            tag_next = False
            continue
        tag_next = (isinstance(part, int) and previous_key in _TAGGED_LISTS) or (
            isinstance(part, str) and part in _TAGGED_FIELDS
        )
        previous_key = part
        out.append(part)
    return out


def _allowed_from_literal(expected: str) -> tuple[str, ...]:
    return tuple(re.findall(r"'((?:[^'\\]|\\.)*)'", expected))


def problem_from_error(error: Any, prefix: Sequence[str | int] = ()) -> Problem:
    """One pydantic error dict -> one schema problem."""
    parent_key = prefix[-1] if prefix and isinstance(prefix[-1], str) else None
    location = [*prefix, *public_location(error["loc"], parent_key)]
    error_type = error["type"]
    value = error.get("input")
    context = error.get("ctx") or {}
    if error_type in {"union_tag_invalid", "union_tag_not_found", "condition_type_invalid"}:
        if not isinstance(value, dict):
            return Problem(
                kind="schema",
                message=f"must be an object, got {describe_value(value)}",
                path=format_json_path(location),
            )
        names = re.findall(r"'([^']*)'", str(context.get("discriminator", "")))
        discriminator = names[-1] if names else str(context.get("discriminator", "Type"))
        path = format_json_path([*location, discriminator])
        allowed = _allowed_from_literal(str(context.get("expected_tags", "")))
        got = value.get(discriminator) if isinstance(value, dict) else None
        message = "required field is missing" if got is None else f"got {describe_value(got)}"
        return Problem(
            kind="schema",
            message=f"{message}; allowed values: {', '.join(allowed)}",
            path=path,
            allowed=allowed,
        )
    path = format_json_path(location)
    if error_type == "missing":
        return Problem(kind="schema", message="required field is missing", path=path)
    if error_type == "extra_forbidden":
        return Problem(kind="schema", message="unknown property", path=path)
    if error_type == "literal_error":
        allowed = _allowed_from_literal(str(context.get("expected", "")))
        return Problem(
            kind="schema",
            message=f"got {describe_value(value)}; allowed values: {', '.join(allowed)}",
            path=path,
            allowed=allowed,
        )
    expected = _EXPECTED_BY_TYPE.get(error_type)
    if expected is not None:
        return Problem(kind="schema", message=f"must be {expected}, got {describe_value(value)}", path=path)
    if error_type == "value_error":
        return Problem(kind="schema", message=str(context.get("error", error["msg"])), path=path)
    return Problem(kind="schema", message=f"{error['msg']} (got {describe_value(value)})", path=path)


def problems_from_validation_error(
    exc: pydantic.ValidationError, prefix: Sequence[str | int] = ()
) -> list[Problem]:
    return [problem_from_error(error, prefix) for error in exc.errors(include_url=False)]
