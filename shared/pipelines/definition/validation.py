"""The service's rules on a parsed definition: names, parameters, references, the DAG, and
the per-step envelope and Arguments rules. Every rule reports; nothing stops at the first.

Rules and their sources (the seed docs, the SDK and botocore) are in the modules this one
calls: ``reference_checks`` (Get / PropertyFile / expressions), ``step_rules`` (retry, cache,
property files, conditions), ``arguments`` (Create* request shapes).

A definition is walked once, not once per rule (a thousand steps hold about 100,000 values):
the steps are located and indexed by name, then ``check_step`` applies every rule to one step
in one walk of its values and records what the step reads, and the DAG is built from those
reads without walking the steps again. docs/validation.md tells the whole order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import cache, partial
from typing import Any, NamedTuple, cast

from pydantic import BaseModel

from pipelines.definition.arguments import check_arguments
from pipelines.definition.models import (
    KNOWN_STEP_TYPES,
    SUPPORTED_VERSION,
    TOP_LEVEL_FIELDS,
    ConditionArguments,
    ConditionStep,
    ForEachStep,
    GenericStep,
    PipelineDefinition,
    Step,
)
from pipelines.definition.problems import Location, Problem, format_json_path
from pipelines.definition.reference_checks import (
    ReadScan,
    ReferenceScope,
    StepReferenceChecker,
    did_you_mean,
    known_reads,
    scan_reads,
)
from pipelines.definition.shapes import compiled_pattern, shape
from pipelines.definition.step_rules import check_envelope
from pipelines.graph import CycleError, GraphBuilder, PipelineGraph

EXPERIMENT_CONFIG_FIELDS = frozenset({"ExperimentName", "TrialName"})
_PARAMETER_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
}


class LocatedStep(NamedTuple):
    """A step with where it sits: its JSON location, the condition branch holding it, and
    whether it is inside a ForEach body (where ``ForEach.CurrentItem`` is defined).

    A named tuple: one is made per step, and a frozen dataclass's ``__init__`` costs ten times more.
    """

    step: Step
    location: Location
    branch: tuple[str, str] | None  # (condition step name, "IfSteps" | "ElseSteps")
    in_for_each: bool = False


def _children(item: LocatedStep) -> list[LocatedStep]:
    step, location = item.step, item.location
    if isinstance(step, ConditionStep):
        return [
            LocatedStep(child, (*location, "Arguments", branch, index), (step.name, branch), item.in_for_each)
            for branch, steps in (
                ("IfSteps", step.arguments.if_steps),
                ("ElseSteps", step.arguments.else_steps),
            )
            for index, child in enumerate(steps)
        ]
    if isinstance(step, ForEachStep):
        return [
            LocatedStep(child, (*location, "Arguments", "ForEachBody", index), None, True)
            for index, child in enumerate(step.arguments.body)
        ]
    return []


# The named tuple's own __new__ is Python code; tuple.__new__ makes the same tuple in C (one a step).
_new_located = partial(tuple.__new__, LocatedStep)


def locate_step(step: Step, index: int, located: list[LocatedStep]) -> None:
    """Append ``Steps[index]`` and then the steps nested in it, depth-first (iterative: deep nesting)."""
    item = _new_located((step, ("Steps", index), None, False))
    located.append(item)
    step_class = type(step)
    if step_class is not ConditionStep and step_class is not ForEachStep:
        return  # the others nest no steps
    stack = _children(item)[::-1]
    while stack:
        nested = stack.pop()
        located.append(nested)
        nested_class = type(nested.step)
        if nested_class is ConditionStep or nested_class is ForEachStep:
            stack.extend(reversed(_children(nested)))


def locate_steps(definition: PipelineDefinition) -> list[LocatedStep]:
    """Every step with its JSON location, depth-first in definition order."""
    located: list[LocatedStep] = []
    for index, step in enumerate(definition.steps):
        locate_step(step, index, located)
    return located


@cache
def _name_rule(shape_name: str) -> tuple[int, int, re.Pattern[str] | None]:
    """(shortest, longest, pattern) of a botocore name shape, read once per process."""
    metadata = shape("sagemaker", shape_name).metadata
    return (
        max(1, metadata.get("min", 1)),
        metadata.get("max", 64),
        compiled_pattern(metadata.get("pattern", ".*")),
    )


def _name_problem(name: str, location: Location, shape_name: str, what: str) -> Problem | None:
    """The problem of the ``Name`` of the object at ``location``, if it breaks its shape."""
    low, high, pattern = _name_rule(shape_name)
    if not low <= len(name) <= high or (pattern is not None and pattern.fullmatch(name) is None):
        return Problem.at(
            "name",
            f"{what} name {name!r} must be {low} to {high} characters of letters, digits, '-' and '_'",
            (*location, "Name"),
        )
    return None


def check_top_level(definition: PipelineDefinition) -> Iterator[Problem]:
    if definition.version != SUPPORTED_VERSION:
        yield Problem.at(
            "version",
            f"unsupported Version {definition.version!r}; expected {SUPPORTED_VERSION!r}",
            ("Version",),
        )
    for key in definition.model_extra or {}:
        if key not in TOP_LEVEL_FIELDS:
            yield Problem.at("unknown-field", "unknown top-level field (kept as is)", (key,), "warning")
    config = definition.pipeline_experiment_config
    for key in config or {}:
        if key not in EXPERIMENT_CONFIG_FIELDS:
            yield Problem.at(
                "schema",
                f"unknown property; allowed: {', '.join(sorted(EXPERIMENT_CONFIG_FIELDS))}",
                ("PipelineExperimentConfig", key),
            )
    if not definition.steps:
        yield Problem.at(
            "schema", "the pipeline has no steps, so an execution does nothing", ("Steps",), "warning"
        )


def _value_matches(value: Any, parameter_type: str) -> bool:
    expected = _PARAMETER_PYTHON_TYPES[parameter_type]
    return isinstance(value, expected) and (parameter_type == "Boolean" or not isinstance(value, bool))


def check_parameters(definition: PipelineDefinition) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, parameter in enumerate(definition.parameters):
        location: Location = ("Parameters", index)
        name_problem = _name_problem(parameter.name, location, "PipelineParameterName", "parameter")
        if name_problem:
            yield name_problem
        if parameter.name in seen:
            yield Problem.at(
                "duplicate-name",
                f"parameter {parameter.name!r} is declared more than once",
                (*location, "Name"),
            )
        seen.add(parameter.name)
        if parameter.has_default and not _value_matches(parameter.default_value, parameter.type):
            yield Problem.at(
                "parameter",
                f"default {parameter.default_value!r} is not a {parameter.type}",
                (*location, "DefaultValue"),
            )
        if parameter.enum_values is None:
            continue
        if not parameter.enum_values:
            yield Problem.at("parameter", "EnumValues must not be empty", (*location, "EnumValues"))
        for position, value in enumerate(parameter.enum_values):
            if not _value_matches(value, parameter.type):
                yield Problem.at(
                    "parameter", f"{value!r} is not a {parameter.type}", (*location, "EnumValues", position)
                )
        if parameter.has_default and parameter.default_value not in parameter.enum_values:
            yield Problem.at(
                "parameter",
                f"default {parameter.default_value!r} is not one of EnumValues {parameter.enum_values!r}",
                (*location, "DefaultValue"),
            )


class StepIndex:
    """The steps by name, the first of each name (as the DAG keys them), built one located step
    at a time while the step's names are checked: the stepwise check adds each step while its
    data is still cached. ``problems`` holds what the names broke, in the order added."""

    def __init__(self) -> None:
        self.first_seen: dict[str, LocatedStep] = {}
        self.problems: list[Problem] = []
        self._low, self._high, self._pattern = _name_rule("StepName")

    def add(self, item: LocatedStep) -> None:
        name = item.step.name
        pattern = self._pattern  # _name_problem's test, inlined: this runs for every step
        if not self._low <= len(name) <= self._high or (
            pattern is not None and pattern.fullmatch(name) is None
        ):
            name_problem = _name_problem(name, item.location, "StepName", "step")
            if name_problem:
                self.problems.append(name_problem)
        earlier = self.first_seen.get(name)
        if earlier is None:
            self.first_seen[name] = item
            return
        earlier_path = format_json_path(earlier.location)
        if earlier.branch and item.branch:
            message = f"step {name!r} is already in a condition branch at {earlier_path}; a step sits in at most one branch"
            self.problems.append(Problem.at("branch", message, (*item.location, "Name")))
        else:
            message = (
                f"step name {name!r} is already used at {earlier_path}; names are unique across all branches"
            )
            self.problems.append(Problem.at("duplicate-name", message, (*item.location, "Name")))

    def steps(self) -> dict[str, Step]:
        return {name: item.step for name, item in self.first_seen.items()}


def check_depends_on(item: LocatedStep, steps: Mapping[str, Step], out: list[Problem]) -> None:
    depends_on = item.step.depends_on
    for index, name in enumerate(depends_on):
        target = steps.get(name)
        if target is not None and target is not item.step and target.type != "Fail":
            continue
        location = (*item.location, "DependsOn", index)
        if target is None:
            out.append(
                Problem.at("depends-on", f"step {name!r} does not exist{did_you_mean(name, steps)}", location)
            )
        elif target is item.step:
            out.append(Problem.at("depends-on", "a step cannot depend on itself", location))
        else:
            out.append(
                Problem.at(
                    "depends-on",
                    # the service's own sentence first, grammar and all (the SDK's integration test
                    # test_fail_steps.py::test_invalid_pipeline_depended_on_fail_step asserts it)
                    f"{item.step.name} can not depends on {name}: {name!r} is a Fail step, and no step"
                    " can depend on a Fail step",
                    location,
                )
            )
    if len(depends_on) > 1 and len(set(depends_on)) != len(depends_on):
        out.append(
            Problem.at(
                "depends-on", "a step is listed more than once", (*item.location, "DependsOn"), "warning"
            )
        )


def _carrier_fields(step_class: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(field name, JSON key) of the fields of a step class that hold raw JSON (expressions)."""
    cached = _CARRIER_FIELDS.get(step_class)
    if cached is None:
        cached = tuple(
            (name, info.alias or name)
            for name, info in step_class.model_fields.items()
            if name not in _TYPED_STEP_FIELDS
        )
        _CARRIER_FIELDS[step_class] = cached
    return cached


