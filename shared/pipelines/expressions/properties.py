"""Walking a property path (``ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri``) through
a step's properties: its Describe* response, ``{"Outcome": true}`` for a condition, or
``{"OutputParameters": ...}`` for Lambda and Callback steps.

``['name']`` on a list selects the element whose naming field equals ``name``. Which field
names the elements depends on the list, so the table below maps the list's member name to
it (from the botocore Describe* shapes, like ``pipelines.definition.shapes`` does for the
validator); lists not in the table fall back to the usual naming fields, in order.

A member named in :data:`JSON_DOCUMENT_MEMBERS` is a JSON document held as a string (a Job
step's ``JobConfigDocument``): the path may descend into it
(``JobConfigDocument.ServiceOutput.MlflowDetails.RunId``), and it is parsed only then, as the
service does; the member itself still resolves to the string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pipelines.expressions.errors import PropertyNotFoundError, PropertyPathError
from pipelines.expressions.paths import Field, Index, Key, Segment, format_path

NamingField = tuple[str, str | None]
"""(field that names an element, field holding its value or None for the whole element)."""

LIST_NAMING_FIELDS: dict[str, NamingField] = {
    "Outputs": ("OutputName", None),  # ProcessingOutputConfig.Outputs
    "ProcessingInputs": ("InputName", None),
    "FinalMetricDataList": ("MetricName", None),
    "MetricDefinitions": ("Name", None),
    "InputDataConfig": ("ChannelName", None),
    "TrainingJobDefinitions": ("DefinitionName", None),
    "DebugRuleConfigurations": ("RuleConfigurationName", None),
    "DebugRuleEvaluationStatuses": ("RuleConfigurationName", None),
    "ProfilerRuleConfigurations": ("RuleConfigurationName", None),
    "ProfilerRuleEvaluationStatuses": ("RuleConfigurationName", None),
    "ProductionVariants": ("VariantName", None),
    "Containers": ("ContainerHostname", None),
    "CandidateSteps": ("CandidateStepName", None),
    "TrainingJobSummaries": ("TrainingJobName", None),
    "SecondaryStatusTransitions": ("Status", None),
    # Lambda/Callback outputs as the service's step metadata lists them: [{"Name", "Value"}].
    "OutputParameters": ("Name", "Value"),
    "Tags": ("Key", "Value"),
}

JSON_DOCUMENT_MEMBERS: frozenset[str] = frozenset({"JobConfigDocument"})
"""String members a property path may descend into as JSON (the v3 SDK's JobStep docstring:
"the backend parsing the JSON lazily at execution time")."""

FALLBACK_NAMING_FIELDS: tuple[str, ...] = (
    "OutputName",
    "InputName",
    "MetricName",
    "ChannelName",
    "Name",
    "VariantName",
    "DefinitionName",
    "RuleConfigurationName",
    "ContainerHostname",
    "ChannelType",  # AutoMLChannel
)


def _candidates(items: Sequence[Any], list_name: str | None) -> list[NamingField]:
    """The naming fields to try: the table's for this list, then the usual ones, then any
    ``*Name`` member (the validator's botocore-based rule, so both accept the same paths)."""
    candidates: list[NamingField] = []
    if list_name in LIST_NAMING_FIELDS:
        candidates.append(LIST_NAMING_FIELDS[list_name])
    candidates.extend((name, None) for name in FALLBACK_NAMING_FIELDS)
    for item in items:
        if isinstance(item, Mapping):
            candidates.extend(
                (name, None) for name in item if isinstance(name, str) and name.endswith("Name")
            )
    return candidates


def _pick_by_name(items: Sequence[Any], key: str, list_name: str | None) -> tuple[bool, Any]:
    for name_field, value_field in _candidates(items, list_name):
        for item in items:
            if isinstance(item, Mapping) and item.get(name_field) == key:
                if value_field is None:
                    return True, item
                if value_field in item:
                    return True, item[value_field]
    return False, None


def resolve_property_path(properties: Any, path: Sequence[Segment], *, step_name: str) -> Any:
    """The value at ``path`` inside ``properties``; typed errors name ``Steps.<step>.<path>``."""
    node = properties
    last_field: str | None = None
    expression = f"Steps.{step_name}.{format_path(path)}" if path else f"Steps.{step_name}"
    for position, segment in enumerate(path):
        if isinstance(node, str) and last_field in JSON_DOCUMENT_MEMBERS:
            node = _json_document(node, expression, format_path(path[:position]))
        if isinstance(segment, Field):
            if not isinstance(node, Mapping):
                raise PropertyPathError(
                    expression,
                    f"{format_path(path[: position + 1])!r}: {_kind(node)} has no field {segment.name!r}",
                )
            if segment.name not in node:
                raise PropertyNotFoundError(
                    expression, f"step {step_name!r} has no property {format_path(path[: position + 1])!r}"
                )
            node = node[segment.name]
            last_field = segment.name
        elif isinstance(segment, Index):
            if not isinstance(node, list):
                raise PropertyPathError(
                    expression,
                    f"{format_path(path[: position + 1])!r}: cannot index {_kind(node)} with [{segment.index}]",
                )
            if not 0 <= segment.index < len(node):
                raise PropertyNotFoundError(
                    expression,
                    f"{format_path(path[: position + 1])!r}: index {segment.index} is out of range (the list has {len(node)})",
                )
            node = node[segment.index]
            last_field = None
        elif isinstance(segment, Key):
            if isinstance(node, Mapping):
                if segment.key not in node:
                    raise PropertyNotFoundError(
                        expression,
                        f"step {step_name!r} has no property {format_path(path[: position + 1])!r}",
                    )
                node = node[segment.key]
            elif isinstance(node, list):
                found, node = _pick_by_name(node, segment.key, last_field)
                if not found:
                    raise PropertyNotFoundError(
                        expression,
                        f"{format_path(path[: position + 1])!r}: no element of {last_field or 'the list'} is named {segment.key!r}",
                    )
            else:
                raise PropertyPathError(
                    expression,
                    f"{format_path(path[: position + 1])!r}: cannot look up {segment.key!r} in {_kind(node)}",
                )
            last_field = None
    return node


def _json_document(text: str, expression: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PropertyPathError(expression, f"{where!r} is not a JSON document: {exc}") from exc


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return f"a {type(value).__name__} value"
