"""Expressions inside a step: their form, and whether what they read exists.

One walk per step finds every expression object. Each is checked for its shape
(``grammar``), and each ``Get`` for its target: a declared parameter, a known execution
variable or experiment name, or an existing step and a property path that step type has
(``property_paths``). A ``PropertyFile`` must name a property file declared on a Processing step.

The walk records no JSON paths: a definition has tens of thousands of values and almost all
are fine, so the path of an expression is searched for only when it has a problem.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, cast

import pydantic

from pipelines.definition.arguments import REQUEST_SHAPES, literal_names
from pipelines.definition.grammar import EXPRESSION_MODELS, FUNCTION_PREFIX, is_expression
from pipelines.definition.models import CallbackStep, LambdaStep, PipelineDefinition, Step
from pipelines.definition.problems import Location, Problem, Severity, format_json_path
from pipelines.definition.property_paths import CHECKED_STEP_TYPES, Resolution, resolve_property_path
from pipelines.definition.schema_errors import problems_from_validation_error
from pipelines.expressions.context import EXECUTION_VARIABLES
from pipelines.expressions.paths import Field, GetReference, Key, PathSyntaxError, format_path, parse_get
from pipelines.expressions.references import STEP_HEAD as _STEP_HEAD

EXPERIMENT_CONFIG_NAMES = frozenset({"ExperimentName", "TrialName"})
NAMESPACES = ("Parameters", "Execution", "Steps", "PipelineExperimentConfig")
SCOPED_NAMESPACES = {
    "ForEach": "ForEach.* is only defined inside a ForEach step's ForEachBody",
    "IterationOutput": "IterationOutput.* is only defined in a ForEach step's Arguments (its Selector)",
}


@dataclass(frozen=True)
class Finding:
    """A problem of one expression, before its location is known."""

    kind: str
    message: str
    severity: Severity = "error"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


@lru_cache(maxsize=65536)
def _parsed(target: str) -> GetReference | PathSyntaxError:
    """Targets repeat across steps (``Execution.PipelineExecutionId``...): parse each once.

    The returned reference is shared: never mutate its ``path``.
    """
    try:
        return parse_get(target)
    except PathSyntaxError as exc:
        return exc


def scan_expressions(value: Any) -> tuple[list[dict[str, Any]], set[int]]:
    """Every expression object under ``value``, and the ids of those that are a JsonGet's PropertyFile."""
    found: list[dict[str, Any]] = []
    property_files: set[int] = set()
    stack: list[Any] = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind is dict:
            if (len(node) == 1 and ("Get" in node or next(iter(node)).startswith(FUNCTION_PREFIX))) or (
                "Std:Join" in node or "Std:JsonGet" in node
            ):  # grammar.is_expression, inlined: this runs for every object of every step
                found.append(node)
                for key, inner in node.items():
                    if type(inner) is dict:
                        if key == "Std:JsonGet" and type(inner.get("PropertyFile")) is dict:
                            property_files.add(id(inner["PropertyFile"]))
                        extend(inner.values())
            else:
                extend(node.values())
        elif kind is list:
            extend(node)
    return found, property_files


def locate(value: Any, location: Location, target: Any) -> Location:
    """Where ``target`` (by identity) sits under ``value``."""
    stack: list[tuple[Any, Location]] = [(value, location)]
    while stack:
        node, loc = stack.pop()
        if node is target:
            return loc
        if isinstance(node, dict):
            stack.extend((item, (*loc, key)) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node))
    return location


_PRIMITIVES = (str, int, float, bool)


def _plain_join_values(arguments: Any) -> list[Any] | None:
    """The Values of the common well-formed Join (literals and expressions), checked without
    pydantic (most definitions have hundreds); None for any other Join."""
    if type(arguments) is not dict or len(arguments) != 2:
        return None
    values = arguments.get("Values")
    if type(arguments.get("On")) is not str or type(values) is not list:
        return None
    for value in values:  # a loop, not all() over a generator: one frame fewer per Join
        value_type = type(value)
        if value_type is dict:  # a Get (the usual value) is told without a call
            if not (len(value) == 1 and "Get" in value) and not is_expression(value):
                return None
        elif value_type not in _PRIMITIVES:
            return None
    return values


def _plain_json_get(arguments: Any) -> bool:
    """The SDK's JsonGet on a property file, checked without pydantic."""
    if type(arguments) is not dict or len(arguments) != 2 or type(arguments.get("Path")) is not str:
        return False
    source = arguments.get("PropertyFile")
    return type(source) is dict and len(source) == 1 and type(source.get("Get")) is str


