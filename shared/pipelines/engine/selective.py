"""Selective execution: which steps run, and which results come from the reference execution.

The selected steps must form a valid selection of the DAG (connected, every step on a path
between two selected steps selected). Unselected steps upstream of the selection reuse the
reference execution's results; without a reference the selection may not depend on anything
unselected. Unselected downstream steps do not run.
"""

from __future__ import annotations

from datetime import datetime

from pipelines.engine.errors import InvalidSelection
from pipelines.graph import PipelineGraph
from pipelines.store.base import ExecutionState, SelectiveExecutionConfig, StepRecord

REFERENCE_STATUSES = frozenset({"Succeeded", "Failed", "CompletedWithFailures"})
"""The dev guide: the reference "must be in Success or Failed state"; CompletedWithFailures
(v3 run conditions) is both finished and partly failed, so it qualifies too."""


def validate_selection(graph: PipelineGraph, config: SelectiveExecutionConfig) -> set[str]:
    """The unselected steps the selection depends on; raises InvalidSelection."""
    problems = graph.selection_problems(config.selected_steps)
    problems.extend(
        f"Step {name!r} runs only as an iteration of ForEach step {parent!r}; select {parent!r} instead."
        for name in config.selected_steps
        if name in graph.steps and (parent := graph.for_each_of(name)) is not None
    )
    if problems:
        raise InvalidSelection("Invalid SelectiveExecutionConfig: " + " ".join(problems))
    selected = set(config.selected_steps)
    upstream = graph.upstream_closure(selected) - selected
    if config.source_execution_arn is None and upstream:
        raise InvalidSelection(
            "Invalid SourcePipelineExecutionArn: null. "
            f"The selected steps {sorted(selected)} have dependencies on {sorted(upstream)}"
        )
    return upstream


def reused_steps(
    config: SelectiveExecutionConfig,
    upstream: set[str],
    source: ExecutionState,
    pipeline_name: str,
    execution_id: str,
    now: datetime,
) -> list[StepRecord]:
    """Records for the unselected upstream steps, copied from the reference execution."""
    reference = source.execution
    arn = config.source_execution_arn
    if reference.pipeline_name != pipeline_name:
        raise InvalidSelection(
            f"Invalid SourcePipelineExecutionArn: {arn} belongs to pipeline {reference.pipeline_name}, "
            f"not {pipeline_name}."
        )
    if reference.status not in REFERENCE_STATUSES:
        raise InvalidSelection(
            f"Invalid SourcePipelineExecutionArn: {arn} has status {reference.status}; "
            "the reference execution must be Succeeded or Failed."
        )
    records: list[StepRecord] = []
    missing: list[str] = []
    # a reused ForEach brings its iteration steps along, so the listing shows what it reused
    iterations = sorted(
        name
        for name, record in source.steps.items()
        if record.iteration is not None and record.iteration.parent_step_name in upstream
    )
    for name in [*sorted(upstream), *iterations]:
        record = source.steps.get(name)
        if record is None or record.status != "Succeeded":
            missing.append(name)
            continue
        records.append(
            record.model_copy(
                update={
                    "execution_id": execution_id,
                    "run": 1,
                    "version": 1,
                    "callback_token": None,
                    "waiting_for_callback": False,
                    "stop_notice_pending": False,
                    "not_before": None,
                    "cache_hit_source_arn": None,
                    "selective_source_arn": reference.execution_arn,
                    "failures": [],
                }
            )
        )
    if missing:
        raise InvalidSelection(
            f"Invalid SourcePipelineExecutionArn: {arn}. The selected steps depend on {missing}, "
            "which did not succeed in that execution."
        )
    return records
