"""AutoML jobs the embedded runtime ran (an AutoML step's job: pipelines.runners.automl):
DescribeAutoMLJob, DescribeAutoMLJobV2, ListAutoMLJobs, ListCandidatesForAutoMLJob and
StopAutoMLJob over the job records, so the SDK's ``AutoML.attach()``, ``describe_auto_ml_job()``
and ``list_candidates()`` work after a run. Served by ``pipelines serve`` only: in the cloud the
service itself runs the job.
"""

from __future__ import annotations

from typing import Any

from pipelines.api.ops.context import Operations, page_of
from pipelines.api.ops.jobs import JobApi, JobOperations, JobSource
from pipelines.api.validation import service_model
from pipelines.api.wire import CallContext, Handler
from pipelines.errors import ResourceNotFound

AUTOML_API = JobApi("AutoMLJob", "AutoMLJob", "AutoMLJobSummary", "EndTime")
CANDIDATES = "Candidates"  # every candidate, kept in the record beside the Describe members


class AutoMLOperations:
    def __init__(self, ops: Operations, jobs: JobSource) -> None:
        self.jobs = jobs
        self.generic = JobOperations(ops, jobs)

    def handlers(self) -> dict[str, Handler]:
        return {
            **self.generic.handlers_for(AUTOML_API),
            "DescribeAutoMLJobV2": self.describe_v2,
            "ListCandidatesForAutoMLJob": self.list_candidates,
        }

    def _record(self, name: str, ctx: CallContext) -> dict[str, Any]:
        record = self.jobs.get(AUTOML_API.kind, name)
        arn = str(record.describe.get("AutoMLJobArn", "")) if record is not None else ""
        if record is None or arn.split(":")[4:5] != [ctx.account_id]:
            raise ResourceNotFound(f"Could not find requested job with name {name}")
        return dict(record.describe)

    def describe_v2(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        describe = self._record(params["AutoMLJobName"], ctx)
        if "AutoMLProblemTypeConfig" not in describe:  # a V1 request: its V2 view
            config = describe.get("AutoMLJobConfig") or {}
            channels = describe.get("InputDataConfig") or []
            tabular: dict[str, Any] = {
                "TargetAttributeName": channels[0].get("TargetAttributeName") if channels else None,
                "CompletionCriteria": config.get("CompletionCriteria") or {},
            }
            for member, value in (("ProblemType", describe.get("ProblemType")), ("Mode", config.get("Mode"))):
                if value:
                    tabular[member] = value
            resolved = describe.get("ResolvedAttributes") or {}
            describe.update(
                AutoMLJobInputDataConfig=[
                    {
                        k: v
                        for k, v in c.items()
                        if k not in ("TargetAttributeName", "SampleWeightAttributeName")
                    }
                    for c in channels
                ],
                AutoMLProblemTypeConfig={"TabularJobConfig": tabular},
                AutoMLProblemTypeConfigName="Tabular",
                ResolvedAttributes={
                    "AutoMLJobObjective": resolved.get("AutoMLJobObjective"),
                    "CompletionCriteria": resolved.get("CompletionCriteria") or {},
                    "AutoMLProblemTypeResolvedAttributes": {
                        "TabularResolvedAttributes": {"ProblemType": resolved.get("ProblemType")}
                    },
                },
            )
        shape = service_model("sagemaker").operation_model("DescribeAutoMLJobV2").output_shape
        members = set(shape.members) if shape is not None else set()
        return {k: v for k, v in describe.items() if k in members}

    def list_candidates(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        describe = self._record(params["AutoMLJobName"], ctx)
        candidates = list(describe.get(CANDIDATES) or [])
        if params.get("StatusEquals"):
            candidates = [c for c in candidates if c.get("CandidateStatus") == params["StatusEquals"]]
        if params.get("CandidateNameEquals"):
            candidates = [c for c in candidates if c.get("CandidateName") == params["CandidateNameEquals"]]
        descending = params.get("SortOrder") == "Descending"
        keys: dict[str, Any] = {
            "FinalObjectiveMetricValue": lambda c: (c.get("FinalAutoMLJobObjectiveMetric") or {}).get(
                "Value", float("-inf")
            ),
            "Status": lambda c: str(c.get("CandidateStatus")),
            "CreationTime": lambda c: str(c.get("CreationTime")),
        }
        key = keys.get(params.get("SortBy", "Default"))
        if key is not None:  # stable: ties keep the search's order, whichever the direction
            candidates.sort(key=key, reverse=descending)
        elif descending:
            candidates.reverse()
        members = set(service_model("sagemaker").shape_for("AutoMLCandidate").members)  # type: ignore[attr-defined]
        page, token = page_of(
            [{k: v for k, v in c.items() if k in members} for c in candidates],
            params,
            f"ListCandidatesForAutoMLJob:{params['AutoMLJobName']}",
        )
        return {"Candidates": page, "NextToken": token}


def automl_handlers(ops: Operations, jobs: JobSource) -> dict[str, Handler]:
    return AutoMLOperations(ops, jobs).handlers()
