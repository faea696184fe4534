"""What an execution and its step attempts look like in MLflow: names, tags, params, metrics.

Pure functions of the records the engine wrote, so what is logged is tested without a server
and both runtimes log the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipelines.store.base import ExecutionRecord, StepRecord

# Tag keys (searchable: the observer finds a run again by them, from any process).
TAG_KIND = "pipelines.kind"  # "execution" or "step"
TAG_EXECUTION_ARN = "pipelines.execution_arn"
TAG_EXECUTION_ID = "pipelines.execution_id"
TAG_PIPELINE_NAME = "pipelines.pipeline_name"
TAG_PIPELINE_ARN = "pipelines.pipeline_arn"
TAG_PIPELINE_VERSION = "pipelines.pipeline_version_id"
TAG_STEP_NAME = "pipelines.step_name"
TAG_STEP_TYPE = "pipelines.step_type"
TAG_ATTEMPT = "pipelines.attempt"
TAG_STATUS = "pipelines.status"
TAG_CACHE_HIT = "pipelines.cache_hit"
TAG_CACHE_SOURCE = "pipelines.cache_hit_source_arn"
TAG_JOB_NAME = "pipelines.job_name"
TAG_FAILURE_REASON = "pipelines.failure_reason"
PARENT_RUN_TAG = "mlflow.parentRunId"

MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value (characters)
MAX_TAG_VALUE = 8000

# Pipeline statuses -> MLflow RunStatus names.
_RUN_STATUS = {
    "Executing": "RUNNING",
    "Starting": "RUNNING",
    "Stopping": "RUNNING",
    "Succeeded": "FINISHED",
    "CompletedWithFailures": "FINISHED",
    "Failed": "FAILED",
    "Stopped": "KILLED",
}


def run_status(status: str) -> str:
    """The MLflow run status for an execution or step status."""
    return _RUN_STATUS.get(status, "RUNNING")


def millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _text(value: Any, limit: int) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text[:limit]


@dataclass(frozen=True)
class RunContent:
    """Everything to write on one run; params and tags as MLflow wants them (strings)."""

    name: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "RUNNING"
    start_ms: int | None = None
    end_ms: int | None = None


def execution_key(execution: ExecutionRecord) -> tuple[str, ...]:
    return (execution.execution_arn,)


def step_key(execution_arn: str, step_name: str, attempt: int) -> tuple[str, ...]:
    """One nested run per attempt. Attempts only grow, across RetryPipelineExecution runs too;
    0 is a step reused from the cache or a reference execution."""
    return (execution_arn, step_name, str(attempt))


def execution_search_tags(execution: ExecutionRecord) -> dict[str, str]:
    return {TAG_KIND: "execution", TAG_EXECUTION_ARN: execution.execution_arn}


def step_search_tags(execution_arn: str, step: StepRecord) -> dict[str, str]:
    return {
        TAG_KIND: "step",
        TAG_EXECUTION_ARN: execution_arn,
        TAG_STEP_NAME: step.step_name,
        TAG_ATTEMPT: str(step.attempt),
    }


def execution_run(execution: ExecutionRecord) -> RunContent:
    """The parent run: named by the MLflow binding (display name or execution id), tagged with
    the execution and pipeline, the coerced parameters as params, status as the execution's."""
    assert execution.mlflow is not None
    tags = {
        **execution_search_tags(execution),
        TAG_EXECUTION_ID: execution.execution_id,
        TAG_PIPELINE_NAME: execution.pipeline_name,
        TAG_PIPELINE_ARN: execution.pipeline_arn,
        TAG_STATUS: execution.status,
    }
    if execution.pipeline_version_id is not None:
        tags[TAG_PIPELINE_VERSION] = str(execution.pipeline_version_id)
    if execution.failure_reason:
        tags[TAG_FAILURE_REASON] = execution.failure_reason[:MAX_TAG_VALUE]
    return RunContent(
        name=execution.mlflow.run_name,
        tags=tags,
        params={name: _text(value, MAX_PARAM_VALUE) for name, value in execution.parameters.items()},
        status=run_status(execution.status),
        start_ms=millis(execution.created_at),
        end_ms=millis(execution.ended_at),
    )


def step_run_name(step: StepRecord) -> str:
    if step.attempt == 0:
        return f"{step.step_name} (reused)"
    return f"{step.step_name} (attempt {step.attempt})"


def step_run(execution_arn: str, step: StepRecord) -> RunContent:
    """A nested run: the step's type, status, attempt, duration, cache hit, and what the step
    produced (training metrics; Condition outcome; Lambda and Callback outputs)."""
    tags = {
        **step_search_tags(execution_arn, step),
        TAG_STEP_TYPE: step.step_type,
        TAG_STATUS: step.status,
        TAG_CACHE_HIT: "true" if step.cache_hit_source_arn else "false",
    }
    if step.cache_hit_source_arn:
        tags[TAG_CACHE_SOURCE] = step.cache_hit_source_arn
    if step.job_name:
        tags[TAG_JOB_NAME] = step.job_name
    if step.failure_reason:
        tags[TAG_FAILURE_REASON] = step.failure_reason[:MAX_TAG_VALUE]
    started = step.started_at or step.first_started_at
    metrics = training_metrics(step)
    if started is not None and step.ended_at is not None:
        metrics["duration_seconds"] = max((step.ended_at - started).total_seconds(), 0.0)
    return RunContent(
        name=step_run_name(step),
        tags=tags,
        params=step_params(step),
        metrics=metrics,
        status=run_status(step.status),
        start_ms=millis(started),
        end_ms=millis(step.ended_at),
    )


def training_metrics(step: StepRecord) -> dict[str, float]:
    """A training job's FinalMetricDataList (DescribeTrainingJob) as metrics."""
    listed = (step.properties or {}).get("FinalMetricDataList") if step.step_type == "Training" else None
    metrics: dict[str, float] = {}
    for entry in listed if isinstance(listed, list) else []:
        name, value = entry.get("MetricName"), entry.get("Value")
        if isinstance(name, str) and isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = float(value)
    return metrics


def step_params(step: StepRecord) -> dict[str, str]:
    """A Condition's outcome, and a Lambda or Callback step's output parameters."""
    metadata = step.metadata or {}
    params: dict[str, str] = {}
    condition = metadata.get("Condition")
    if isinstance(condition, dict) and "Outcome" in condition:
        params["outcome"] = _text(condition["Outcome"], MAX_PARAM_VALUE)
    for kind in ("Lambda", "Callback"):
        member = metadata.get(kind)
        outputs = member.get("OutputParameters") if isinstance(member, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            if isinstance(output, dict) and isinstance(output.get("Name"), str):
                params[f"output.{output['Name']}"] = _text(output.get("Value"), MAX_PARAM_VALUE)
    return params
