"""Step Arguments against the Create* request they become, from botocore's input shapes.

A job step's Arguments are the Create*Job request minus the job name, so the literal values
in them must satisfy the same constraints the service applies when the step starts (enums,
patterns, lengths, ranges, required members). Checking them here turns a run-time failure
into a definition error, e.g. a Terraform ``${instance_type}`` placeholder left in
``InstanceType``. Expressions are skipped: their values are only known at run time. Members
botocore does not know are warnings, since the service may be newer than botocore.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from pipelines.definition.grammar import is_expression
from pipelines.definition.problems import Problem, format_json_path

Location = tuple[str | int, ...]
from pipelines.definition.schema_errors import describe_value
from pipelines.definition.shapes import compiled_pattern, shape


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
_EMR_MEMBERS = frozenset({"StepConfig", "ClusterId", "ClusterConfig", "ExecutionRoleArn"})
_ENUM_SHOWN = 12


def _placeholder_hint(value: str) -> str:
    return " (it looks like a template placeholder that was never substituted)" if "${" in value else ""


def _enum_problem(value: str, allowed: list[str], location: Location) -> Problem:
    shown = ", ".join(allowed[:_ENUM_SHOWN]) + (
        f", ... ({len(allowed)} in all)" if len(allowed) > _ENUM_SHOWN else ""
    )
    return Problem(
        kind="argument",
        message=f"{value!r} is not an allowed value{_placeholder_hint(value)}; allowed: {shown}",
        path=format_json_path(location),
        allowed=tuple(allowed),
    )


def _type_problem(expected: str, value: Any, location: Location) -> Problem:
    return Problem(
        kind="argument",
        message=f"must be {expected}, got {describe_value(value)}",
        path=format_json_path(location),
    )


def _check_string(value: Any, node: Shape, location: Location) -> Iterator[Problem]:
    if not isinstance(value, str):
        yield _type_problem("a string", value, location)
        return
    allowed = node.enum
    if allowed:
        if value not in allowed:
            yield _enum_problem(value, list(allowed), location)
        return
    metadata = node.metadata
    if len(value) < metadata.get("min", 0) or len(value) > metadata.get("max", len(value)):
        yield Problem(
            kind="argument",
            message=f"length {len(value)} is outside {metadata.get('min', 0)}..{metadata.get('max', '')}",
            path=format_json_path(location),
        )
    pattern = metadata.get("pattern")
    if pattern:
        compiled = compiled_pattern(pattern)
        if compiled is not None and compiled.fullmatch(value) is None:
            yield Problem(
                kind="argument",
                message=f"{value!r} does not match the pattern {pattern}{_placeholder_hint(value)}",
                path=format_json_path(location),
            )


def _check_number(value: Any, node: Shape, location: Location, *, integer: bool) -> Iterator[Problem]:
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        yield _type_problem("an integer" if integer else "a number", value, location)
        return
    metadata = node.metadata
    low, high = metadata.get("min"), metadata.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        yield Problem(
            kind="argument",
            message=f"{value} is outside {'' if low is None else low}..{'' if high is None else high}",
            path=format_json_path(location),
        )


def _check_structure(
    value: Any, node: StructureShape, location: Location, request: RequestShape | None = None
) -> Iterator[Problem]:
    if not isinstance(value, dict):
        yield _type_problem("an object", value, location)
        return
    members = node.members
    stripped = request.stripped if request else frozenset()
    forbidden = request.forbidden if request else frozenset()
    for key, item in value.items():
        member = members.get(key)
        if key in forbidden:
            yield Problem(
                kind="argument", message="not allowed here", path=format_json_path((*location, key))
            )
        elif member is None:
            yield Problem(
                kind="argument",
                message=f"unknown member of {node.name} (kept and passed on as is)",
                path=format_json_path((*location, key)),
                severity="warning",
            )
        else:
            yield from check_value(item, member, (*location, key))
    for required in node.required_members:
        if required not in value and required not in stripped:
            yield Problem(
                kind="argument",
                message=f"required member of {node.name} is missing",
                path=format_json_path((*location, required)),
            )


def check_value(value: Any, node: Shape, location: Location) -> Iterator[Problem]:
    """Problems of one JSON value against one botocore shape (expressions are not checked)."""
    if is_expression(value):
        return
    type_name = node.type_name
    if isinstance(node, StructureShape):
        yield from _check_structure(value, node, location)
    elif isinstance(node, ListShape):
        if not isinstance(value, list):
            yield _type_problem("an array", value, location)
            return
        low, high = node.metadata.get("min"), node.metadata.get("max")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            yield Problem(
                kind="argument",
                message=f"has {len(value)} items; {node.name} allows {low or 0}..{'' if high is None else high}",
                path=format_json_path(location),
            )
        for index, item in enumerate(value):
            yield from check_value(item, node.member, (*location, index))
    elif isinstance(node, MapShape):
        if not isinstance(value, dict):
            yield _type_problem("an object", value, location)
            return
        for key, item in value.items():
            yield from check_value(item, node.value, (*location, key))
    elif type_name == "string":
        yield from _check_string(value, node, location)
    elif type_name in {"integer", "long"}:
        yield from _check_number(value, node, location, integer=True)
    elif type_name in {"float", "double"}:
        yield from _check_number(value, node, location, integer=False)
    elif type_name == "boolean" and not isinstance(value, bool):
        yield _type_problem("a boolean", value, location)


def _request(request: RequestShape) -> StructureShape:
    node = shape(request.service, request.name)
    assert isinstance(node, StructureShape)
    return node


def _check_emr(arguments: Any, location: Location) -> Iterator[Problem]:
    if not isinstance(arguments, dict):
        yield _type_problem("an object", arguments, location)
        return
    for key in arguments:
        if key not in _EMR_MEMBERS:
            yield Problem(
                kind="argument",
                message="unknown member of EMR step Arguments",
                path=format_json_path((*location, key)),
            )
    if "StepConfig" not in arguments:
        yield Problem(
            kind="argument",
            message="required field is missing",
            path=format_json_path((*location, "StepConfig")),
        )
    elif not is_expression(arguments["StepConfig"]):
        yield from _check_structure(
            arguments["StepConfig"],
            _request(_EMR_STEP_CONFIG),
            (*location, "StepConfig"),
            _EMR_STEP_CONFIG,
        )
    has_id, has_config = "ClusterId" in arguments, "ClusterConfig" in arguments
    if has_id == has_config:
        yield Problem(
            kind="argument",
            message="give exactly one of ClusterId (a running cluster) and ClusterConfig (a new cluster)",
            path=format_json_path(location),
        )
    if has_id:
        yield from check_value(arguments["ClusterId"], shape("emr", "ClusterId"), (*location, "ClusterId"))
    if has_config and not is_expression(arguments["ClusterConfig"]):
        yield from _check_structure(
            arguments["ClusterConfig"],
            _request(_EMR_CLUSTER_CONFIG),
            (*location, "ClusterConfig"),
            _EMR_CLUSTER_CONFIG,
        )
    if "ExecutionRoleArn" in arguments and not has_id:
        yield Problem(
            kind="argument",
            message="ExecutionRoleArn is only allowed together with ClusterId",
            path=format_json_path((*location, "ExecutionRoleArn")),
        )


def check_arguments(step_type: str, arguments: Any, location: Location) -> Iterator[Problem]:
    """Problems of a step's Arguments against its request shape; nothing for unchecked types."""
    if step_type == "EMR":
        yield from _check_emr(arguments, location)
        return
    request = REQUEST_SHAPES.get(step_type)
    if request is None or is_expression(arguments):
        return
    yield from _check_structure(arguments, _request(request), location, request)


def literal_names(items: Any, name_field: str) -> set[str] | None:
    """The names in a list of objects when every one is a literal string; else None."""
    if not isinstance(items, list):
        return None
    names: set[str] = set()
    for item in items:
        name = item.get(name_field) if isinstance(item, Mapping) else None
        if not isinstance(name, str):
            return None
        names.add(name)
    return names
