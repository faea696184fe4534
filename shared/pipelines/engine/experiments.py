"""SageMaker Experiments integration, kept as local records in the embedded runtime, and the
MLflow binding of an execution (where the tracking package logs it; see ``bind_mlflow``).

Unless PipelineExperimentConfig is null, an execution records an experiment (default: the
pipeline name) and a run group, i.e. a trial (default: the execution id), and every job a step
starts records a run (trial component) named after the job. Jobs receive the matching
ExperimentConfig in their StepRequest.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pipelines.definition.models import PipelineDefinition, Step
from pipelines.engine.resolution import resolve_experiment
from pipelines.expressions import EvaluationContext, evaluate
from pipelines.runners.base import StepRequest
from pipelines.store.base import (
    ExecutionRecord,
    ExperimentBinding,
    ExperimentRecord,
    MlflowBinding,
    TrialComponentRecord,
    TrialRecord,
)

EXPERIMENT_RUN_STEP_TYPES: frozenset[str] = frozenset(
    {"Processing", "Training", "Transform", "ClarifyCheck", "QualityCheck"}
)
"""Steps whose job is recorded as a run (the jobs that accept an ExperimentConfig)."""

_MAX_NAME = 120  # botocore ExperimentEntityName


def _entity_name(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", text).strip("-")[:_MAX_NAME] or "pipeline"


def bind_experiment(
    definition: PipelineDefinition, ctx: EvaluationContext, pipeline_name: str, execution_id: str
) -> ExperimentBinding | None:
    if not definition.experiments_enabled:
        return None
    names = resolve_experiment(definition, ctx, {"ExperimentName": pipeline_name, "TrialName": execution_id})
    return ExperimentBinding(
        experiment_name=_entity_name(names["ExperimentName"]), trial_name=_entity_name(names["TrialName"])
    )


def bind_mlflow(
    definition: PipelineDefinition,
    ctx: EvaluationContext,
    pipeline_name: str,
    execution_id: str,
    *,
    experiment_override: str | None = None,
    display_name: str | None = None,
) -> MlflowBinding | None:
    """The execution's MLflow binding, or None when the definition has no MlflowConfig (then
    nothing is logged). The experiment is the start request's MlflowExperimentName, else the
    definition's (an expression, e.g. a parameter), else the pipeline name; the parent run is
    named by the definition's MlflowRunName, else the display name, else the execution id."""
    config = definition.mlflow_config
    if not config or not config.get("MlflowResourceArn"):
        return None
    resolved = evaluate(config, ctx)
    configured = resolved if isinstance(resolved, dict) else {}

    def text(name: str) -> str | None:
        value = configured.get(name)
        return str(value) if value is not None and str(value) else None

    return MlflowBinding(
        resource_arn=str(configured["MlflowResourceArn"]),
        experiment_name=experiment_override or text("MlflowExperimentName") or pipeline_name,
        run_name=text("MlflowRunName") or display_name or execution_id,
    )


def execution_records(
    execution: ExecutionRecord, now: datetime
) -> tuple[list[ExperimentRecord], list[TrialRecord]]:
    """The experiment and trial to create (if absent) when the execution starts."""
    if execution.experiment is None:
        return [], []
    binding = execution.experiment
    return (
        [
            ExperimentRecord(
                name=binding.experiment_name, created_at=now, source_pipeline_name=execution.pipeline_name
            )
        ],
        [
            TrialRecord(
                name=binding.trial_name,
                experiment_name=binding.experiment_name,
                created_at=now,
                source_execution_arn=execution.execution_arn,
            )
        ],
    )


def step_experiment_config(execution: ExecutionRecord, step: Step, arguments: Any) -> dict[str, str] | None:
    """The ExperimentConfig a job of this step runs under (None: not recorded)."""
    if execution.experiment is None or step.type not in EXPERIMENT_RUN_STEP_TYPES:
        return None
    config = {
        "ExperimentName": execution.experiment.experiment_name,
        "TrialName": execution.experiment.trial_name,
    }
    kept = arguments.get("ExperimentConfig") if isinstance(arguments, dict) else None
    display = kept.get("TrialComponentDisplayName") if isinstance(kept, dict) else None
    if isinstance(display, str) and display:
        config["TrialComponentDisplayName"] = display
    return config


def run_of(request: StepRequest, at: datetime) -> TrialComponentRecord | None:
    """The run (trial component) a step attempt's job is recorded as, or None when it is not
    recorded (no experiment, or a step type whose job takes no ExperimentConfig). The runtime
    records it when it starts the job (Engine.record_run): a job's run exists once the job does."""
    config = request.experiment_config
    if config is None:
        return None
    return TrialComponentRecord(
        name=request.job_name,
        trial_name=config["TrialName"],
        experiment_name=config["ExperimentName"],
        display_name=config.get("TrialComponentDisplayName") or request.step_name,
        execution_id=request.execution_id,
        step_name=request.step_name,
        step_type=request.step_type,
        created_at=at,
    )
