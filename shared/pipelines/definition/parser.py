"""Text -> ``PipelineDefinition``: decoding, size limit, JSON syntax and the schema.

Every failure becomes a ``Problem`` (with line/column/offset for syntax, a JSON path for the
schema), never an exception from the json module or pydantic, so callers see one typed
``DefinitionError`` whatever the input was (empty, binary, an array, wrong types...).
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pydantic
import pydantic_core

from pipelines.definition.models import MAX_DEFINITION_CHARS, TOP_LEVEL_FIELDS, PipelineDefinition
from pipelines.definition.problems import DefinitionError, Problem
from pipelines.definition.schema_errors import describe_value, problems_from_validation_error

_SNIPPET_WIDTH = 70

_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a definition is parsed and checked.

    A large definition allocates hundreds of thousands of containers (JSON values, models,
    problems) and none of them form cycles that need collecting, yet each allocation burst
    triggers collections that re-scan every live object: about a tenth of the time. Nested
    and concurrent callers (server threads) share one pause; the last to leave restores it.
    """
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                # What was allocated meanwhile and is still alive (the definition's models, the
                # report) is long-lived: it goes straight to the oldest generation instead of
                # being scanned by the young collection that re-enabling would run at once
                # (a tenth of a 1,000-step check). The rest was freed by reference counting.
                gc.freeze()
                gc.unfreeze()
                gc.enable()


class _NonStandardConstant(ValueError):
    """NaN/Infinity: Python's json accepts them, JSON (and the service) does not."""


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(name)


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _snippet(text: str, offset: int) -> str:
    """The offending line, cut around the offset, with a caret under the character."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end == -1 else end
    window_start = max(start, offset - _SNIPPET_WIDTH // 2)
    window_end = min(end, window_start + _SNIPPET_WIDTH)
    shown = text[window_start:window_end].replace("\t", " ").replace("\r", " ")
    prefix = "..." if window_start > start else ""
    suffix = "..." if window_end < end else ""
    caret = " " * (len(prefix) + offset - window_start) + "^"
    return f"    {prefix}{shown}{suffix}\n    {caret}"


def _syntax_problem(text: str, offset: int, message: str) -> Problem:
    offset = max(0, min(offset, len(text)))
    line, column = _position(text, offset)
    return Problem(
        kind="json", message=message, line=line, column=column, offset=offset, snippet=_snippet(text, offset)
    )


_STRING_OR_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|NaN|-?Infinity')


def _constant_offset(text: str, name: str) -> int:
    """Where the first NaN/Infinity token outside a string literal is."""
    for match in _STRING_OR_CONSTANT.finditer(text):
        if not match.group().startswith('"') and name in match.group():
            return match.start()
    return 0


def decode_text(text: str | bytes) -> tuple[str | None, list[Problem]]:
    """Bytes -> str (UTF-8, BOM tolerated); a size-limit or encoding problem otherwise."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, [
                Problem(
                    kind="encoding",
                    message=f"the definition is not UTF-8 text ({exc.reason} at byte {exc.start})",
                    offset=exc.start,
                )
            ]
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_DEFINITION_CHARS:
        return None, [
            Problem(
                kind="size",
                message=(
                    f"the definition is {len(text):,} characters long; the limit is {MAX_DEFINITION_CHARS:,}"
                ),
            )
        ]
    return text, []


def parse_json(text: str) -> tuple[Any, list[Problem]]:
    """Strict JSON parse; a positioned syntax problem on failure.

    Well-formed text is parsed by pydantic-core's JSON parser (jiter): a third fewer
    instructions than the json module for a large definition, and it shares repeated key
    strings. It accepts exactly the texts Python's json accepts here, less some (NaN,
    lone-surrogate escapes, nesting past 200 levels); anything it refuses is parsed again by
    the json module, which gives the exact problem or the value it has always given. A text
    that may hold a lone surrogate goes to the json module only, so its problem is kept.
    """
    if not text.strip():
        return None, [Problem(kind="json", message="the definition is empty", line=1, column=1, offset=0)]
    suspect = _may_hold_lone_surrogate(text)
    if not suspect:
        try:
            return pydantic_core.from_json(text, allow_inf_nan=False), []
        except ValueError:
            pass  # the json module says what is wrong, and where
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, [_syntax_problem(text, exc.pos, f"invalid JSON: {exc.msg}")]
    except _NonStandardConstant as exc:
        name = str(exc)
        return None, [
            _syntax_problem(text, _constant_offset(text, name), f"invalid JSON: {name} is not JSON")
        ]
    except RecursionError:
        return None, [Problem(kind="json", message="invalid JSON: nesting is too deep to parse")]
    except ValueError as exc:  # e.g. an integer literal with more digits than Python converts
        return None, [Problem(kind="json", message=f"invalid JSON: {exc}")]
    if suspect:
        path = _lone_surrogate_path(data)
        if path is not None:
            subject = "a key or string" if path else "the definition"
            return None, [
                Problem(
                    kind="encoding",
                    message=f"{subject} holds a lone surrogate (a \\ud800-\\udfff escape without its pair): not Unicode text",
                    path=path,
                )
            ]
    return data, []


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _may_hold_lone_surrogate(text: str) -> bool:
    """Whether ``text`` may decode to a lone surrogate, which only the json module reports.

    Cheap tests first: a text without a backslash holds no escape (a one-character search is a
    memchr, far faster than the regex), and an ASCII text (O(1) to know) no surrogate.
    """
    return ("\\" in text and _SURROGATE_ESCAPE.search(text) is not None) or (
        not text.isascii() and _SURROGATE.search(text) is not None
    )


