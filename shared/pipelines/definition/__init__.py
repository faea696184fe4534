"""The pipeline definition language: parse, check against the service's rules, report.

``load_definition`` is what callers that need a runnable definition use (it raises one
``DefinitionError`` carrying every problem); ``check_definition`` never raises for bad input
and also returns warnings, for tools that show a report. Its ``Report.graph`` is the DAG the
rules built (with its topological order already computed): reuse it rather than building
another.

Stages: ``parser`` (text, JSON syntax, the pydantic ``models``), then ``validation`` (the
service's rules, one walk per step; see docs/validation.md), which calls ``step_rules``,
``arguments`` and ``reference_checks``. Problems are ``problems.Problem`` everywhere.
"""

from __future__ import annotations

from pipelines.definition.models import PipelineDefinition
from pipelines.definition.parser import parse_definition, parse_with_problems, paused_gc
from pipelines.definition.problems import DefinitionError, Problem, Report
from pipelines.definition.validation import validate_definition, validate_with_graph


def check_definition(text: str | bytes) -> Report:
    """Parse and validate; every problem is in the report, nothing is raised for bad input."""
    with paused_gc():
        definition, problems = parse_with_problems(text)
        if definition is None:
            return Report(definition=None, errors=problems, warnings=[])
        errors, warnings, graph = validate_with_graph(definition)
    return Report(definition=definition, errors=errors, warnings=warnings, graph=graph)


def load_definition(text: str | bytes) -> PipelineDefinition:
    """A definition that passed every rule; raises ``DefinitionError`` with all errors otherwise."""
    report = check_definition(text)
    if report.definition is None or report.errors:
        raise DefinitionError(report.errors)
    return report.definition


__all__ = [
    "DefinitionError",
    "PipelineDefinition",
    "Problem",
    "Report",
    "check_definition",
    "load_definition",
    "parse_definition",
    "validate_definition",
]
