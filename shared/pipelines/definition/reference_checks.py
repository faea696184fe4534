"""Expressions inside a step: their form, and whether what they read exists.

One walk per step finds every expression object. Each is checked for its shape
(``grammar``), and each ``Get`` for its target: a declared parameter, a known execution
variable or experiment name, or an existing step and a property path that step type has
(``property_paths``). A ``PropertyFile`` must name a property file declared on a Processing step.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic

from pipelines.definition.arguments import REQUEST_SHAPES, literal_names
from pipelines.definition.grammar import EXPRESSION_MODELS, is_expression
from pipelines.definition.models import CallbackStep, LambdaStep, PipelineDefinition, Step
from pipelines.definition.problems import Problem, format_json_path
from pipelines.definition.property_paths import CHECKED_STEP_TYPES, resolve_property_path
from pipelines.definition.schema_errors import problems_from_validation_error
from pipelines.expressions.context import EXECUTION_VARIABLES
from pipelines.expressions.paths import Field, GetReference, Key, PathSyntaxError, format_path, parse_get

EXPERIMENT_CONFIG_NAMES = frozenset({"ExperimentName", "TrialName"})
NAMESPACES = ("Parameters", "Execution", "Steps", "PipelineExperimentConfig")

Location = tuple[str | int, ...]


def did_you_mean(name: str, candidates: Any) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


@dataclass
class ReferenceScope:
    """What a ``Get`` may read in this definition; built once per validation."""

    definition: PipelineDefinition
    steps: Mapping[str, Step]
    parameters: frozenset[str]

    @classmethod
    def of(cls, definition: PipelineDefinition, steps: Mapping[str, Step]) -> ReferenceScope:
        return cls(definition, steps, frozenset(p.name for p in definition.parameters))


def _problem(message: str, location: Location, kind: str = "reference", severity: str = "error") -> Problem:
    return Problem(kind=kind, message=message, path=format_json_path(location), severity=severity)  # type: ignore[arg-type]


def iter_expressions(value: Any, location: Location) -> Iterator[tuple[dict[str, Any], Location, bool]]:
    """Every expression object under ``value``: (object, location, is it a JsonGet PropertyFile)."""
    stack: list[tuple[Any, Location, bool]] = [(value, location, False)]
    while stack:
        node, loc, property_file = stack.pop()
        if isinstance(node, dict):
            if is_expression(node):
                yield node, loc, property_file
                for key, inner in node.items():
                    if isinstance(inner, dict):
                        for inner_key, item in inner.items():
                            stack.append((item, (*loc, key, inner_key), inner_key == "PropertyFile"))
                continue
            for key, item in node.items():
                stack.append((item, (*loc, key), False))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                stack.append((item, (*loc, index), False))


def _check_form(expression: dict[str, Any], location: Location) -> list[Problem]:
    if len(expression) != 1:
        return [_problem("an expression object must have exactly one key", location, "schema")]
    key = next(iter(expression))
    model = EXPRESSION_MODELS.get(key)
    if model is None:
        return [
            _problem(
                f"unknown function {key!r}; known: {', '.join(EXPRESSION_MODELS)}",
                (*location, key),
                "schema",
            )
        ]
    try:
        model.model_validate(expression, strict=True)
    except pydantic.ValidationError as exc:
        return problems_from_validation_error(exc, location)
    return []


class StepReferenceChecker:
    """Checks the expressions of one step (or of the experiment config when ``step`` is None)."""

    def __init__(self, scope: ReferenceScope, step: Step | None, location: Location) -> None:
        self.scope = scope
        self.step = step
        self.location = location

    def check(self, value: Any, location: Location) -> Iterator[Problem]:
        for expression, loc, property_file in iter_expressions(value, location):
            form = _check_form(expression, loc)
            if form:
                yield from form
                continue
            target = expression.get("Get")
            if isinstance(target, str):
                yield from self._check_get(target, (*loc, "Get"), property_file)

    def _check_get(self, target: str, location: Location, property_file: bool) -> Iterator[Problem]:
        try:
            ref = parse_get(target)
        except PathSyntaxError as exc:
            yield _problem(str(exc), location)
            return
        if property_file and ref.namespace != "Steps":
            yield _problem(
                f"PropertyFile must reference Steps.<step>.PropertyFiles.<name>, got {target!r}", location
            )
            return
        if ref.namespace == "Parameters":
            yield from self._check_named(ref, location, self.scope.parameters, "parameter")
        elif ref.namespace == "Execution":
            yield from self._check_named(ref, location, EXECUTION_VARIABLES, "execution variable")
        elif ref.namespace == "PipelineExperimentConfig":
            yield from self._check_experiment(ref, location)
        elif ref.namespace == "Steps":
            yield from self._check_step(ref, location, property_file)
        else:
            yield _problem(
                f"unknown namespace {ref.namespace!r} in {target!r}; expected one of {', '.join(NAMESPACES)}",
                location,
            )

    def _check_named(
        self, ref: GetReference, location: Location, names: frozenset[str], what: str
    ) -> Iterator[Problem]:
        if ref.name not in names:
            known = f"declared: {', '.join(sorted(names))}" if names else f"no {what}s are declared"
            yield _problem(
                f"{ref.raw!r} reads {what} {ref.name!r}, which does not exist{did_you_mean(ref.name, names)}; {known}",
                location,
            )
        elif ref.path:
            yield _problem(
                f"{ref.raw!r}: a {what} has no properties; use {ref.namespace}.{ref.name}", location
            )

    def _check_experiment(self, ref: GetReference, location: Location) -> Iterator[Problem]:
        if self.step is None:
            yield _problem("PipelineExperimentConfig cannot reference itself", location)
            return
        yield from self._check_named(ref, location, EXPERIMENT_CONFIG_NAMES, "experiment config value")
        if not self.scope.definition.experiments_enabled:
            yield _problem(
                f"{ref.raw!r} reads the experiment config, but PipelineExperimentConfig is null",
                location,
                severity="warning",
            )

    def _check_step(self, ref: GetReference, location: Location, property_file: bool) -> Iterator[Problem]:
        if self.step is None:
            yield _problem("PipelineExperimentConfig cannot reference steps", location)
            return
        target = self.scope.steps.get(ref.name)
        if target is None:
            yield _problem(
                f"{ref.raw!r} reads step {ref.name!r}, which does not exist{did_you_mean(ref.name, self.scope.steps)}",
                location,
            )
            return
        if target is self.step:
            yield _problem(f"{ref.raw!r}: a step cannot reference its own properties", location)
            return
        if target.type == "Fail":
            yield _problem(
                f"{ref.raw!r}: Fail step {ref.name!r} has no properties and cannot be referenced", location
            )
            return
        if property_file:
            yield from self._check_property_file(ref, target, location)
            return
        if ref.path[:1] == [Field("PropertyFiles")]:
            yield _problem(
                f"{ref.raw!r}: a property file is read with Std:JsonGet's PropertyFile, not with a plain Get",
                location,
            )
            return
        if not ref.path:
            yield _problem(
                f"{ref.raw!r} names a step but no property of it (e.g. Steps.{ref.name}.<Property>)", location
            )
            return
        if isinstance(target, LambdaStep | CallbackStep):
            yield from self._check_output_parameter(ref, target, location)
        elif target.type in CHECKED_STEP_TYPES:
            yield from self._check_property_path(ref, target, location)

    def _check_property_file(self, ref: GetReference, target: Step, location: Location) -> Iterator[Problem]:
        path = ref.path
        if len(path) != 2 or path[0] != Field("PropertyFiles") or not isinstance(path[1], Field):
            yield _problem(
                f"PropertyFile must be Steps.{ref.name}.PropertyFiles.<name>, got {ref.raw!r}", location
            )
            return
        if target.type != "Processing":
            yield _problem(
                f"{ref.raw!r}: property files are only read from Processing steps; {ref.name!r} is {target.type}",
                location,
                "property-file",
            )
            return
        name = path[1].name
        declared = [p.property_file_name for p in target.property_files]
        if name not in declared:
            listed = ", ".join(declared) if declared else "none"
            yield _problem(
                f"{ref.raw!r}: step {ref.name!r} declares no property file {name!r}"
                f"{did_you_mean(name, declared)}; declared: {listed}",
                location,
                "property-file",
            )

    def _check_output_parameter(
        self, ref: GetReference, target: LambdaStep | CallbackStep, location: Location
    ) -> Iterator[Problem]:
        declared = [o.output_name for o in target.output_parameters]
        path = ref.path
        if len(path) != 2 or path[0] != Field("OutputParameters") or not isinstance(path[1], Key):
            yield _problem(
                f"{ref.raw!r}: a {target.type} step only exposes OutputParameters['<name>'] "
                f"(declared: {', '.join(declared) or 'none'})",
                location,
                "property-path",
            )
            return
        if path[1].key not in declared:
            yield _problem(
                f"{ref.raw!r}: step {ref.name!r} declares no output {path[1].key!r}"
                f"{did_you_mean(path[1].key, declared)}; declared: {', '.join(declared) or 'none'}",
                location,
                "property-path",
            )

    def _check_property_path(self, ref: GetReference, target: Step, location: Location) -> Iterator[Problem]:
        resolution = resolve_property_path(target.type, tuple(ref.path))
        if resolution.error is not None:
            yield _problem(
                f"{ref.raw!r}: step {ref.name!r} ({target.type}) has no property {format_path(ref.path)}: "
                f"{resolution.error}",
                location,
                "property-path",
            )
            return
        if target.type not in REQUEST_SHAPES:
            return
        for element in resolution.named_elements:
            items = _literal_at(target.arguments, element.list_path)
            names = literal_names(items, element.name_field) if items is not None else None
            if names is not None and element.key not in names:
                listed = ", ".join(sorted(names)) or "none"
                yield _problem(
                    f"{ref.raw!r}: step {ref.name!r} has no {format_path(list(element.list_path))} element with "
                    f"{element.name_field} {element.key!r}{did_you_mean(element.key, names)}; declared: {listed}",
                    location,
                    "property-path",
                )


def _literal_at(arguments: Any, path: tuple[Any, ...]) -> Any:
    """The value at a field-only path inside literal Arguments, or None when it is not there."""
    node = arguments
    for segment in path:
        if not isinstance(segment, Field) or not isinstance(node, dict) or is_expression(node):
            return None
        node = node.get(segment.name)
    return None if is_expression(node) else node
