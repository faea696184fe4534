"""Finding expressions inside raw JSON: every ``Get`` and every PropertyFile reference.

The DAG's data edges, the validator's reference checks and the engine's resolution all walk
definitions the same way, so the walk lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipelines.expressions.paths import GetReference, PathSyntaxError, parse_get


@dataclass(frozen=True)
class FoundReference:
    """A ``Get`` found at a JSON path (``Arguments.Inputs[0].S3Uri``) inside a step."""

    json_path: str
    target: str
    parsed: GetReference | None  # None when the target does not parse
    error: PathSyntaxError | None


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path and not part.startswith("[") else f"{path}{part}"


def iter_gets(value: Any, json_path: str = "") -> Iterator[FoundReference]:
    """Yield every ``{"Get": ...}`` inside ``value``, depth-first, with where it was found."""
    stack: list[tuple[Any, str]] = [(value, json_path)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            target = node.get("Get")
            if len(node) == 1 and isinstance(target, str):
                try:
                    yield FoundReference(_join(path, "Get"), target, parse_get(target), None)
                except PathSyntaxError as exc:
                    yield FoundReference(_join(path, "Get"), target, None, exc)
                continue
            for key in reversed(list(node)):
                stack.append((node[key], _join(path, str(key))))
        elif isinstance(node, list):
            for i in range(len(node) - 1, -1, -1):
                stack.append((node[i], _join(path, f"[{i}]")))


def referenced_steps(value: Any) -> set[str]:
    """Names of the steps that ``value`` reads from (``Steps.X...``, including PropertyFiles)."""
    return {
        ref.parsed.name
        for ref in iter_gets(value)
        if ref.parsed is not None and ref.parsed.namespace == "Steps"
    }


STEP_HEAD = re.compile(r"Steps\.([^.\[\]'\"]+)(?:[.\[]|$)")
"""The step name a ``Get`` target reads (group 1); the DAG's data edges follow it."""


def iter_get_targets(value: Any) -> Iterator[str]:
    """Yield the target string of every ``{"Get": ...}`` inside plain JSON ``value``, in no set order.

    The lean sibling of :func:`iter_gets` for hot paths (building the DAG of thousands of steps):
    it tracks no JSON paths and parses nothing. Bulk ``extend`` beats filtering leaves in Python.
    """
    stack: list[Any] = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind is dict:
            target = node.get("Get")
            if isinstance(target, str) and len(node) == 1:
                yield target
            else:
                extend(node.values())
        elif kind is list:
            extend(node)


def referenced_step_names(value: Any) -> set[str]:
    """Names after ``Steps.`` in every ``Get`` inside ``value``, reading only the head of each target.

    Unlike :func:`referenced_steps` the rest of the path is not validated, which is what the
    graph needs (the validator reports malformed paths through :func:`iter_gets`).
    """
    names: set[str] = set()
    for target in iter_get_targets(value):
        match = STEP_HEAD.match(target)
        if match is not None:
            names.add(match.group(1))
    return names
