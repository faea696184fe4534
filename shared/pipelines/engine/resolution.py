"""Turning a step of the definition into the concrete request of one attempt.

Everything a step reads at run time comes through one EvaluationContext built here: the
coerced parameters, the execution variables (with this attempt's job name), the properties and
property files of the steps that succeeded, and the object store for ``Std:JsonGet``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pipelines.definition.models import ConditionStep, PipelineDefinition, Step
from pipelines.expressions import EvaluationContext, evaluate, value_text
from pipelines.objects.base import ObjectStore
from pipelines.store.base import ExecutionRecord, StepRecord

# Step-envelope members the engine interprets itself; every other step-level member (FunctionArn,
# SqsQueueUrl, OutputParameters, CheckType, SkipCheck, ...) is resolved into ``step_fields``.
_ENVELOPE_FIELDS = frozenset(
    {
        "Name",
        "Type",
        "Arguments",
        "DependsOn",
        "DisplayName",
        "Description",
        "CacheConfig",
        "RetryPolicies",
        "PropertyFiles",
    }
)

_JOB_NAME_VARIABLE = {"Training": "TrainingJobName", "Processing": "ProcessingJobName"}


def execution_variables(
    execution: ExecutionRecord, now: Callable[[], datetime], job_name: str | None = None, step_type: str = ""
) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "PipelineName": execution.pipeline_name,
        "PipelineArn": execution.pipeline_arn,
        "PipelineExecutionId": execution.execution_id,
        "PipelineExecutionArn": execution.execution_arn,
        "StartDateTime": execution.created_at,
        "CurrentDateTime": now,
    }
    variable = _JOB_NAME_VARIABLE.get(step_type)
    if variable and job_name:
        variables[variable] = job_name
    return variables


def experiment_names(execution: ExecutionRecord) -> dict[str, str]:
    if execution.experiment is None:
        return {}
    return {
        "ExperimentName": execution.experiment.experiment_name,
        "TrialName": execution.experiment.trial_name,
    }


def evaluation_context(
    execution: ExecutionRecord,
    steps: Mapping[str, StepRecord],
    now: Callable[[], datetime],
    objects: ObjectStore | None,
    *,
    job_name: str | None = None,
    step_type: str = "",
) -> EvaluationContext:
    def step_properties(name: str) -> Mapping[str, Any] | None:
        record = steps.get(name)
        if record is None or record.status != "Succeeded":
            return None
        return record.properties

    def property_file(step_name: str, file_name: str) -> Any:
        record = steps.get(step_name)
        if record is None or record.status != "Succeeded":
            raise LookupError(
                f"step {step_name!r} has not succeeded, so its property files are not available"
            )
        if file_name not in record.property_files:
            raise LookupError(f"step {step_name!r} recorded no property file {file_name!r}")
        return record.property_files[file_name]

    def read_object(uri: str) -> bytes:
        if objects is None:
            raise LookupError(f"no object store is available to read {uri}")
        return objects.get(uri)

    return EvaluationContext(
        parameters=execution.parameters,
        execution=execution_variables(execution, now, job_name, step_type),
        step_properties=step_properties,
        property_file=property_file,
        read_object=read_object,
        experiment_config=experiment_names(execution),
    )


def raw_step_fields(step: Step) -> dict[str, Any]:
    """The step-level members outside the envelope, as JSON (still holding expressions)."""
    if isinstance(step, ConditionStep):
        return {}
    data = step.to_json_dict()
    return {k: v for k, v in data.items() if k not in _ENVELOPE_FIELDS}


def resolve_step(step: Step, ctx: EvaluationContext) -> tuple[Any, dict[str, Any]]:
    """(resolved Arguments, resolved step-level fields); raises ExpressionError."""
    arguments = evaluate(step.arguments, ctx) if step.arguments is not None else None
    fields = evaluate(raw_step_fields(step), ctx)
    return arguments, fields if isinstance(fields, dict) else {}


def resolve_experiment(
    definition: PipelineDefinition, ctx: EvaluationContext, defaults: dict[str, str]
) -> dict[str, str]:
    """ExperimentName/TrialName from PipelineExperimentConfig, defaulting to pipeline name and
    execution id (the SDK's default config says exactly that)."""
    config = definition.pipeline_experiment_config or {}
    resolved = dict(defaults)
    for name in ("ExperimentName", "TrialName"):
        if config.get(name) is not None:
            value = evaluate(config[name], ctx)
            if value_text(value):
                resolved[name] = value_text(value)
    return resolved
