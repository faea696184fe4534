"""Describe*, List* and Stop* for the jobs pipelines run: processing, training, transform and
hyperparameter tuning jobs, plus ListTrainingJobsForHyperParameterTuningJob.

The answers are the runtime's job records (:class:`JobSource`): the same Describe*Job responses
that are the steps' properties, so ``Steps.Train.ModelArtifacts...`` and DescribeTrainingJob
agree. Summaries are those responses projected onto the List* summary shapes of botocore's
model; filters, sorting and NextToken paging follow the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.utils import parse_to_aware_datetime

from pipelines.api.ops.context import Operations, page_of
from pipelines.api.validation import service_model
from pipelines.api.wire import CallContext, Handler
from pipelines.errors import ResourceNotFound, ValidationError


class JobRecordView(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def parent(self) -> str | None: ...

    @property
    def describe(self) -> dict[str, Any]: ...


class JobSource(Protocol):
    """Where job records come from (``pipelines.runners.jobs.records.JobRecords`` locally)."""

    def get(self, kind: str, name: str) -> JobRecordView | None: ...

    def of_kind(self, kind: str, *, parent: str | None = None) -> list[Any]: ...

    def request_stop(self, kind: str, name: str) -> JobRecordView | None: ...


@dataclass(frozen=True)
class JobApi:
    """One job kind on the wire: its operations and member names."""

    kind: str  # the records' kind
    noun: str  # ProcessingJob / TrainingJob / TransformJob / HyperParameterTuningJob
    summary_shape: str
    end_member: str

    @property
    def describe_operation(self) -> str:
        return f"Describe{self.noun}"

    @property
    def list_operation(self) -> str:
        return f"List{self.noun}s"

    @property
    def stop_operation(self) -> str:
        return f"Stop{self.noun}"


JOB_APIS = (
    JobApi("ProcessingJob", "ProcessingJob", "ProcessingJobSummary", "ProcessingEndTime"),
    JobApi("TrainingJob", "TrainingJob", "TrainingJobSummary", "TrainingEndTime"),
    JobApi("TransformJob", "TransformJob", "TransformJobSummary", "TransformEndTime"),
    JobApi(
        "TuningJob",
        "HyperParameterTuningJob",
        "HyperParameterTuningJobSummary",
        "HyperParameterTuningEndTime",
    ),
)
_RUNNING = frozenset({"InProgress", "Stopping"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _members(shape_name: str) -> frozenset[str]:
    return frozenset(service_model("sagemaker").shape_for(shape_name).members)  # type: ignore[attr-defined]


def _output_members(operation: str) -> frozenset[str]:
    shape = service_model("sagemaker").operation_model(operation).output_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return parse_to_aware_datetime(value)


def epoch_ms(value: Any) -> int | None:
    """Milliseconds since the epoch: the precision times have on the wire."""
    moment = _moment(value)
    return None if moment is None else round(moment.timestamp() * 1000)


def _within(describe: dict[str, Any], params: dict[str, Any]) -> bool:
    """The List* time filters (After/Before are exclusive, as the service applies them)."""
    for key in ("CreationTime", "LastModifiedTime"):
        moment = epoch_ms(describe.get(key) or describe.get("CreationTime"))
        after, before = epoch_ms(params.get(f"{key}After")), epoch_ms(params.get(f"{key}Before"))
        if moment is None:
            continue
        if after is not None and not moment > after:
            return False
        if before is not None and not moment < before:
            return False
    return True


class JobOperations:
    """The job operations over a :class:`JobSource`."""

    def __init__(self, ops: Operations, jobs: JobSource) -> None:
        self.ops = ops
        self.jobs = jobs

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {}
        for api in JOB_APIS:
            handlers.update(self.handlers_for(api))
        handlers["ListTrainingJobsForHyperParameterTuningJob"] = self.list_training_jobs_for_tuning_job
        return handlers

    def handlers_for(self, api: JobApi) -> dict[str, Handler]:
        """Describe*, List* and Stop* of one job kind (also for kinds outside JOB_APIS, such as
        the embedded runtime's AutoML jobs: pipelines.api.ops.automl)."""
        return {
            api.describe_operation: self._describe(api),
            api.list_operation: self._list(api),
            api.stop_operation: self._stop(api),
        }

    # -- one kind ------------------------------------------------------------------------------
    def _record(self, api: JobApi, name: str, ctx: CallContext) -> JobRecordView:
        record = self.jobs.get(api.kind, name)
        if record is None or not _owned(record, api.noun, ctx):
            raise ResourceNotFound(f"Could not find requested job with name {name}")
        return record

    def _describe(self, api: JobApi) -> Handler:
        members = _output_members(api.describe_operation)

        def describe(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            record = self._record(api, params[f"{api.noun}Name"], ctx)
            return {k: v for k, v in record.describe.items() if k in members}

        return describe

    def _list(self, api: JobApi) -> Handler:
        members = _members(api.summary_shape)

        def list_jobs(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            contains = (params.get("NameContains") or "").lower()
            status = params.get("StatusEquals")
            summaries = []
            for record in self.jobs.of_kind(api.kind):
                if not _owned(record, api.noun, ctx) or (api.kind == "TrainingJob" and record.parent):
                    continue  # a tuning job's trials are listed by ListTrainingJobsForHyperParameterTuningJob
                describe = record.describe
                if contains and contains not in record.name.lower():
                    continue
                if status and record.status != status:
                    continue
                if not _within(describe, params):
                    continue
                summary = {k: v for k, v in describe.items() if k in members}
                if "Strategy" in members:
                    summary["Strategy"] = (describe.get("HyperParameterTuningJobConfig") or {}).get(
                        "Strategy", "Bayesian"
                    )
                summaries.append(summary)
            summaries.sort(
                key=_sort_key(params.get("SortBy", "CreationTime"), f"{api.noun}Name", f"{api.noun}Status"),
                reverse=params.get("SortOrder", "Descending") == "Descending",
            )
            page, token = page_of(summaries, params, api.list_operation)
            return {f"{api.noun}Summaries": page, "NextToken": token}

        return list_jobs

    def _stop(self, api: JobApi) -> Handler:
        def stop(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            name = params[f"{api.noun}Name"]
            self._record(api, name, ctx)
            record = self.jobs.request_stop(api.kind, name)
            if record is None:
                raise ResourceNotFound(f"Could not find requested job with name {name}")
            if record.status not in _RUNNING:
                raise ValidationError(
                    f"The request was rejected because the {api.noun.replace('Job', ' job').lower()} "
                    f"{record.name} is in status {record.status}."
                )
            return {}

        return stop

    # -- tuning trials -------------------------------------------------------------------------
    def list_training_jobs_for_tuning_job(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        tuning = self.jobs.get("TuningJob", params["HyperParameterTuningJobName"])
        if tuning is None or not _owned(tuning, "HyperParameterTuningJob", ctx):
            raise ResourceNotFound(
                f"Amazon SageMaker can't find a tuning job named {params['HyperParameterTuningJobName']}."
            )
        summaries = list(tuning.describe.get("TrainingJobSummaries") or [])
        if not summaries:  # still running: the trials recorded so far
            summaries = [
                _trial_summary(trial.describe, tuning.name)
                for trial in self.jobs.of_kind("TrainingJob", parent=tuning.name)
            ]
        status = params.get("StatusEquals")
        if status:
            summaries = [s for s in summaries if s.get("TrainingJobStatus") == status]
        sort_by = params.get("SortBy", "CreationTime")
        if sort_by == "FinalObjectiveMetricValue":
            key: Callable[[dict[str, Any]], Any] = lambda s: (  # noqa: E731
                (s.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value", float("-inf"))
            )
        else:
            key = _sort_key(sort_by, "TrainingJobName", "TrainingJobStatus")
        summaries.sort(key=key, reverse=params.get("SortOrder", "Descending") == "Descending")
        members = _members("HyperParameterTrainingJobSummary")
        page, token = page_of(
            [{k: v for k, v in s.items() if k in members} for s in summaries],
            params,
            f"ListTrainingJobsForHyperParameterTuningJob:{tuning.name}",
        )
        return {"TrainingJobSummaries": page, "NextToken": token}


def _owned(record: JobRecordView, noun: str, ctx: CallContext) -> bool:
    """Jobs belong to the account in their ARN; other accounts do not see them."""
    arn = str(record.describe.get(f"{noun}Arn", ""))
    return arn.split(":")[4:5] == [ctx.account_id]


def _trial_summary(describe: dict[str, Any], tuning_name: str) -> dict[str, Any]:
    summary: dict[str, Any] = {
        k: describe[k]
        for k in ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingStartTime", "TrainingEndTime")
        if k in describe
    }
    summary.update(
        TuningJobName=tuning_name,
        TrainingJobStatus=describe.get("TrainingJobStatus", "InProgress"),
        TunedHyperParameters=dict(describe.get("HyperParameters") or {}),
    )
    if describe.get("FailureReason"):
        summary["FailureReason"] = describe["FailureReason"]
    return summary


def _sort_key(sort_by: str, name_member: str, status_member: str) -> Callable[[dict[str, Any]], Any]:
    if sort_by == "Name":
        return lambda s: str(s.get(name_member, ""))
    if sort_by == "Status":
        return lambda s: (str(s.get(status_member, "")), str(s.get(name_member, "")))
    return lambda s: (_moment(s.get("CreationTime")) or _EPOCH, str(s.get(name_member, "")))


def job_handlers(ops: Operations, jobs: JobSource) -> dict[str, Handler]:
    """Operation name -> handler for every job operation."""
    return JobOperations(ops, jobs).handlers()
