"""The service's rules on a parsed definition: names, parameters, references, the DAG, and
the per-step envelope and Arguments rules. Every rule reports; nothing stops at the first.

Rules and their sources (the seed docs, the SDK and botocore) are in the modules this one
calls: ``reference_checks`` (Get / PropertyFile / expressions), ``step_rules`` (retry, cache,
property files, conditions), ``arguments`` (Create* request shapes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from pipelines.definition.arguments import check_arguments
from pipelines.definition.models import (
    KNOWN_STEP_TYPES,
    SUPPORTED_VERSION,
    ConditionStep,
    GenericStep,
    PipelineDefinition,
    Step,
)
from pipelines.definition.problems import Problem, format_json_path
from pipelines.definition.reference_checks import ReferenceScope, StepReferenceChecker, did_you_mean
from pipelines.definition.shapes import compiled_pattern, shape
from pipelines.definition.step_rules import check_envelope
from pipelines.graph import PipelineGraph

Location = tuple[str | int, ...]

KNOWN_TOP_LEVEL_FIELDS = frozenset(
    {"Version", "Metadata", "Parameters", "PipelineExperimentConfig", "Steps", "MlflowConfig"}
)
EXPERIMENT_CONFIG_FIELDS = frozenset({"ExperimentName", "TrialName"})
_PLAIN_STEP_FIELDS = frozenset({"name", "type", "depends_on", "display_name", "description"})
_PARAMETER_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
}


@dataclass(frozen=True)
class LocatedStep:
    """A step with where it sits: its JSON location and the condition branch holding it."""

    step: Step
    location: Location
    branch: tuple[str, str] | None  # (condition step name, "IfSteps" | "ElseSteps")


def locate_steps(definition: PipelineDefinition) -> list[LocatedStep]:
    """Every step with its JSON location, depth-first in definition order (iterative: deep nesting)."""
    located: list[LocatedStep] = []
    stack: list[LocatedStep] = [
        LocatedStep(step, ("Steps", index), None)
        for index, step in reversed(list(enumerate(definition.steps)))
    ]
    while stack:
        item = stack.pop()
        located.append(item)
        if isinstance(item.step, ConditionStep):
            children: list[LocatedStep] = []
            for branch in ("IfSteps", "ElseSteps"):
                steps = (
                    item.step.arguments.if_steps if branch == "IfSteps" else item.step.arguments.else_steps
                )
                for index, child in enumerate(steps):
                    children.append(
                        LocatedStep(
                            child, (*item.location, "Arguments", branch, index), (item.step.name, branch)
                        )
                    )
            stack.extend(reversed(children))
    return located


def _problem(kind: str, message: str, location: Location, severity: str = "error") -> Problem:
    return Problem(kind=kind, message=message, path=format_json_path(location), severity=severity)  # type: ignore[arg-type]


def _name_problem(name: str, location: Location, shape_name: str, what: str) -> Problem | None:
    metadata = shape("sagemaker", shape_name).metadata
    low, high = max(1, metadata.get("min", 1)), metadata.get("max", 64)
    pattern = compiled_pattern(metadata.get("pattern", ".*"))
    if not low <= len(name) <= high or (pattern is not None and pattern.fullmatch(name) is None):
        return _problem(
            "name",
            f"{what} name {name!r} must be {low} to {high} characters of letters, digits, '-' and '_'",
            location,
        )
    return None


def check_top_level(definition: PipelineDefinition) -> Iterator[Problem]:
    if definition.version != SUPPORTED_VERSION:
        yield _problem(
            "version",
            f"unsupported Version {definition.version!r}; expected {SUPPORTED_VERSION!r}",
            ("Version",),
        )
    for key in definition.model_extra or {}:
        if key not in KNOWN_TOP_LEVEL_FIELDS:
            yield _problem("unknown-field", "unknown top-level field (kept as is)", (key,), "warning")
    config = definition.pipeline_experiment_config
    for key in config or {}:
        if key not in EXPERIMENT_CONFIG_FIELDS:
            yield _problem(
                "schema",
                f"unknown property; allowed: {', '.join(sorted(EXPERIMENT_CONFIG_FIELDS))}",
                ("PipelineExperimentConfig", key),
            )
    if not definition.steps:
        yield _problem("schema", "a pipeline needs at least one step", ("Steps",))


def _value_matches(value: Any, parameter_type: str) -> bool:
    expected = _PARAMETER_PYTHON_TYPES[parameter_type]
    return isinstance(value, expected) and (parameter_type == "Boolean" or not isinstance(value, bool))


def check_parameters(definition: PipelineDefinition) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, parameter in enumerate(definition.parameters):
        location: Location = ("Parameters", index)
        name_problem = _name_problem(
            parameter.name, (*location, "Name"), "PipelineParameterName", "parameter"
        )
        if name_problem:
            yield name_problem
        if parameter.name in seen:
            yield _problem(
                "duplicate-name",
                f"parameter {parameter.name!r} is declared more than once",
                (*location, "Name"),
            )
        seen.add(parameter.name)
        if parameter.has_default and not _value_matches(parameter.default_value, parameter.type):
            yield _problem(
                "parameter",
                f"default {parameter.default_value!r} is not a {parameter.type}",
                (*location, "DefaultValue"),
            )
        if parameter.enum_values is None:
            continue
        if not parameter.enum_values:
            yield _problem("parameter", "EnumValues must not be empty", (*location, "EnumValues"))
        for position, value in enumerate(parameter.enum_values):
            if not _value_matches(value, parameter.type):
                yield _problem(
                    "parameter", f"{value!r} is not a {parameter.type}", (*location, "EnumValues", position)
                )
        if parameter.has_default and parameter.default_value not in parameter.enum_values:
            yield _problem(
                "parameter",
                f"default {parameter.default_value!r} is not one of EnumValues {parameter.enum_values!r}",
                (*location, "DefaultValue"),
            )


def check_step_names(located: list[LocatedStep]) -> Iterator[Problem]:
    first_seen: dict[str, LocatedStep] = {}
    for item in located:
        name = item.step.name
        name_problem = _name_problem(name, (*item.location, "Name"), "StepName", "step")
        if name_problem:
            yield name_problem
        earlier = first_seen.get(name)
        if earlier is None:
            first_seen[name] = item
            continue
        earlier_path = format_json_path(earlier.location)
        if earlier.branch and item.branch:
            yield _problem(
                "branch",
                f"step {name!r} is already in a condition branch at {earlier_path}; a step sits in at most one branch",
                (*item.location, "Name"),
            )
        else:
            yield _problem(
                "duplicate-name",
                f"step name {name!r} is already used at {earlier_path}; names are unique across all branches",
                (*item.location, "Name"),
            )


def check_depends_on(item: LocatedStep, steps: dict[str, Step]) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, name in enumerate(item.step.depends_on):
        location = (*item.location, "DependsOn", index)
        target = steps.get(name)
        if name in seen:
            yield _problem("depends-on", f"{name!r} is listed twice", location, "warning")
        seen.add(name)
        if target is None:
            yield _problem("depends-on", f"step {name!r} does not exist{did_you_mean(name, steps)}", location)
        elif target is item.step:
            yield _problem("depends-on", "a step cannot depend on itself", location)
        elif target.type == "Fail":
            yield _problem(
                "depends-on", f"{name!r} is a Fail step; no step can depend on a Fail step", location
            )


def expression_carriers(step: Step) -> Iterator[tuple[str, Any]]:
    """(JSON key, raw value) of every part of a step where expressions may sit.

    Typed sub-models (CacheConfig, RetryPolicies, PropertyFiles, OutputParameters) hold none;
    a condition's branches are walked as steps of their own.
    """
    fields = type(step).model_fields
    for field_name in step.model_fields_set - _PLAIN_STEP_FIELDS:
        value = getattr(step, field_name)
        alias = fields[field_name].alias or field_name
        if isinstance(step, ConditionStep) and field_name == "arguments":
            continue  # conditions are walked with their own location below
        if isinstance(value, BaseModel) or (
            isinstance(value, list) and value and isinstance(value[0], BaseModel)
        ):
            continue
        yield alias, value
    for key, value in (step.model_extra or {}).items():
        yield key, value


def check_step(item: LocatedStep, scope: ReferenceScope) -> Iterator[Problem]:
    step, location = item.step, item.location
    if isinstance(step, GenericStep):
        yield _problem(
            "unknown-step-type",
            f"unknown step type {step.type!r} (kept as is; its properties are not checked). "
            f"Known types: {', '.join(KNOWN_STEP_TYPES)}",
            (*location, "Type"),
            "warning",
        )
    else:
        for key in step.model_extra or {}:
            yield _problem(
                "unknown-field",
                f"unknown property of a {step.type} step (kept as is)",
                (*location, key),
                "warning",
            )
    yield from check_depends_on(item, dict(scope.steps))
    yield from check_envelope(step, location)
    checker = StepReferenceChecker(scope, step, location)
    for key, value in expression_carriers(step):
        yield from checker.check(value, (*location, key))
    if isinstance(step, ConditionStep):
        yield from checker.check(step.arguments.conditions, (*location, "Arguments", "Conditions"))
    else:
        yield from check_arguments(step.type, step.arguments, (*location, "Arguments"))


def check_cycles(definition: PipelineDefinition, located: list[LocatedStep]) -> Iterator[Problem]:
    cycle = PipelineGraph.from_definition(definition).find_cycle()
    if cycle is None:
        return
    where = next((item.location for item in located if item.step.name == cycle[0]), ("Steps",))
    yield _problem("cycle", f"the steps depend on each other in a cycle: {' -> '.join(cycle)}", where)


def validate_definition(definition: PipelineDefinition) -> tuple[list[Problem], list[Problem]]:
    """Apply every service rule; returns (errors, warnings)."""
    located = locate_steps(definition)
    steps: dict[str, Step] = {}
    for item in located:
        steps.setdefault(item.step.name, item.step)
    scope = ReferenceScope.of(definition, steps)
    problems: list[Problem] = [
        *check_top_level(definition),
        *check_parameters(definition),
        *check_step_names(located),
    ]
    if definition.pipeline_experiment_config:
        checker = StepReferenceChecker(scope, None, ("PipelineExperimentConfig",))
        problems.extend(checker.check(definition.pipeline_experiment_config, ("PipelineExperimentConfig",)))
    for item in located:
        problems.extend(check_step(item, scope))
    problems.extend(check_cycles(definition, located))
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    return errors, warnings
