"""Finding expressions inside raw JSON: every ``Get`` and every PropertyFile reference.

The DAG's data edges, the validator's reference checks and the engine's resolution all walk
definitions the same way, so the walk lives here once.
"""

from __future__ import annotations

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
        ref.parsed.name for ref in iter_gets(value) if ref.parsed is not None and ref.parsed.namespace == "Steps"
    }
