"""The pipeline definition language: parse, check against the service's rules, report.

``load_definition`` is what callers that need a runnable definition use (it raises one
``DefinitionError`` carrying every problem); ``check_definition`` never raises for bad input
and also returns warnings, for tools that show a report. Its ``Report.graph`` is the DAG the
rules built (with its topological order already computed): reuse it rather than building
another.

Stages: ``parser`` (text, JSON syntax, the pydantic ``models``), then ``validation`` (the
service's rules, one walk per step; see docs/validation.md), which calls ``step_rules``,
``arguments`` and ``reference_checks``. ``stepwise`` runs the same stages a few steps at a time,
so that a large definition's data is still in the CPU caches when the rules read it; a text it
does not take (any with a syntax or schema problem) is checked whole. Problems are
``problems.Problem`` everywhere.
"""

from __future__ import annotations

from pipelines.definition.models import PipelineDefinition
from pipelines.definition.parser import decode_text, parse_decoded, parse_definition, paused_gc
from pipelines.definition.problems import DefinitionError, Problem, Report
from pipelines.definition.stepwise import check_stepwise
from pipelines.definition.validation import validate_definition, validate_with_graph


def check_definition(text: str | bytes) -> Report:
    """Parse and validate; every problem is in the report, nothing is raised for bad input."""
    decoded, problems = decode_text(text)
    if decoded is None:
        return Report(definition=None, errors=problems, warnings=[])
    return check_text(decoded)


def check_text(text: str) -> Report:
    """:func:`check_definition` of a decoded text, without the size limit (which only the
    benchmarks go past). A step at a time when it can (``stepwise``), else the whole text."""
    with paused_gc():
        report = check_stepwise(text)
        if report is not None:
            return report
        definition, problems = parse_decoded(text)
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
    "check_text",
    "load_definition",
    "parse_definition",
    "validate_definition",
]
