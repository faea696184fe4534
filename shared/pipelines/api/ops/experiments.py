"""The SageMaker Experiments reads a pipeline user makes after a run, over the local records.

An execution records an experiment (default: the pipeline name), a trial (run group; default:
the execution id) and a trial component (run) per job (:mod:`pipelines.engine.experiments`).
DescribeExperiment, DescribeTrial, DescribeTrialComponent, ListExperiments, ListTrials and
ListTrialComponents answer from those records, so the SDK's integration checks work
(``test_experiment.py``: ``list_trial_components(TrialName=<execution id>)`` lists the
execution's one job, ``describe_trial(TrialName=<execution id>)["ExperimentName"]`` is the
pipeline name). A caller sees the entities of the pipelines it may describe (its own, or shared
with it). Writes (CreateExperiment, AssociateTrialComponent, ...) are not served: pipelines
create these entities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pipelines.api.ops.context import Operations, page_of
from pipelines.api.wire import CallContext
from pipelines.errors import PipelinesError, ResourceNotFound
from pipelines.store import ListQuery, Page
from pipelines.store.base import ExperimentRecord, TrialComponentRecord, TrialRecord

T = TypeVar("T")

# the job a run records, by step type: (Metadata member, TrialComponentSource.SourceType)
_SOURCE_TYPES = {
    "Processing": ("ProcessingJob", "SageMakerProcessingJob"),
    "Training": ("TrainingJob", "SageMakerTrainingJob"),
    "Transform": ("TransformJob", "SageMakerTransformJob"),
    "QualityCheck": ("QualityCheck", "SageMakerProcessingJob"),
    "ClarifyCheck": ("ClarifyCheck", "SageMakerProcessingJob"),
}
_RUN_STATUS = {"Succeeded": "Completed", "Failed": "Failed", "Stopped": "Stopped", "Stopping": "Stopping"}


class EntityNotFound(ResourceNotFound):
    """An experiment, trial or trial component the caller cannot see (SageMaker's ResourceNotFound)."""


def _every(lister: Callable[[ListQuery], Page[T]]) -> Iterator[T]:
    token: str | None = None
    while True:
        page = lister(ListQuery(limit=1000, next_token=token, ascending=True))
        yield from page.items
        token = page.next_token
        if not token:
            return


class ExperimentOperations:
    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    # -- visibility ---------------------------------------------------------------------------
    def _may_read_pipeline(self, name: str | None, ctx: CallContext) -> bool:
        if name is None:
            return False
        try:
            self.ops.pipeline(name, ctx, "DescribePipeline")
        except PipelinesError:
            return False
        return True

    def _may_read_execution(self, execution_id: str, ctx: CallContext) -> bool:
        record = self.ops.store.get_execution(execution_id)
        if record is None:
            return False
        try:
            self.ops.execution(record.execution_arn, ctx, "DescribePipelineExecution")
        except PipelinesError:
            return False
        return True

    def _experiments(self, ctx: CallContext) -> list[ExperimentRecord]:
        every = _every(self.ops.store.list_experiments)
        return [e for e in every if self._may_read_pipeline(e.source_pipeline_name, ctx)]

    def _trials(self, ctx: CallContext) -> list[TrialRecord]:
        every = _every(lambda q: self.ops.store.list_trials(None, q))
        return [
            t for t in every if t.source_execution_arn and self._readable_arn(t.source_execution_arn, ctx)
        ]

    def _readable_arn(self, arn: str, ctx: CallContext) -> bool:
        try:
            self.ops.execution(arn, ctx, "DescribePipelineExecution")
        except PipelinesError:
            return False
        return True

    def _components(self, ctx: CallContext) -> list[TrialComponentRecord]:
        every = _every(lambda q: self.ops.store.list_trial_components(None, q))
        readable: dict[str, bool] = {}
        kept = []
        for component in every:
            if component.execution_id not in readable:
                readable[component.execution_id] = self._may_read_execution(component.execution_id, ctx)
            if readable[component.execution_id]:
                kept.append(component)
        return kept

    # -- shapes -------------------------------------------------------------------------------
    def _arn(self, ctx: CallContext, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:{kind}/{name}"

    def _experiment(self, record: ExperimentRecord, ctx: CallContext) -> dict[str, Any]:
        return {
            "ExperimentName": record.name,
            "ExperimentArn": self._arn(ctx, "experiment", record.name),
            "DisplayName": record.name,
            "CreationTime": record.created_at,
            "LastModifiedTime": record.created_at,
        }

    def _trial(self, record: TrialRecord, ctx: CallContext) -> dict[str, Any]:
        return {
            "TrialName": record.name,
            "TrialArn": self._arn(ctx, "experiment-trial", record.name),
            "DisplayName": record.name,
            "ExperimentName": record.experiment_name,
            "CreationTime": record.created_at,
            "LastModifiedTime": record.created_at,
        }

    def _component(self, record: TrialComponentRecord, ctx: CallContext) -> dict[str, Any]:
        state = self.ops.store.load_state(record.execution_id)
        step = state.steps.get(record.step_name) if state is not None else None
        summary: dict[str, Any] = {
            "TrialComponentName": record.name,
            "TrialComponentArn": self._arn(ctx, "experiment-trial-component", record.name),
            "DisplayName": record.display_name or record.name,
            "Status": {"PrimaryStatus": _RUN_STATUS.get(step.status, "InProgress") if step else "InProgress"},
            "CreationTime": record.created_at,
            "LastModifiedTime": record.created_at,
        }
        member, source_type = _SOURCE_TYPES.get(record.step_type, (record.step_type, None))
        job_arn = (step.metadata.get(member) or {}).get("Arn") if step is not None else None
        if job_arn and source_type:
            summary["TrialComponentSource"] = {"SourceArn": job_arn, "SourceType": source_type}
        if step is not None:
            summary["StartTime"] = step.first_started_at or step.started_at
            summary["EndTime"] = step.ended_at
        return summary

    # -- operations ---------------------------------------------------------------------------
    def describe_experiment(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params["ExperimentName"]
        found = next((e for e in self._experiments(ctx) if e.name == name), None)
        if found is None:
            raise EntityNotFound(f"Experiment '{name}' does not exist.")
        return self._experiment(found, ctx)

    def describe_trial(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params["TrialName"]
        found = next((t for t in self._trials(ctx) if t.name == name), None)
        if found is None:
            raise EntityNotFound(f"Trial '{name}' does not exist.")
        described = self._trial(found, ctx)
        if found.source_execution_arn:
            described["Source"] = {
                "SourceArn": found.source_execution_arn,
                "SourceType": "SageMakerPipelineExecution",
            }
        return described

    def describe_trial_component(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params["TrialComponentName"]
        found = next((c for c in self._components(ctx) if c.name == name), None)
        if found is None:
            raise EntityNotFound(f"TrialComponent '{name}' does not exist.")
        summary = self._component(found, ctx)
        source = summary.pop("TrialComponentSource", None)
        if source:
            summary["Source"] = source
        return summary

    def list_experiments(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        records = _ordered(self._experiments(ctx), params, lambda e: (e.created_at, e.name), lambda e: e.name)
        items, token = page_of(records, params, f"experiments:{ctx.account_id}")
        summaries = [self._experiment(e, ctx) for e in items]
        for summary in summaries:
            summary["ExperimentSource"] = summary.pop("Source", None)
        return {"ExperimentSummaries": summaries, "NextToken": token}

    def list_trials(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        trials = self._trials(ctx)
        if params.get("ExperimentName"):
            trials = [t for t in trials if t.experiment_name == params["ExperimentName"]]
        if params.get("TrialComponentName"):
            wanted = {c.trial_name for c in self._components(ctx) if c.name == params["TrialComponentName"]}
            trials = [t for t in trials if t.name in wanted]
        records = _ordered(trials, params, lambda t: (t.created_at, t.name), lambda t: t.name)
        items, token = page_of(records, params, f"trials:{ctx.account_id}")
        summaries = []
        for trial in items:
            summary = self._trial(trial, ctx)
            del summary["ExperimentName"]
            if trial.source_execution_arn:
                summary["TrialSource"] = {
                    "SourceArn": trial.source_execution_arn,
                    "SourceType": "SageMakerPipelineExecution",
                }
            summaries.append(summary)
        return {"TrialSummaries": summaries, "NextToken": token}

    def list_trial_components(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        components = self._components(ctx)
        if params.get("TrialName"):
            components = [c for c in components if c.trial_name == params["TrialName"]]
        if params.get("ExperimentName"):
            components = [c for c in components if c.experiment_name == params["ExperimentName"]]
        summaries = [self._component(c, ctx) for c in components]
        if params.get("SourceArn"):
            wanted = params["SourceArn"].lower()
            summaries = [
                s
                for s in summaries
                if s.get("TrialComponentSource", {}).get("SourceArn", "").lower() == wanted
            ]
        key = params.get("SortBy", "CreationTime")
        summaries.sort(
            key=lambda s: (s["TrialComponentName"],)
            if key == "Name"
            else (s["CreationTime"], s["TrialComponentName"]),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        items, token = page_of(summaries, params, f"runs:{ctx.account_id}")
        return {"TrialComponentSummaries": items, "NextToken": token}


def _ordered(
    records: list[T], params: dict[str, Any], by_time: Callable[[T], Any], by_name: Callable[[T], Any]
) -> list[T]:
    key = by_name if params.get("SortBy") == "Name" else by_time
    return sorted(records, key=key, reverse=params.get("SortOrder", "Descending") == "Descending")


EXPERIMENT_OPERATIONS = (
    "DescribeExperiment",
    "DescribeTrial",
    "DescribeTrialComponent",
    "ListExperiments",
    "ListTrials",
    "ListTrialComponents",
)

__all__ = ["EXPERIMENT_OPERATIONS", "EntityNotFound", "ExperimentOperations"]
