"""Step Arguments against the Create* request they become, from botocore's input shapes.

A job step's Arguments are the Create*Job request minus the job name, so the literal values
in them must satisfy the constraints the service applies when the step starts (enums,
patterns, lengths, ranges, required members). Checking them here turns a run-time failure
into a definition error, e.g. a Terraform ``${instance_type}`` placeholder left in
``InstanceType``. Expressions are skipped: their values are only known at run time. Members
botocore does not know are warnings, since the service may be newer than botocore.

Each botocore shape is compiled once into a small ``_Spec`` (botocore's shape properties
recompute on every access), and the walk appends to one list instead of chaining
generators: this check touches every value of every step, so it must stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from re import Pattern
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from pipelines.definition.grammar import FUNCTION_PREFIX, is_expression
from pipelines.definition.problems import Location, Problem, add_problem
from pipelines.definition.schema_errors import describe_value
from pipelines.definition.shapes import compiled_pattern, shape

_ENUM_SHOWN = 12


@dataclass(frozen=True)
class RequestShape:
    """The botocore input shape a step type's Arguments follow, and members the SDK strips."""

    service: str
    name: str
    stripped: frozenset[str] = frozenset()
    forbidden: frozenset[str] = frozenset()


_PROCESSING = RequestShape("sagemaker", "CreateProcessingJobRequest", frozenset({"ProcessingJobName"}))

REQUEST_SHAPES: dict[str, RequestShape] = {
    "Training": RequestShape("sagemaker", "CreateTrainingJobRequest", frozenset({"TrainingJobName"})),
    "Processing": _PROCESSING,
    "QualityCheck": _PROCESSING,
    "ClarifyCheck": _PROCESSING,
    "Transform": RequestShape("sagemaker", "CreateTransformJobRequest", frozenset({"TransformJobName"})),
    "Tuning": RequestShape(
        "sagemaker", "CreateHyperParameterTuningJobRequest", frozenset({"HyperParameterTuningJobName"})
    ),
    "AutoML": RequestShape("sagemaker", "CreateAutoMLJobRequest", frozenset({"AutoMLJobName"})),
    "Model": RequestShape("sagemaker", "CreateModelInput", frozenset({"ModelName"})),
    "RegisterModel": RequestShape("sagemaker", "CreateModelPackageInput"),
}

# EMR Arguments: {"StepConfig": emr StepConfig without Name, "ClusterId" | "ClusterConfig", ...}.
_EMR_STEP_CONFIG = RequestShape("emr", "StepConfig", frozenset({"Name"}))
_EMR_CLUSTER_CONFIG = RequestShape(
    "emr", "RunJobFlowInput", frozenset({"Name"}), frozenset({"Name", "Steps", "AutoTerminationPolicy"})
)
_EMR_CLUSTER_ID = RequestShape("emr", "XmlStringMaxLen256")
_EMR_MEMBERS = frozenset({"StepConfig", "ClusterId", "ClusterConfig", "ExecutionRoleArn"})


@dataclass(eq=False)
class _Spec:
    """What one botocore shape allows, precomputed."""

    name: str
    kind: str  # structure | list | map | string | integer | number | boolean | any
    members: dict[str, _Spec] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    forbidden: frozenset[str] = frozenset()
    item: _Spec | None = None
    enum: frozenset[str] | None = None
    enum_order: tuple[str, ...] = ()
    pattern: Pattern[str] | None = None
    pattern_text: str = ""
    low: int | float | None = None
    high: int | float | None = None
    accepted: set[str] = field(default_factory=set)
    """Strings known to satisfy this shape (its enum, and literals that passed): ARNs, images
    and S3 prefixes repeat across the steps of a definition and across definitions, and a set
    lookup is much cheaper than the pattern match. Bounded by ``_ACCEPTED_LIMIT``."""


_ACCEPTED_LIMIT = 4096
_SCALAR_KINDS = frozenset({"string", "integer", "number", "boolean"})
_CONTAINER_KINDS = frozenset({"structure", "list", "map"})
_KINDS = {
    "string": "string",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "double": "number",
    "boolean": "boolean",
}


def _compile(node: Shape, cache: dict[str, _Spec]) -> _Spec:
    cached = cache.get(node.name)
    if cached is not None:
        return cached
    metadata = node.metadata
    spec = _Spec(
        node.name, _KINDS.get(node.type_name, "any"), low=metadata.get("min"), high=metadata.get("max")
    )
    cache[node.name] = spec  # before members: shapes can be recursive
    if isinstance(node, StructureShape):
        spec.kind = "structure"
        spec.members = {name: _compile(member, cache) for name, member in node.members.items()}
        spec.required = tuple(node.required_members)
    elif isinstance(node, ListShape):
        spec.kind = "list"
        spec.item = _compile(node.member, cache)
    elif isinstance(node, MapShape):
        spec.kind = "map"
        spec.item = _compile(node.value, cache)
    elif spec.kind == "string":
        enum = metadata.get("enum")
        if enum:
            spec.enum, spec.enum_order = frozenset(enum), tuple(enum)
            spec.accepted.update(enum)
        elif metadata.get("pattern"):
            spec.pattern_text = metadata["pattern"]
            spec.pattern = compiled_pattern(spec.pattern_text)
    return spec


