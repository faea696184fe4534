"""Property-path grammar: ``Steps.<name>.<Field>[0]['key']...``.

One tokenizer serves the validator (checking paths against botocore shapes), the evaluator
(resolving them against Describe* responses) and the graph (finding referenced steps).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pipelines.errors import ValidationError


class PathSyntaxError(ValidationError):
    """A property path that does not follow the ``Field[0]['key']`` grammar."""


@dataclass(frozen=True)
class Field:
    """A member access: ``.Name``."""

    name: str


@dataclass(frozen=True)
class Index:
    """A list index: ``[0]``."""

    index: int


@dataclass(frozen=True)
class Key:
    """``['key']``: a map key, or the element of a list whose naming field equals ``key``."""

    key: str


Segment = Field | Index | Key

_TOKEN = re.compile(
    r"""
    (?P<field>[^.\[\]'"]+)
  | \[(?P<index>-?\d+)\]
  | \[(?P<quote>['"])(?P<key>.*?)(?P=quote)\]
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)


def parse_path(path: str) -> list[Segment]:
    """Split a dotted property path into segments, rejecting anything malformed."""
    segments: list[Segment] = []
    pos = 0
    expect_field = True
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None:
            raise PathSyntaxError(f"invalid property path {path!r}: unexpected {path[pos]!r} at offset {pos}")
        if match.group("dot"):
            if expect_field:
                raise PathSyntaxError(f"invalid property path {path!r}: empty segment at offset {pos}")
            expect_field = True
        elif match.group("field") is not None:
            if not expect_field:
                raise PathSyntaxError(f"invalid property path {path!r}: missing '.' before offset {pos}")
            segments.append(Field(match.group("field")))
            expect_field = False
        elif match.group("index") is not None:
            if expect_field and segments:
                raise PathSyntaxError(f"invalid property path {path!r}: '[' after '.' at offset {pos}")
            segments.append(Index(int(match.group("index"))))
            expect_field = False
        else:
            if expect_field and segments:
                raise PathSyntaxError(f"invalid property path {path!r}: '[' after '.' at offset {pos}")
            segments.append(Key(match.group("key")))
            expect_field = False
        pos = match.end()
    if not segments or expect_field:
        raise PathSyntaxError(f"invalid property path {path!r}: it ends with '.' or is empty")
    return segments


def format_path(segments: Sequence[Segment]) -> str:
    """The inverse of :func:`parse_path`."""
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, Field):
            out.append(("." if out else "") + seg.name)
        elif isinstance(seg, Index):
            out.append(f"[{seg.index}]")
        else:
            out.append(f"['{seg.key}']")
    return "".join(out)


@dataclass(frozen=True)
class GetReference:
    """A parsed ``{"Get": "<namespace>.<rest>"}`` target."""

    namespace: str  # "Parameters" | "Execution" | "Steps" | "PipelineExperimentConfig" | other
    name: str  # parameter / variable / step name, or the first field for other namespaces
    path: tuple[Segment, ...]  # what follows the name (empty for Parameters and Execution)
    raw: str


@lru_cache(maxsize=4096)
def parse_get(target: str) -> GetReference:
    """Parse the string of a ``Get`` expression into namespace, name and trailing path.

    Memoised: an execution evaluates the same few targets at every step, and the result is
    immutable (a PathSyntaxError is raised again each time)."""
    segments = parse_path(target)
    head = segments[0]
    if not isinstance(head, Field) or len(segments) < 2 or not isinstance(segments[1], Field):
        raise PathSyntaxError(f"invalid Get target {target!r}: expected '<Namespace>.<Name>...'")
    return GetReference(namespace=head.name, name=segments[1].name, path=tuple(segments[2:]), raw=target)
