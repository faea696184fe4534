"""Registration-time checks every trigger shares: the target pipeline and its parameters.

A trigger starts executions unattended, so what would make every start fail is refused when
the trigger is created: a target that is not one of our pipelines (or that the registering
account may not start), a parameter the pipeline does not declare, a static value that does
not fit the declared type, and a parameter left without any value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipelines.api.ops.access import NoSharing, SharingPolicy, owner_of
from pipelines.definition import DefinitionError, load_definition
from pipelines.definition.models import PipelineDefinition
from pipelines.expressions.parameters import InvalidParameterValueError, coerce_parameter_value
from pipelines.store import PipelineRecord, Store
from pipelines.triggers.errors import (
    InvalidParameterMapping,
    TriggerParameterMissing,
    UnknownTriggerParameter,
    UnknownTriggerPipeline,
)

START_ACTION = "StartPipelineExecution"


def target_pipeline(
    store: Store, pipeline_arn: str, account_id: str, sharing: SharingPolicy | None = None
) -> PipelineRecord:
    """The pipeline a trigger targets, if ``account_id`` may start it."""
    name = pipeline_arn.partition(":pipeline/")[2]
    if not pipeline_arn.startswith("arn:") or not name or "/" in name:
        raise UnknownTriggerPipeline(
            pipeline_arn, "not a pipeline ARN (arn:aws:sagemaker:<region>:<account>:pipeline/<name>)"
        )
    record = store.get_pipeline(pipeline_arn)
    if record is None:
        raise UnknownTriggerPipeline(pipeline_arn)
    if record.status != "Active":
        raise being_deleted(record)
    if owner_of(record.arn) != account_id and START_ACTION not in (sharing or NoSharing()).shared_actions(
        account_id, record.arn
    ):
        raise UnknownTriggerPipeline(pipeline_arn, f"account {account_id} may not start it")
    return record


def being_deleted(record: PipelineRecord) -> UnknownTriggerPipeline:
    """The refusal of a trigger whose target a DeletePipeline is deleting (or deleted while the
    trigger was registered: see :func:`pipelines.engine.pipelines.attach`)."""
    return UnknownTriggerPipeline(record.arn, "the pipeline is being deleted")


def pipeline_definition(record: PipelineRecord) -> PipelineDefinition:
    try:
        return load_definition(record.definition)
    except DefinitionError as exc:  # stored definitions were validated; a rule change could break one
        raise UnknownTriggerPipeline(record.arn, f"its definition no longer validates ({exc})") from exc


def check_trigger_parameters(
    record: PipelineRecord,
    static_values: Mapping[str, str],
    mapped: Iterable[str] = (),
    *,
    kind: str,
) -> None:
    """:func:`check_definition_parameters` for a stored pipeline."""
    check_definition_parameters(pipeline_definition(record), record.name, static_values, mapped, kind=kind)


def check_definition_parameters(
    definition: PipelineDefinition,
    pipeline_name: str,
    static_values: Mapping[str, str],
    mapped: Iterable[str] = (),
    *,
    kind: str,
) -> None:
    """Every named parameter is declared, static values fit their types, and every parameter
    without a default gets a value (``kind`` names the trigger in the message)."""
    declared = definition.parameter_map()
    mapped = list(mapped)
    for name in [*static_values, *mapped]:
        if name not in declared:
            raise UnknownTriggerParameter(name, pipeline_name)
    for name, value in static_values.items():
        try:
            coerce_parameter_value(declared[name], value)
        except InvalidParameterValueError as exc:
            raise InvalidParameterMapping(name, value, exc.message) from exc
    given = set(static_values) | set(mapped)
    missing = [p.name for p in definition.parameters if not p.has_default and p.name not in given]
    if missing:
        raise TriggerParameterMissing(missing, pipeline_name, kind)