@cache
def request_spec(request: RequestShape) -> _Spec:
    """The compiled top-level spec of a request, with the SDK's stripped members not required."""
    base = _compile(shape(request.service, request.name), {})
    if base.kind != "structure":
        return base
    return _Spec(
        base.name,
        base.kind,
        members=base.members,
        required=tuple(name for name in base.required if name not in request.stripped),
        forbidden=request.forbidden,
    )


def _placeholder_hint(value: str) -> str:
    return " (it looks like a template placeholder that was never substituted)" if "${" in value else ""


def _range_text(spec: _Spec) -> str:
    return f"{'' if spec.low is None else spec.low}..{'' if spec.high is None else spec.high}"


def _scalar_problem(value: Any, spec: _Spec) -> tuple[str, tuple[str, ...]] | None:
    """(message, allowed values) when a literal breaks its scalar shape; None when it is fine.

    Locations are built by the caller only when there is a problem: almost every value is fine.
    """
    kind = spec.kind
    if kind == "string":
        if type(value) is not str:
            if type(value) is dict and is_expression(value):
                return None
            return f"must be a string, got {describe_value(value)}", ()
        if spec.enum is not None:
            if value in spec.enum:
                return None
            order = spec.enum_order
            shown = ", ".join(order[:_ENUM_SHOWN]) + (
                f", ... ({len(order)} in all)" if len(order) > _ENUM_SHOWN else ""
            )
            return f"{value!r} is not an allowed value{_placeholder_hint(value)}; allowed: {shown}", order
        if (spec.low is not None and len(value) < spec.low) or (
            spec.high is not None and len(value) > spec.high
        ):
            return f"length {len(value)} is outside {_range_text(spec)}", ()
        if spec.pattern is not None and spec.pattern.fullmatch(value) is None:
            return f"{value!r} does not match the pattern {spec.pattern_text}{_placeholder_hint(value)}", ()
        if len(spec.accepted) < _ACCEPTED_LIMIT:
            spec.accepted.add(value)
        return None
    if type(value) is dict and is_expression(value):
        return None
    if kind == "boolean":
        return None if type(value) is bool else (f"must be a boolean, got {describe_value(value)}", ())
    integer = kind == "integer"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        return f"must be {'an integer' if integer else 'a number'}, got {describe_value(value)}", ()
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        return f"{value} is outside {_range_text(spec)}", ()
    return None


def _check_item(
    item: Any, spec: _Spec, location: Location, key: str | int, out: list[Problem], skipped: list[Any]
) -> None:
    """One member, element or map value: scalars inline, containers by recursion."""
    kind = spec.kind
    if kind in _SCALAR_KINDS:
        if type(item) is dict and is_expression(item):
            skipped.append(item)
            return
        problem = _scalar_problem(item, spec)
        if problem is not None:
            add_problem(out, "argument", problem[0], (*location, key), allowed=problem[1])
    elif kind != "any":
        check_value(item, spec, (*location, key), out, skipped)
    else:
        skipped.append(item)