_CARRIER_FIELDS: dict[type[BaseModel], tuple[tuple[str, str], ...]] = {}
# Envelope fields that are plain strings or typed sub-models: no expressions inside.
_TYPED_STEP_FIELDS = frozenset(
    {
        "name",
        "type",
        "depends_on",
        "display_name",
        "description",
        "cache_config",
        "retry_policies",
        "property_files",
        "output_parameters",
        "timeout_seconds",
        "check_type",
    }
)


def _nested_arguments(step: ConditionStep | ForEachStep) -> dict[str, Any]:
    """The raw parts of a condition's or ForEach's Arguments; nested steps are walked as steps."""
    arguments = step.arguments
    raw: dict[str, Any] = dict(arguments.model_extra or {})
    if isinstance(arguments, ConditionArguments):
        raw["Conditions"] = arguments.conditions
    else:
        fields = type(arguments).model_fields
        # model_fields_set also names the extra keys (already in ``raw``): declared fields only
        for field_name in (arguments.model_fields_set & fields.keys()) - {"body"}:
            raw[fields[field_name].alias or field_name] = getattr(arguments, field_name)
    return raw


_NESTING_STEPS = frozenset({ConditionStep, ForEachStep})  # by exact class: neither is subclassed


def expression_carriers(step: Step) -> list[tuple[str, Any]]:
    """(JSON key, raw value) of every part of a step where expressions may sit.

    A condition's or ForEach's own Arguments exclude the steps nested in them. Fields are read
    from the model's ``__dict__``: this runs for every step, and attribute access through
    pydantic's properties costs several times more.
    """
    fields_set = step.__pydantic_fields_set__
    values = step.__dict__
    carriers: list[tuple[str, Any]] = []
    for field_name, key in _carrier_fields(type(step)):
        if field_name not in fields_set:
            continue
        if field_name == "arguments" and type(step) in _NESTING_STEPS:
            carriers.append(("Arguments", _nested_arguments(cast("ConditionStep | ForEachStep", step))))
        else:
            carriers.append((key, values[field_name]))
    extra = step.__pydantic_extra__
    if extra:
        carriers.extend(extra.items())
    return carriers


