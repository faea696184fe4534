"""Job names as the service makes them, new for every attempt.

``pipelines-<executionId>-<first 20 chars of step name>-<entityToken>-<failureCount>``, or with
a custom prefix (the ``*JobName`` the SDK keeps in Arguments under ``use_custom_job_prefix``)
``<prefix>-<executionId>-<entityToken>-<failureCount>``. Each job type's limits come from
botocore's SageMaker model, so a name never breaks the Create* request it goes into.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from pipelines import aws

_DEFAULT_PREFIX = "pipelines"
_STEP_NAME_CHARS = 20


@dataclass(frozen=True)
class JobNameRule:
    argument: str  # the member of Arguments that names the job
    shape: str  # the botocore shape that constrains it
    max_prefix: int  # the documented custom-prefix limit


JOB_NAME_RULES: dict[str, JobNameRule] = {
    "Processing": JobNameRule("ProcessingJobName", "ProcessingJobName", 38),
    "Training": JobNameRule("TrainingJobName", "TrainingJobName", 38),
    "Transform": JobNameRule("TransformJobName", "TransformJobName", 38),
    "Tuning": JobNameRule("HyperParameterTuningJobName", "HyperParameterTuningJobName", 6),
    "AutoML": JobNameRule("AutoMLJobName", "AutoMLJobName", 6),
    "ClarifyCheck": JobNameRule("ProcessingJobName", "ProcessingJobName", 38),
    "QualityCheck": JobNameRule("ProcessingJobName", "ProcessingJobName", 38),
    "Model": JobNameRule("ModelName", "ModelName", 38),
    "Job": JobNameRule("JobName", "JobName", 38),  # the v3 SDK's CreateJob steps
}
"""Step types that create a named SageMaker entity, and where its name goes."""

_FALLBACK_MAX_LENGTH = 63


@cache
def max_length(shape_name: str) -> int:
    model = aws.service_model("sagemaker")
    value = model.shape_for(shape_name).metadata.get("max", _FALLBACK_MAX_LENGTH)
    return int(value)


def _sanitize(text: str) -> str:
    """Keep ``[a-zA-Z0-9-]`` (``_`` and others become ``-``), no leading/trailing hyphen."""
    return re.sub(r"[^a-zA-Z0-9-]", "-", text).strip("-")


def custom_prefix(step_type: str, arguments: object) -> str | None:
    """The custom job-name prefix kept in the (resolved) Arguments, if any."""
    rule = JOB_NAME_RULES.get(step_type)
    if rule is None or not isinstance(arguments, dict):
        return None
    value = arguments.get(rule.argument)
    return value if isinstance(value, str) and value else None


def job_name(
    step_type: str,
    step_name: str,
    execution_id: str,
    entity_token: str,
    failure_count: int,
    prefix: str | None = None,
) -> str:
    """The job name of one attempt (``failure_count`` = attempts that failed before it)."""
    rule = JOB_NAME_RULES.get(step_type)
    limit = max_length(rule.shape) if rule else _FALLBACK_MAX_LENGTH
    tail = f"{execution_id}-{entity_token}-{failure_count}" if prefix else None
    if prefix and tail is not None:
        allowed = limit - len(tail) - 1
        if rule is not None:
            allowed = min(allowed, rule.max_prefix)
        head = _sanitize(prefix)[: max(allowed, 0)].rstrip("-")
        return f"{head}-{tail}" if head else tail
    step_part = _sanitize(step_name[:_STEP_NAME_CHARS])
    parts = [_DEFAULT_PREFIX, execution_id, step_part, entity_token, str(failure_count)]
    name = "-".join(p for p in parts if p)
    if len(name) > limit:  # Tuning/AutoML (32 chars): drop "pipelines", shorten the step part
        fixed = f"{execution_id}--{entity_token}-{failure_count}"
        step_part = step_part[: max(limit - len(fixed), 0)].strip("-")
        name = "-".join(p for p in [execution_id, step_part, entity_token, str(failure_count)] if p)
    return name[:limit]