def check_value(value: Any, spec: _Spec, location: Location, out: list[Problem], skipped: list[Any]) -> None:
    """Append the problems of one JSON value against one compiled shape.

    What the walk does not enter (expressions, whose values are only known at run time, and
    values of any shape) is appended to ``skipped``: when no problem was found, every
    expression of ``value`` is under ``skipped``, so the reference checks need not walk
    ``value`` again.
    """
    kind = spec.kind
    if kind in _SCALAR_KINDS:
        if type(value) is dict and is_expression(value):
            skipped.append(value)
            return
        problem = _scalar_problem(value, spec)
        if problem is not None:
            add_problem(out, "argument", problem[0], location, allowed=problem[1])
    elif kind == "structure":
        if type(value) is not dict:
            add_problem(out, "argument", f"must be an object, got {describe_value(value)}", location)
            return
        if (len(value) == 1 and ("Get" in value or next(iter(value)).startswith(FUNCTION_PREFIX))) or (
            "Std:Join" in value or "Std:JsonGet" in value
        ):  # grammar.is_expression, inlined: this runs for every object of every step's Arguments
            skipped.append(value)
            return
        members, forbidden = spec.members, spec.forbidden
        for key, item in value.items():
            member = members.get(key)
            if member is None:
                add_problem(
                    out,
                    "argument",
                    f"unknown member of {spec.name} (kept and passed on as is)",
                    (*location, key),
                    "warning",
                )
            elif forbidden and key in forbidden:
                add_problem(out, "argument", "not allowed here", (*location, key))
            elif type(item) is str:
                if item not in member.accepted:  # the usual literal was seen before: no call
                    _check_item(item, member, location, key, out, skipped)
            elif member.kind in _CONTAINER_KINDS:  # what _check_item would do, one call fewer
                check_value(item, member, (*location, key), out, skipped)
            else:
                _check_item(item, member, location, key, out, skipped)
        for required in spec.required:
            if required not in value:
                add_problem(
                    out, "argument", f"required member of {spec.name} is missing", (*location, required)
                )
    elif kind == "list":
        if type(value) is not list:
            if is_expression(value):
                skipped.append(value)
            else:
                add_problem(out, "argument", f"must be an array, got {describe_value(value)}", location)
            return
        if (spec.low is not None and len(value) < spec.low) or (
            spec.high is not None and len(value) > spec.high
        ):
            add_problem(
                out,
                "argument",
                f"has {len(value)} items; {spec.name} allows {spec.low or 0}..{spec.high or ''}",
                location,
            )
        item_spec = spec.item
        assert item_spec is not None
        accepted = item_spec.accepted
        if item_spec.kind in _CONTAINER_KINDS:
            for index, item in enumerate(value):
                check_value(item, item_spec, (*location, index), out, skipped)
        else:
            for index, item in enumerate(value):
                if type(item) is not str or item not in accepted:
                    _check_item(item, item_spec, location, index, out, skipped)
    elif kind == "map":
        if type(value) is not dict:
            add_problem(out, "argument", f"must be an object, got {describe_value(value)}", location)
            return
        if is_expression(value):
            skipped.append(value)
            return
        item_spec = spec.item
        assert item_spec is not None
        accepted = item_spec.accepted
        for key, item in value.items():
            if type(item) is not str or item not in accepted:
                _check_item(item, item_spec, location, key, out, skipped)
    else:
        skipped.append(value)


def _check_emr(arguments: Any, location: Location, out: list[Problem], skipped: list[Any]) -> None:
    if type(arguments) is not dict:
        add_problem(out, "argument", f"must be an object, got {describe_value(arguments)}", location)
        return
    for key in arguments:
        if key not in _EMR_MEMBERS:
            add_problem(out, "argument", "unknown member of EMR step Arguments", (*location, key))
    if "StepConfig" not in arguments:
        add_problem(out, "argument", "required field is missing", (*location, "StepConfig"))
    else:
        check_value(
            arguments["StepConfig"], request_spec(_EMR_STEP_CONFIG), (*location, "StepConfig"), out, skipped
        )
    has_id, has_config = "ClusterId" in arguments, "ClusterConfig" in arguments
    if has_id == has_config:
        add_problem(
            out,
            "argument",
            "give exactly one of ClusterId (a running cluster) and ClusterConfig (a new cluster)",
            location,
        )
    if has_id:
        check_value(
            arguments["ClusterId"], request_spec(_EMR_CLUSTER_ID), (*location, "ClusterId"), out, skipped
        )
    if has_config:
        check_value(
            arguments["ClusterConfig"],
            request_spec(_EMR_CLUSTER_CONFIG),
            (*location, "ClusterConfig"),
            out,
            skipped,
        )
    if "ExecutionRoleArn" in arguments and not has_id:
        add_problem(
            out,
            "argument",
            "ExecutionRoleArn is only allowed together with ClusterId",
            (*location, "ExecutionRoleArn"),
        )


def check_arguments(
    step_type: str, arguments: Any, location: Location
) -> tuple[list[Problem], list[Any] | None]:
    """Problems of a step's Arguments against its request shape (none for unchecked types),
    and what the walk left unentered (see :func:`check_value`): None when it did not walk
    the Arguments whole (EMR's, unchecked types), so their expressions must be looked for."""
    out: list[Problem] = []
    skipped: list[Any] = []
    if step_type == "EMR":
        _check_emr(arguments, location, out, skipped)
        return out, None
    spec = _SPEC_BY_TYPE.get(step_type)
    if spec is None:
        if step_type not in REQUEST_SHAPES:
            return out, None
        spec = _SPEC_BY_TYPE[step_type] = request_spec(REQUEST_SHAPES[step_type])
    check_value(arguments, spec, location, out, skipped)
    return out, skipped


# request_spec by step type: hashing a RequestShape (a dataclass) on every step costs more than
# a string lookup.
_SPEC_BY_TYPE: dict[str, _Spec] = {}


def literal_names(items: Any, name_field: str) -> set[str] | None:
    """The names in a list of objects when every one is a literal string; else None."""
    if not isinstance(items, list):
        return None
    names: set[str] = set()
    for item in items:
        name = item.get(name_field) if isinstance(item, dict) else None  # JSON objects: no ABC check
        if not isinstance(name, str):
            return None
        names.add(name)
    return names