# The top level when it holds only the known keys: one scan finds every step's bounds.
_KnownTopLevel = msgspec.defstruct(
    "_KnownTopLevel",
    [
        ("Steps", list[msgspec.Raw]),
        *(
            (key, msgspec.Raw | msgspec.UnsetType, msgspec.UNSET)
            for key in sorted(TOP_LEVEL_FIELDS - {"Steps"})
        ),
    ],
    forbid_unknown_fields=True,
)


_KNOWN_TOP_LEVEL = msgspec.json.Decoder(_KnownTopLevel)
_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])


def split_steps(text: str) -> tuple[dict[str, Any], list[msgspec.Raw]] | None:
    """The definition's top-level values with ``Steps`` left out (its key kept, with ``[]``), and
    each element of its ``Steps`` array as raw JSON text, not yet parsed; None when the text is
    not a well-formed object with a ``Steps`` array (``parse_json`` then says what is wrong).

    msgspec's ``Raw`` finds each element's bounds in a syntax-checking scan without building its
    values, so each step can be parsed (:func:`parse_steps`) just before it is modelled and
    checked: a step's values are then still in the CPU caches when the rules read them, which
    for a large definition parsed whole they no longer are (docs/validation.md). A repeated key
    counts once, with its last value, as in the json module.
    """
    if _may_hold_lone_surrogate(text):
        return None
    members: dict[str, Any]  # raw values, and Steps' elements when the known keys were decoded
    try:
        try:
            known = _KNOWN_TOP_LEVEL.decode(text)  # the usual case, in one scan
        except msgspec.DecodeError:  # an unknown key, or not a definition at all: in two
            members = _TOP_LEVEL.decode(text)
            if "Steps" not in members:
                return None
            elements = _ELEMENTS.decode(members["Steps"])
        else:
            members = {
                key: raw
                for key in known.__struct_fields__
                if (raw := getattr(known, key)) is not msgspec.UNSET
            }
            elements = members["Steps"]
        top: dict[str, Any] = {}
        for key, raw in members.items():
            top[key] = [] if key == "Steps" else pydantic_core.from_json(bytes(raw), allow_inf_nan=False)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None  # not an object, Steps not an array, or anything the parsers refuse
    return top, elements


def parse_steps(raw_steps: list[msgspec.Raw]) -> list[Any]:
    """Some elements of :func:`split_steps`, parsed as :func:`parse_json` parses a whole text
    (one parser call for them all: joined back into an array, without copying each).

    Raises ``ValueError`` for what pydantic-core's parser refuses (``split_steps`` checked the
    syntax, so only values such as ``1e400`` or nesting past 200 levels).
    """
    parsed: list[Any] = pydantic_core.from_json(b"[" + b",".join(raw_steps) + b"]", allow_inf_nan=False)
    return parsed


def _lone_surrogate_path(data: Any) -> str | None:
    """The JSON path of the first key or string holding a lone surrogate, or None. (A JSON
    escape pair such as \\ud83d\\ude00 decodes to one character and is fine.)"""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(key):
                    return path
                stack.append((item, f"{path}.{key}" if path else key))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(value))
    return None


def validate_schema(data: Any) -> tuple[PipelineDefinition | None, list[Problem]]:
    """JSON value -> models, translating every pydantic error into a path-addressed problem."""
    if not isinstance(data, dict):
        return None, [
            Problem(
                kind="schema",
                message=f"the definition must be a JSON object, got {describe_value(data)}",
            )
        ]
    try:
        return PipelineDefinition.model_validate(data, strict=True), []
    except pydantic.ValidationError as exc:
        return None, problems_from_validation_error(exc)
    except RecursionError:
        return None, [Problem(kind="schema", message="the definition is nested too deeply to validate")]


def parse_with_problems(text: str | bytes) -> tuple[PipelineDefinition | None, list[Problem]]:
    """Decode, parse and schema-check, collecting problems instead of raising."""
    decoded, problems = decode_text(text)
    if decoded is None:
        return None, problems
    return parse_decoded(decoded)


def parse_decoded(text: str) -> tuple[PipelineDefinition | None, list[Problem]]:
    """JSON syntax and schema of an already decoded text (no size limit), collecting problems."""
    data, problems = parse_json(text)
    if problems:
        return None, problems
    return validate_schema(data)


def parse_definition(text: str | bytes) -> PipelineDefinition:
    """Syntax and schema only (no service rules); raises ``DefinitionError`` with every problem."""
    definition, problems = parse_with_problems(text)
    if definition is None:
        raise DefinitionError(problems)
    return definition