def _form_error(expression: dict[str, Any]) -> pydantic.ValidationError | tuple[str, tuple[str, ...]] | None:
    """What is wrong with the form of an expression object: a pydantic error, (message, key) or None."""
    if len(expression) != 1:
        return "an expression object must have exactly one key", ()
    key = next(iter(expression))
    if key == "Get" and type(expression[key]) is str:
        return None
    if key == "Std:Join" and _plain_join_values(expression[key]) is not None:
        return None
    if key == "Std:JsonGet" and _plain_json_get(expression[key]):
        return None
    model = EXPRESSION_MODELS.get(key)
    if model is None:
        return f"unknown function {key!r}; known: {', '.join(EXPRESSION_MODELS)}", (key,)
    try:
        model.model_validate(expression, strict=True)
    except pydantic.ValidationError as exc:
        return exc
    return None


def _form_problems(
    error: pydantic.ValidationError | tuple[str, tuple[str, ...]], location: Location
) -> list[Problem]:
    if isinstance(error, pydantic.ValidationError):
        return problems_from_validation_error(error, location)
    message, suffix = error
    return [Problem(kind="schema", message=message, path=format_json_path((*location, *suffix)))]


@dataclass
class ReferenceScope:
    """What a ``Get`` may read in this definition; built once per validation.

    ``findings`` memoises the check of each distinct target: a definition of a thousand steps
    reads the same parameters and step properties over and over. ``verdicts`` is the same
    memo for :meth:`StepReferenceChecker.all_clean`, per set of scoped namespaces and per
    kind of read (plain ``Get``, JsonGet ``PropertyFile``): target -> the step it reads ("" for
    other namespaces), or None when the target has a finding.
    """

    definition: PipelineDefinition
    steps: Mapping[str, Step]
    parameters: frozenset[str]
    findings: dict[tuple[str, bool, frozenset[str], bool], list[Finding]] = field(default_factory=dict)
    verdicts: dict[frozenset[str], tuple[dict[str, str | None], dict[str, str | None]]] = field(
        default_factory=dict
    )

    @classmethod
    def of(cls, definition: PipelineDefinition, steps: Mapping[str, Step]) -> ReferenceScope:
        return cls(definition, steps, frozenset(p.name for p in definition.parameters))


ReadScan = tuple[list[str], list[str]] | Literal["exact", "other"]
"""What :func:`scan_reads` found: the targets of the common forms (plain ``Get``s, property files),
or ``"exact"`` (one is malformed) or ``"other"`` (another expression form)."""


def scan_reads(values: list[Any]) -> ReadScan:
    """The fast path for the usual step, in which nothing is wrong, first half: the walk, which
    needs no other step (so the stepwise check runs it with the step's local rules, while the
    step's data is cached). :func:`known_reads` is the second half.

    One walk finds the expressions under ``values`` and sorts the reads of the SDK's common
    forms (a plain ``Get``, a ``Std:Join`` of values, a ``Std:JsonGet`` of a property file) into
    plain and property-file targets; ``"exact"`` when one of those forms is malformed, and
    ``"other"`` at the first other function, which :meth:`StepReferenceChecker.all_clean` reads.
    """
    plain: list[str] = []
    files: list[str] = []
    stack: list[Any] = list(values)
    pop, extend = stack.pop, stack.extend
    while stack:
        node = pop()
        kind = type(node)
        if kind is list:
            extend(node)
        elif kind is dict:
            if len(node) == 1:
                key, inner = next(iter(node.items()))
                if key == "Get":
                    if type(inner) is not str:
                        return "exact"
                    plain.append(inner)
                    continue
                if key == "Std:Join":
                    joined = _plain_join_values(inner)
                    if joined is None:
                        return "exact"
                    extend(joined)  # its expressions are read by this walk, its literals skipped
                    continue
                if key == "Std:JsonGet":
                    if not _plain_json_get(inner):
                        return "exact"
                    files.append(inner["PropertyFile"]["Get"])
                    continue
                if key.startswith(FUNCTION_PREFIX):
                    return "other"
            elif "Std:Join" in node or "Std:JsonGet" in node:
                return "exact"  # an expression with more than one key
            extend(node.values())
    return plain, files