_NO_NAMESPACES: frozenset[str] = frozenset()
_STEP_NAMESPACES = {
    (False, False): _NO_NAMESPACES,
    (True, False): frozenset({"ForEach"}),
    (False, True): frozenset({"IterationOutput"}),
    (True, True): frozenset({"ForEach", "IterationOutput"}),
}


def _graph_reads_same(step: Step) -> bool:
    """Whether the DAG's walk of ``step`` (``graph._expression_carriers``) covers exactly the
    values this validator walks, so the references found here can give the data edges.

    The graph also reads unknown fields of the typed sub-models, and a ForEach's Arguments
    differently; for those steps it walks on its own.
    """
    if type(step) is ForEachStep:
        return False
    # Read from __dict__ (this runs for every step): output_parameters is a field of Lambda and
    # Callback steps only, and a pydantic model's getattr of a missing name goes through its
    # slow __getattr__ (for 1,000 steps, 2 ms).
    fields = step.__dict__
    cache_config = fields["cache_config"]
    if cache_config is not None and cache_config.__pydantic_extra__:
        return False
    for items in (fields["retry_policies"], fields["property_files"], fields.get("output_parameters")):
        if items:
            for item in items:
                if item.__pydantic_extra__:
                    return False
    return True


class LocalFindings(NamedTuple):
    """What :func:`check_step_local` found in one step, for :func:`check_step_references`.

    The problem lists are None when empty (most steps have none): one is kept per step until the
    references are checked.
    """

    early: list[Problem] | None  # an unknown step type or unknown envelope fields
    envelope: list[Problem] | None
    arguments: list[Problem] | None  # the Arguments against the request shape (made warnings)
    carriers: list[tuple[str, Any]]  # (JSON key, raw value) where expressions may sit
    reads: ReadScan  # the targets its expressions read (reference_checks.scan_reads)
    values: list[Any] | None  # for "other" reads: the carriers' values, clean Arguments by their expressions
    graph_same: bool  # whether the DAG would find the same reads walking the step (_graph_reads_same)


