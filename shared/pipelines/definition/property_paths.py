"""Which ``Steps.<name>.<path>`` property paths exist, per step type, from botocore's models.

The root of a step's properties is its job's Describe* response (as the SDK's
``PropertiesMeta`` builds them), plus a few synthetic members the SDK adds by hand. A path is
walked shape by shape: ``.Field`` on a structure, ``[0]`` on a list, ``['x']`` on a list
(the element whose naming field is ``x``) or on a map (the key ``x``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

from botocore.model import ListShape, MapShape, Shape, StructureShape

from pipelines.definition.shapes import element_name_field, shape
from pipelines.expressions.paths import Field, Index, Key, Segment, format_path


@dataclass(frozen=True)
class Synthetic:
    """A property object the SDK builds by hand rather than from one botocore shape."""

    description: str
    members: Mapping[str, Node]


Node = Shape | Synthetic | None  # None: an opaque string value (synthetic leaves)

# Step types whose properties come from one botocore output shape.
DESCRIBE_SHAPES: dict[str, str] = {
    "Training": "DescribeTrainingJobResponse",
    "Processing": "DescribeProcessingJobResponse",
    "Transform": "DescribeTransformJobResponse",
    "Model": "DescribeModelOutput",
    "RegisterModel": "DescribeModelPackageOutput",
    # The v2 SDK's EndpointConfigStep / EndpointStep / InferenceComponentStep properties.
    "EndpointConfig": "DescribeEndpointConfigOutput",
    "Endpoint": "DescribeEndpointOutput",
    "InferenceComponent": "DescribeInferenceComponentOutput",
}

# Step types whose paths are checked; others (Lineage, Endpoint, unknown...) are not.
CHECKED_STEP_TYPES = frozenset(
    {*DESCRIBE_SHAPES, "Tuning", "AutoML", "EMR", "QualityCheck", "ClarifyCheck", "Condition"}
)

_QUALITY_CHECK_PROPERTIES = (
    "CalculatedBaselineConstraints",
    "CalculatedBaselineStatistics",
    "BaselineUsedForDriftCheckConstraints",
    "BaselineUsedForDriftCheckStatistics",
)
# ClarifyCheckStep only exposes constraints: Clarify computes no statistics baseline.
_CLARIFY_CHECK_PROPERTIES = ("CalculatedBaselineConstraints", "BaselineUsedForDriftCheckConstraints")


def _merged(description: str, *structures: str, extra: Mapping[str, Node] | None = None) -> Synthetic:
    members: dict[str, Node] = {}
    for name in structures:
        structure = shape("sagemaker", name)
        assert isinstance(structure, StructureShape)
        members.update(structure.members)
    members.update(extra or {})
    return Synthetic(description, members)


@cache
def property_root(step_type: str) -> Node:
    """The properties object of a step type (only for types in ``CHECKED_STEP_TYPES``)."""
    if step_type in DESCRIBE_SHAPES:
        return shape("sagemaker", DESCRIBE_SHAPES[step_type])
    if step_type == "Tuning":
        return _merged(
            "DescribeHyperParameterTuningJobResponse + ListTrainingJobsForHyperParameterTuningJobResponse",
            "DescribeHyperParameterTuningJobResponse",
            "ListTrainingJobsForHyperParameterTuningJobResponse",
        )
    if step_type == "AutoML":
        best = Synthetic(
            "BestCandidateProperties",
            {"ModelInsightsJsonReportPath": None, "ExplainabilityJsonReportPath": None},
        )
        return _merged(
            "DescribeAutoMLJobResponse", "DescribeAutoMLJobResponse", extra={"BestCandidateProperties": best}
        )
    if step_type == "EMR":
        step = shape("emr", "Step")
        assert isinstance(step, StructureShape)
        return Synthetic("the EMR Step (emr DescribeStep) + ClusterId", {**step.members, "ClusterId": None})
    if step_type == "QualityCheck":
        return Synthetic("QualityCheck step properties", dict.fromkeys(_QUALITY_CHECK_PROPERTIES))
    if step_type == "ClarifyCheck":
        return Synthetic("ClarifyCheck step properties", dict.fromkeys(_CLARIFY_CHECK_PROPERTIES))
    if step_type == "Condition":
        return Synthetic("Condition step properties", {"Outcome": None})
    raise KeyError(step_type)


@dataclass(frozen=True)
class NamedElement:
    """A ``['key']`` that picks a list element by its naming field (checked against Arguments)."""

    list_path: tuple[Segment, ...]
    name_field: str
    key: str


@dataclass(frozen=True)
class Resolution:
    error: str | None
    named_elements: tuple[NamedElement, ...] = ()


def _members_hint(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _kind(node: Node) -> str:
    if node is None:
        return "a string"
    if isinstance(node, Synthetic):
        return node.description
    return f"{node.name} ({node.type_name})"


@lru_cache(maxsize=65536)
def resolve_property_path(step_type: str, segments: tuple[Segment, ...]) -> Resolution:
    """Walk ``segments`` from the step type's properties root; the first illegal segment is the error."""
    node = property_root(step_type)
    named: list[NamedElement] = []
    for position, segment in enumerate(segments):
        where = format_path(list(segments[:position])) or "the step"
        if isinstance(node, Synthetic):
            if isinstance(segment, Field) and segment.name in node.members:
                node = node.members[segment.name]
                continue
            return Resolution(
                f"{format_path([segment])!r} is not a property of {where} ({node.description}); "
                f"it has: {_members_hint(list(node.members))}"
            )
        if node is None or not isinstance(node, StructureShape | ListShape | MapShape):
            return Resolution(f"{where} is {_kind(node)}, a plain value: nothing can follow it")
        if isinstance(node, StructureShape):
            if isinstance(segment, Field) and segment.name in node.members:
                node = node.members[segment.name]
                continue
            shape_note = "" if where.endswith(node.name) else f" ({node.name})"
            return Resolution(
                f"{format_path([segment])!r} is not a member of {where}{shape_note}; "
                f"it has: {_members_hint(list(node.members))}"
            )
        if isinstance(node, ListShape):
            if isinstance(segment, Index):
                node = node.member
                continue
            if isinstance(segment, Key):
                list_field = next(
                    (seg.name for seg in reversed(segments[:position]) if isinstance(seg, Field)), ""
                )
                name_field = element_name_field(list_field, node)
                if name_field is None:
                    return Resolution(
                        f"{where} is a list of {_kind(node.member)}, which have no name to select "
                        f"['{segment.key}'] by; use an index like [0]"
                    )
                named.append(NamedElement(segments[:position], name_field, segment.key))
                node = node.member
                continue
            return Resolution(
                f"{where} is a list ({node.name}): use [0] or ['name'], not .{format_path([segment])}"
            )
        # MapShape
        if isinstance(segment, Key):
            node = node.value
            continue
        return Resolution(f"{where} is a map ({node.name}): select an entry with ['key']")
    return Resolution(None, tuple(named))