def known_reads(
    scope: ReferenceScope, step: Step, namespaces: frozenset[str], values: list[Any], scan: ReadScan
) -> set[str] | None:
    """The fast path's second half: the step names the step's expressions read (as
    :func:`referenced_step_names` reads them), given what :func:`scan_reads` found in
    ``values``; None when one of them may have a problem (or reads a step of this step's own
    name). On None the caller checks the step exactly, in document order with paths
    (:meth:`StepReferenceChecker.check`), which also tells the reads.

    Targets read before are looked up in bulk in the scope's memo. A memoised verdict holds for
    every step but the one it names: a step that reads a step of its own name gives None.
    """
    if scan == "exact":
        return None
    if scan == "other":
        return StepReferenceChecker(scope, step, namespaces).clean_reads(values)
    plain, files = scan
    verdicts = scope.verdicts.get(namespaces)
    if verdicts is None:
        verdicts = scope.verdicts[namespaces] = ({}, {})
    checker = StepReferenceChecker(scope, step, namespaces)
    reads: list[str] = []
    for targets, memo, property_file in ((plain, verdicts[0], False), (files, verdicts[1], True)):
        if targets:
            known = checker.known_sources(targets, memo, property_file)
            if known is None:
                return None
            reads += known
    if step.name in reads:
        return None
    read = set(reads)
    read.discard("")
    return read