# As for LocatedStep: the named tuple's own __new__ is Python code, tuple.__new__ is C (one a step).
_new_findings = partial(tuple.__new__, LocalFindings)


def check_step_local(item: LocatedStep) -> LocalFindings:
    """The rules of one step that need no other step: its type and fields, the envelope rules,
    and its Arguments against the request shape.

    The Arguments walk hands over the expressions it skips, so the reference checks look at
    those instead of walking the Arguments again.
    """
    step, location, _, _ = item
    step_class = type(step)
    early: list[Problem] | None = None
    if step_class is GenericStep:
        early = [
            Problem.at(
                "unknown-step-type",
                f"unknown step type {step.type!r} (kept as is; its properties are not checked). "
                f"Known types: {', '.join(KNOWN_STEP_TYPES)}",
                (*location, "Type"),
                "warning",
            )
        ]
    elif step.__pydantic_extra__:
        message = f"unknown property of a {step.type} step (kept as is)"
        early = [
            Problem.at("unknown-field", message, (*location, key), "warning")
            for key in step.__pydantic_extra__
        ]
    envelope: list[Problem] = []
    check_envelope(step, location, envelope)
    argument_problems: list[Problem] = []
    skipped: list[Any] | None = None
    if step_class is not ConditionStep and step_class is not ForEachStep:
        argument_problems, skipped = check_arguments(step.type, step.arguments, (*location, "Arguments"))
    carriers = expression_carriers(step)
    values: list[Any] = []
    clean_arguments = skipped is not None and not argument_problems
    for key, value in carriers:  # (a loop: a comprehension is one more frame, for every step)
        # every expression of clean Arguments is in what the walk skipped
        values.append(skipped if clean_arguments and key == "Arguments" else value)
    reads = scan_reads(values)
    return _new_findings(
        (
            early,
            envelope or None,
            argument_problems or None,
            carriers,
            reads,
            values if reads == "other" else None,
            _graph_reads_same(step),
        )
    )


