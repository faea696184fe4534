"""How the run-side commands print records: rich tables for people, JSON for scripts.

JSON uses the API's member names (DescribePipelineExecution, PipelineExecutionStep) so a
script written against ``pipelines ... --json`` reads the same fields as one written against
boto3; timestamps are ISO-8601 and absent members are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from pipelines.api.ops.executions import execution_description, step_entry
from pipelines.cli.progress import format_duration, local_time, plain_table, status_text, step_note
from pipelines.store import ExecutionRecord, StepRecord

_FAR_FUTURE = datetime.max


def to_json(value: Any) -> str:
    return json.dumps(_plain(value), indent=2, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _plain(value: Any) -> Any:
    """Drop None members recursively (the API leaves absent members out)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def ordered_steps(steps: Iterable[StepRecord], order: Mapping[str, int] | None = None) -> list[StepRecord]:
    """Start order; steps that started together (a condition and its branch) or not at all
    keep the definition's order when it is known."""
    order = order or {}

    def key(step: StepRecord) -> tuple[datetime, int, str]:
        moment = step.first_started_at or step.started_at
        started = moment.replace(tzinfo=None) if moment is not None else _FAR_FUTURE
        return started, order.get(step.step_name, len(order)), step.step_name

    return sorted(steps, key=key)


def execution_json(execution: ExecutionRecord, steps: Sequence[StepRecord] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"Execution": execution_description(execution)}
    document["Execution"]["PipelineExecutionId"] = execution.execution_id
    document["Execution"]["PipelineName"] = execution.pipeline_name
    document["Execution"]["Parameters"] = execution.parameters
    if steps is not None:
        document["Steps"] = [step_entry(step) | {"StepType": step.step_type} for step in steps]
    return document


def executions_table(executions: Sequence[ExecutionRecord]) -> Table:
    table = plain_table(
        ("Execution", "Pipeline", "Status", "Started", "Duration", "Failure reason"),
        wrapping="Failure reason",
    )
    for execution in executions:
        table.add_row(
            execution.execution_id,
            execution.pipeline_name,
            status_text(execution.status),
            local_time(execution.created_at),
            format_duration(execution.created_at, execution.ended_at),
            execution.failure_reason or "",
        )
    return table


def steps_detail_table(steps: Sequence[StepRecord]) -> Table:
    table = plain_table(
        ("Step", "Type", "Status", "Attempt", "Started", "Duration", "Job / note"), wrapping="Job / note"
    )
    for step in steps:
        started = step.first_started_at or step.started_at
        table.add_row(
            step.step_name,
            step.step_type,
            status_text(step.status),
            str(step.attempt) if step.attempt else "-",
            local_time(started, "%H:%M:%S") if started else "",
            format_duration(step.started_at, step.ended_at),
            step_note(step, width=None) or step.job_name or "",
        )
    return table


def callbacks_table(callbacks: Sequence[Mapping[str, Any]]) -> Table:
    table = plain_table(
        ("Token", "Execution", "Step", "Queue", "Waiting since", "Arguments"), wrapping="Arguments"
    )
    for callback in callbacks:
        table.add_row(
            callback["token"],
            f"{callback['pipelineName']}/{callback['executionId']}",
            callback["stepName"] + (" (stopping)" if callback["executionStatus"] == "Stopping" else ""),
            callback["queueName"],
            local_time(callback["waitingSince"]),
            json.dumps(callback["arguments"]),
        )
    return table


def models_table(groups: Sequence[Mapping[str, Any]]) -> Table:
    """One row per version, grouped; a group without versions still shows."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("Group", "Version", "Approval", "Created"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    table.add_column("Model package ARN", overflow="fold")
    approval_styles = {"Approved": "green", "Rejected": "red", "PendingManualApproval": "yellow"}
    for group in groups:
        versions = group["ModelPackages"] or [{}]
        for version in versions:
            status = version.get("ModelApprovalStatus", "")
            created = version.get("CreationTime")
            table.add_row(
                group["ModelPackageGroupName"],
                str(version.get("ModelPackageVersion", "-")),
                Text(status, style=approval_styles.get(status, "")),
                local_time(created) if created else "",
                version.get("ModelPackageArn", ""),
            )
    return table


def experiments_table(experiments: Sequence[Mapping[str, Any]]) -> Table:
    table = plain_table(("Experiment", "Run group", "Runs", "Created"))
    for experiment in experiments:
        trials = experiment["RunGroups"] or [{}]
        for trial in trials:
            created = trial.get("CreationTime") or experiment["CreationTime"]
            table.add_row(
                experiment["ExperimentName"],
                trial.get("TrialName", "-"),
                str(len(trial.get("Runs", []))) if trial else "0",
                local_time(created),
            )
    return table