class StepReferenceChecker:
    """Checks the expressions of one step (or of the experiment config when ``step`` is None).

    While checking it collects what the DAG needs from the same walk: ``sources``, the names
    after ``Steps.`` in every ``Get`` (read as :func:`referenced_step_names` reads them), and
    ``clean``, False once an expression had a problem (a malformed expression may hide
    ``Get`` objects the walk does not enter, so the graph then walks that step itself).
    """

    def __init__(
        self, scope: ReferenceScope, step: Step | None, namespaces: frozenset[str] = frozenset()
    ) -> None:
        self.scope = scope
        self.step = step
        self.scoped_namespaces = (
            namespaces  # ForEach.* inside a ForEach body, IterationOutput.* in its Selector
        )
        self.sources: set[str] = set()
        self.clean = True

    def check(self, value: Any, location: Location) -> list[Problem]:
        problems: list[Problem] = []
        expressions, property_files = scan_expressions(value)
        memo = self.scope.findings
        own_name = self.step.name if self.step is not None else None
        head = _STEP_HEAD.match
        for expression in expressions:
            target = expression.get("Get") if len(expression) == 1 else None
            if type(target) is str:
                named = head(target)
                if named is not None:
                    self.sources.add(named.group(1))
                property_file = id(expression) in property_files
                if own_name is not None and own_name in target:  # may read itself: not memoised
                    findings = self._check_get(target, property_file)
                else:
                    key = (target, property_file, self.scoped_namespaces, own_name is None)
                    cached = memo.get(key)
                    if cached is None:
                        cached = memo[key] = self._check_get(target, property_file)
                    findings = cached
                if findings:
                    self.clean = False
                    path = format_json_path((*locate(value, location, expression), "Get"))
                    problems.extend(
                        Problem(kind=f.kind, message=f.message, path=path, severity=f.severity)
                        for f in findings
                    )
                continue
            error = _form_error(expression)
            if error is not None:
                self.clean = False
                problems.extend(_form_problems(error, locate(value, location, expression)))
        return problems

    def clean_reads(self, values: list[Any]) -> set[str] | None:
        """:func:`known_reads` for any expression form: ``sources`` when :meth:`all_clean`."""
        return self.sources if self.all_clean(values) else None

    def all_clean(self, values: list[Any]) -> bool:
        """Whether every expression under ``values`` is well formed and reads what exists,
        checked in one walk and in no set order; ``sources`` is filled as by :meth:`check`.

        The fast path for the usual step, in which nothing is wrong: when this is False the
        caller runs :meth:`check` on each value, which reports in document order with paths.
        Targets read before are looked up in bulk (``map`` over the memo), not one by one.
        """
        step = self.step
        assert step is not None  # the experiment config is checked by check()
        verdicts = self.scope.verdicts.get(self.scoped_namespaces)
        if verdicts is None:
            verdicts = self.scope.verdicts[self.scoped_namespaces] = ({}, {})
        plain_targets: list[str] = []
        file_targets: list[str] = []
        expressions, property_files = scan_expressions(values)
        for expression in expressions:
            target = expression.get("Get") if len(expression) == 1 else None
            if type(target) is str:
                (file_targets if id(expression) in property_files else plain_targets).append(target)
            elif _form_error(expression) is not None:
                return False
        if plain_targets and not self._all_known(plain_targets, verdicts[0], False):
            return False
        if file_targets and not self._all_known(file_targets, verdicts[1], True):
            return False
        self.sources.discard("")
        return True

    def _all_known(self, targets: list[str], memo: dict[str, str | None], property_file: bool) -> bool:
        """For :meth:`all_clean`: whether every target reads what exists, adding the steps read
        to ``sources``.

        A memoised verdict holds for every step but the one it names: a target that reads this
        very step's name may be a self-reference, so the step is then checked exactly instead.
        """
        known = self.known_sources(targets, memo, property_file)
        assert self.step is not None
        if known is None or self.step.name in known:
            return False
        self.sources.update(known)
        return True

    def known_sources(
        self, targets: list[str], memo: dict[str, str | None], property_file: bool
    ) -> list[str] | None:
        """The step each target reads ("" for other namespaces), or None when one has a finding;
        targets seen before are looked up in bulk (``map`` over the memo), the others checked
        and memoised (:meth:`_verdict`)."""
        known = list(map(memo.get, targets))
        if None in known:
            for index, source in enumerate(known):
                if source is None:
                    source = self._verdict(targets[index], property_file, memo)
                    if source is None:
                        return None
                    known[index] = source
        return cast("list[str]", known)

    def _verdict(self, target: str, property_file: bool, memo: dict[str, str | None]) -> str | None:
        """For :meth:`all_clean`: the step ``target`` reads ("" for other namespaces), or None
        when it has a finding; memoised in ``memo`` unless it names this very step (whose
        verdict, a self-reference, does not hold for the others)."""
        named = _STEP_HEAD.match(target)
        source = named.group(1) if named is not None else ""
        assert self.step is not None
        if source == self.step.name:
            return None if self._check_get(target, property_file) else source
        if target in memo or self._check_get(target, property_file):
            memo[target] = None
            return None
        memo[target] = source
        return source

    def _check_get(self, target: str, property_file: bool) -> list[Finding]:
        ref = _parsed(target)
        if isinstance(ref, PathSyntaxError):
            return [Finding("reference", str(ref))]
        if property_file and ref.namespace != "Steps":
            return [
                Finding(
                    "reference",
                    f"PropertyFile must reference Steps.<step>.PropertyFiles.<name>, got {target!r}",
                )
            ]
        if ref.namespace == "Parameters":
            return self._check_named(ref, self.scope.parameters, "parameter")
        if ref.namespace == "Execution":
            return self._check_named(ref, EXECUTION_VARIABLES, "execution variable")
        if ref.namespace == "PipelineExperimentConfig":
            return self._check_experiment(ref)
        if ref.namespace == "Steps":
            return self._check_step(ref, property_file)
        if ref.namespace in self.scoped_namespaces:
            return []  # the v3 SDK's iteration variables; their values exist only per iteration
        if ref.namespace in SCOPED_NAMESPACES:
            return [Finding("reference", f"{target!r}: {SCOPED_NAMESPACES[ref.namespace]}")]
        return [
            Finding(
                "reference",
                f"unknown namespace {ref.namespace!r} in {target!r}; expected one of {', '.join(NAMESPACES)}",
            )
        ]

    @staticmethod
    def _check_named(ref: GetReference, names: frozenset[str], what: str) -> list[Finding]:
        if ref.name not in names:
            known = f"declared: {', '.join(sorted(names))}" if names else f"no {what}s are declared"
            return [
                Finding(
                    "reference",
                    f"{ref.raw!r} reads {what} {ref.name!r}, which does not exist{did_you_mean(ref.name, names)}; {known}",
                )
            ]
        if ref.path:
            return [
                Finding(
                    "reference", f"{ref.raw!r}: a {what} has no properties; use {ref.namespace}.{ref.name}"
                )
            ]
        return []

    def _check_experiment(self, ref: GetReference) -> list[Finding]:
        if self.step is None:
            return [Finding("reference", "PipelineExperimentConfig cannot reference itself")]
        findings = self._check_named(ref, EXPERIMENT_CONFIG_NAMES, "experiment config value")
        if not self.scope.definition.experiments_enabled:
            findings.append(
                Finding(
                    "reference",
                    f"{ref.raw!r} reads the experiment config, but PipelineExperimentConfig is null",
                    "warning",
                )
            )
        return findings

    def _check_step(self, ref: GetReference, property_file: bool) -> list[Finding]:
        if self.step is None:
            return [Finding("reference", "PipelineExperimentConfig cannot reference steps")]
        target = self.scope.steps.get(ref.name)
        if target is None:
            return [
                Finding(
                    "reference",
                    f"{ref.raw!r} reads step {ref.name!r}, which does not exist{did_you_mean(ref.name, self.scope.steps)}",
                )
            ]
        if target is self.step:
            return [Finding("reference", f"{ref.raw!r}: a step cannot reference its own properties")]
        if target.type == "Fail":
            return [
                Finding(
                    "reference",
                    f"{ref.raw!r}: Fail step {ref.name!r} has no properties and cannot be referenced",
                )
            ]
        if property_file:
            return self._check_property_file(ref, target)
        head = ref.path[0] if ref.path else None
        if type(head) is Field and head.name == "PropertyFiles":  # no dataclass __eq__: runs per target
            return [
                Finding(
                    "reference",
                    f"{ref.raw!r}: a property file is read with Std:JsonGet's PropertyFile, not a plain Get",
                )
            ]
        if not ref.path:
            return [
                Finding(
                    "reference",
                    f"{ref.raw!r} names a step but no property of it (e.g. Steps.{ref.name}.<Property>)",
                )
            ]
        if isinstance(target, LambdaStep | CallbackStep):
            return self._check_output_parameter(ref, target)
        if target.type in CHECKED_STEP_TYPES:
            return self._check_property_path(ref, target)
        return []

    @staticmethod
    def _check_property_file(ref: GetReference, target: Step) -> list[Finding]:
        path = ref.path
        if len(path) != 2 or path[0] != Field("PropertyFiles") or not isinstance(path[1], Field):
            return [
                Finding(
                    "reference",
                    f"PropertyFile must be Steps.{ref.name}.PropertyFiles.<name>, got {ref.raw!r}",
                )
            ]
        if target.type != "Processing":
            return [
                Finding(
                    "property-file",
                    f"{ref.raw!r}: property files are only read from Processing steps; {ref.name!r} is {target.type}",
                )
            ]
        name = path[1].name
        declared = [p.property_file_name for p in target.property_files]
        if name in declared:
            return []
        return [
            Finding(
                "property-file",
                f"{ref.raw!r}: step {ref.name!r} declares no property file {name!r}"
                f"{did_you_mean(name, declared)}; declared: {', '.join(declared) or 'none'}",
            )
        ]

    @staticmethod
    def _check_output_parameter(ref: GetReference, target: LambdaStep | CallbackStep) -> list[Finding]:
        declared = [o.output_name for o in target.output_parameters]
        listed = ", ".join(declared) or "none"
        path = ref.path
        if len(path) != 2 or path[0] != Field("OutputParameters") or not isinstance(path[1], Key):
            return [
                Finding(
                    "property-path",
                    f"{ref.raw!r}: a {target.type} step only exposes OutputParameters['<name>'] (declared: {listed})",
                )
            ]
        if path[1].key in declared:
            return []
        return [
            Finding(
                "property-path",
                f"{ref.raw!r}: step {ref.name!r} declares no output {path[1].key!r}"
                f"{did_you_mean(path[1].key, declared)}; declared: {listed}",
            )
        ]

    @staticmethod
    def _check_property_path(ref: GetReference, target: Step) -> list[Finding]:
        resolution = _resolution(target.type, ref)
        if resolution.error is not None:
            return [
                Finding(
                    "property-path",
                    f"{ref.raw!r}: step {ref.name!r} ({target.type}) has no property {format_path(ref.path)}: "
                    f"{resolution.error}",
                )
            ]
        if target.type not in REQUEST_SHAPES:
            return []
        findings: list[Finding] = []
        for element in resolution.named_elements:
            items = _literal_at(target.arguments, element.list_path)
            names = literal_names(items, element.name_field) if items is not None else None
            if names is not None and element.key not in names:
                findings.append(
                    Finding(
                        "property-path",
                        f"{ref.raw!r}: step {ref.name!r} has no {format_path(list(element.list_path))} element "
                        f"with {element.name_field} {element.key!r}{did_you_mean(element.key, names)}; "
                        f"declared: {', '.join(sorted(names)) or 'none'}",
                    )
                )
        return findings


_RESOLUTIONS: dict[tuple[str, str], Resolution] = {}


def _resolution(step_type: str, ref: GetReference) -> Resolution:
    """``resolve_property_path`` keyed by the path's text: hashing segment tuples costs more than the walk."""
    key = (step_type, ref.raw[len("Steps.") + len(ref.name) :])
    cached = _RESOLUTIONS.get(key)
    if cached is None:
        if len(_RESOLUTIONS) > 65536:
            _RESOLUTIONS.clear()
        cached = _RESOLUTIONS[key] = resolve_property_path(step_type, ref.path)
    return cached


def _literal_at(arguments: Any, path: tuple[Any, ...]) -> Any:
    """The value at a field-only path inside literal Arguments, or None when it is not there."""
    node = arguments
    for segment in path:
        if not isinstance(segment, Field) or not isinstance(node, dict) or is_expression(node):
            return None
        node = node.get(segment.name)
    return None if is_expression(node) else node