def check_step_references(
    item: LocatedStep, scope: ReferenceScope, local: LocalFindings, out: list[Problem]
) -> set[str] | None:
    """Append the problems of one step to ``out``: its local findings and the rules that read
    other steps (DependsOn and the expressions' references), in the order a reader expects.

    When every expression is clean (the usual case) they are checked in no set order, otherwise
    again in document order so that each problem has its path. Returns the step names the
    step's expressions read when they are what the DAG would find by walking the step itself
    (so the graph does not walk it again), else None.
    """
    step, location, _, in_for_each = item
    if local.early:
        out.extend(local.early)
    if step.depends_on:
        check_depends_on(item, scope.steps, out)
    if local.envelope:
        out.extend(local.envelope)
    namespaces = _STEP_NAMESPACES[in_for_each, type(step) is ForEachStep]
    read = known_reads(scope, step, namespaces, local.values or [], local.reads)
    if read is None:
        checker = StepReferenceChecker(scope, step, namespaces)
        for key, value in local.carriers:
            out.extend(checker.check(value, (*location, key)))
        read = checker.sources if checker.clean else None
    if local.arguments:
        # The service accepts these at CreatePipeline and fails the step when its Create* call is
        # made, so a definition with them is still accepted (every corpus file must be); they are
        # reported as warnings so `pipelines validate` still shows them before anything runs.
        out.extend(replace(p, severity="warning") for p in local.arguments)
    return read if local.graph_same else None


def check_cycles(graph: PipelineGraph, located: list[LocatedStep]) -> Iterator[Problem]:
    """Kahn's order (linear, and kept in the graph for the engine); the path of a cycle is
    searched for only when there is one."""
    try:
        graph.topological_order()
        return
    except CycleError as exc:
        cycle = exc.cycle
    where = next((item.location for item in located if item.step.name == cycle[0]), ("Steps",))
    yield Problem.at("cycle", f"the steps depend on each other in a cycle: {' -> '.join(cycle)}", where)


def check_for_each_bodies(graph: PipelineGraph, located: list[LocatedStep]) -> Iterator[Problem]:
    """A ForEach body step runs only as the ForEach's iterations (``<Body>-<i>``): a step outside
    that body cannot read or depend on it by name (the SDK's ``IterationOutputs``/``Selected``
    are the ways out)."""
    if not any(item.in_for_each for item in located):
        return  # no ForEach body: no edge to look at
    where = {item.step.name: item.location for item in located}
    for src, dst, kind in graph.edges():
        parent = graph.for_each_of(src)
        if parent is None or kind == "for_each" or graph.for_each_of(dst) == parent:
            continue
        yield Problem.at(
            "reference",
            f"step {dst!r} reads ForEach body step {src!r}, which runs only as iterations of {parent!r}; "
            f"read Steps.{parent}.IterationOutputs[<i>].{src}... or Steps.{parent}.Selected... instead",
            where.get(dst, ("Steps",)),
        )


def validate_with_graph(definition: PipelineDefinition) -> tuple[list[Problem], list[Problem], PipelineGraph]:
    """Apply every service rule; returns (errors, warnings, the DAG built to find cycles)."""
    return validate_located(definition, locate_steps(definition))


def validate_located(
    definition: PipelineDefinition,
    located: list[LocatedStep],
    local: list[LocalFindings] | None = None,
    index: StepIndex | None = None,
) -> tuple[list[Problem], list[Problem], PipelineGraph]:
    """:func:`validate_with_graph` of steps already located, some of whose rules may have been
    applied already, while each step's data was fresh (the stepwise check): ``local[i]`` holds
    what :func:`check_step_local` found in ``located[i]``, and ``index`` has every located step
    added."""
    problems: list[Problem] = [*check_top_level(definition), *check_parameters(definition)]
    if index is None:
        index = StepIndex()
        for item in located:
            index.add(item)
    problems += index.problems
    steps = index.steps()
    scope = ReferenceScope.of(definition, steps)
    if definition.pipeline_experiment_config:
        checker = StepReferenceChecker(scope, None)
        problems.extend(checker.check(definition.pipeline_experiment_config, ("PipelineExperimentConfig",)))
    # The DAG is built in the same pass, each step added while its data is still cached.
    builder = GraphBuilder(steps)
    for position, item in enumerate(located):
        step = item.step
        findings = check_step_local(item) if local is None else local[position]
        read = check_step_references(item, scope, findings, problems)
        if steps.get(step.name) is step:  # the first of its name: the one the DAG keys
            builder.add(step.name, step, read)
    graph = builder.graph()
    problems.extend(check_cycles(graph, located))
    problems.extend(check_for_each_bodies(graph, located))
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    return errors, warnings, graph


def validate_definition(definition: PipelineDefinition) -> tuple[list[Problem], list[Problem]]:
    """Apply every service rule; returns (errors, warnings)."""
    errors, warnings, _ = validate_with_graph(definition)
    return errors, warnings
