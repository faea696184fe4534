"""What is wrong with a definition: one ``Problem`` per finding, gathered into a report.

Every layer (JSON syntax, schema, service rules) reports through the same ``Problem`` so the
CLI, the API and tests can show or assert all findings at once, each with where it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pipelines.errors import ValidationError

if TYPE_CHECKING:
    from pipelines.definition.models import PipelineDefinition
    from pipelines.graph import PipelineGraph

Severity = Literal["error", "warning"]
Location = tuple[str | int, ...]  # keys and indexes from the definition's root to a value

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:\-]+$")


def format_json_path(location: Sequence[str | int]) -> str:
    """``("Steps", 3, "Arguments")`` -> ``Steps[3].Arguments``; odd keys as ``['a.b']``."""
    out: list[str] = []
    for part in location:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.match(part):
            out.append(f".{part}" if out else part)
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


@dataclass(frozen=True)
class Problem:
    """One finding.

    ``kind`` groups findings for machines: ``encoding``, ``size``, ``json`` (syntax), ``schema``
    (shape and types), ``version``, ``name``, ``duplicate-name``, ``branch``, ``parameter``,
    ``reference``, ``property-path``, ``property-file``, ``depends-on``, ``cycle``,
    ``retry-policy``, ``cache-config``, ``output-parameter``, ``unknown-field``,
    ``unknown-step-type`` and ``argument`` (a literal in Arguments that the step's Create*
    request would reject when the step starts). ``path`` is the JSON path inside the
    definition (empty for syntax errors, which carry ``line``/``column``/``offset`` and a
    ``snippet`` instead); ``allowed`` lists the accepted values when there is a fixed set.
    """

    kind: str
    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None
    offset: int | None = None
    snippet: str | None = None
    severity: Severity = "error"
    allowed: tuple[str, ...] = field(default=())

    @classmethod
    def at(
        cls,
        kind: str,
        message: str,
        location: Sequence[str | int],
        severity: Severity = "error",
        allowed: tuple[str, ...] = (),
    ) -> Problem:
        """A finding about the value at ``location`` (keys and indexes from the definition's root)."""
        return cls(
            kind=kind, message=message, path=format_json_path(location), severity=severity, allowed=allowed
        )

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            position = f"line {self.line}, column {self.column}"
            if self.offset is not None:
                position += f" (char {self.offset})"
            where = f"{where} at {position}" if where else position
        text = f"{where}: {self.message}" if where else self.message
        if self.snippet:
            text += "\n" + self.snippet
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, without empty position fields."""
        data = asdict(self)
        data["allowed"] = list(self.allowed)
        return {key: value for key, value in data.items() if value not in (None, [], "")}


def add_problem(
    out: list[Problem],
    kind: str,
    message: str,
    location: Sequence[str | int],
    severity: Severity = "error",
    allowed: tuple[str, ...] = (),
) -> None:
    """Append :meth:`Problem.at` to ``out`` (the rule checkers collect findings into one list)."""
    out.append(Problem.at(kind, message, location, severity, allowed))


@dataclass(frozen=True)
class Report:
    """The result of checking a definition; ``definition`` is None when it did not parse.

    ``graph`` is the DAG the validator built (None when the definition did not parse), so
    callers need not build it again.
    """

    definition: PipelineDefinition | None
    errors: list[Problem]
    warnings: list[Problem]
    graph: PipelineGraph | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.definition is not None and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "errors": [problem.to_dict() for problem in self.errors],
            "warnings": [problem.to_dict() for problem in self.warnings],
        }


def _summary(problems: Sequence[Problem]) -> str:
    if not problems:
        return "invalid pipeline definition"
    head = f"invalid pipeline definition ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
    return "\n".join([head, *(f"  - {p}".replace("\n", "\n    ") for p in problems)])


class DefinitionError(ValidationError):
    """A definition that cannot be accepted; carries every problem found, not only the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(_summary(problems))
        self.problems: list[Problem] = list(problems)
