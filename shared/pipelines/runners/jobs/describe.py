"""The Describe*Job responses that are a job step's properties.

``Steps.Train.ModelArtifacts.S3ModelArtifacts`` and friends are paths into these, so they carry
the request as the service echoes it (the Create* request members the Describe response has)
plus the service's own fields: ARN, status, times, failure reason, artifacts and metrics.
Times are ISO-8601 strings, like the rest of the embedded runtime's records.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import botocore.session

from pipelines.config import Config

_JOB_KINDS = {
    "ProcessingJob": ("processing-job", "DescribeProcessingJob"),
    "TrainingJob": ("training-job", "DescribeTrainingJob"),
    "TransformJob": ("transform-job", "DescribeTransformJob"),
    "TuningJob": ("hyper-parameter-tuning-job", "DescribeHyperParameterTuningJob"),
}


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def job_arn(config: Config, kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<kind>/<name lowercased>``, as the service writes it."""
    resource = _JOB_KINDS[kind][0]
    return f"arn:aws:sagemaker:{config.region}:{config.account_id}:{resource}/{name.lower()}"


@functools.lru_cache(maxsize=8)
def _output_members(operation: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model(operation).output_shape
    return frozenset(shape.members) if shape is not None else frozenset()


def echo_request(operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The request members that the Describe response also has."""
    members = _output_members(operation)
    return {k: v for k, v in request.items() if k in members and v is not None}


@dataclass
class JobTimes:
    created: datetime = field(default_factory=now)
    started: datetime | None = None
    ended: datetime | None = None

    def start(self) -> None:
        self.started = now()

    def end(self) -> None:
        self.ended = now()

    @property
    def seconds(self) -> int:
        if self.started is None:
            return 0
        return max(0, int(((self.ended or now()) - self.started).total_seconds()))


def processing_job(
    config: Config,
    name: str,
    request: Mapping[str, Any],
    times: JobTimes,
    *,
    status: str,
    failure_reason: str | None = None,
    exit_message: str | None = None,
    experiment_config: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out = echo_request("DescribeProcessingJob", request)
    out.update(
        ProcessingJobName=name,
        ProcessingJobArn=job_arn(config, "ProcessingJob", name),
        ProcessingJobStatus=status,
        CreationTime=iso(times.created),
        LastModifiedTime=iso(times.ended or now()),
    )
    if times.started:
        out["ProcessingStartTime"] = iso(times.started)
    if times.ended:
        out["ProcessingEndTime"] = iso(times.ended)
    if failure_reason:
        out["FailureReason"] = failure_reason
    if exit_message:
        out["ExitMessage"] = exit_message
    if experiment_config:
        out["ExperimentConfig"] = dict(experiment_config)
    return out


def training_job(
    config: Config,
    name: str,
    request: Mapping[str, Any],
    times: JobTimes,
    *,
    status: str,
    secondary_status: str,
    model_artifacts: str | None = None,
    final_metrics: list[dict[str, Any]] | None = None,
    failure_reason: str | None = None,
    tuning_job_arn: str | None = None,
    experiment_config: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out = echo_request("DescribeTrainingJob", request)
    out.update(
        TrainingJobName=name,
        TrainingJobArn=job_arn(config, "TrainingJob", name),
        TrainingJobStatus=status,
        SecondaryStatus=secondary_status,
        CreationTime=iso(times.created),
        LastModifiedTime=iso(times.ended or now()),
        TrainingTimeInSeconds=times.seconds,
        BillableTimeInSeconds=times.seconds,
    )
    out.setdefault("HyperParameters", {})
    if times.started:
        out["TrainingStartTime"] = iso(times.started)
    if times.ended:
        out["TrainingEndTime"] = iso(times.ended)
    if model_artifacts:
        out["ModelArtifacts"] = {"S3ModelArtifacts": model_artifacts}
    if final_metrics is not None:
        out["FinalMetricDataList"] = final_metrics
    if failure_reason:
        out["FailureReason"] = failure_reason
    if tuning_job_arn:
        out["TuningJobArn"] = tuning_job_arn
    if experiment_config:
        out["ExperimentConfig"] = dict(experiment_config)
    return out


def transform_job(
    config: Config,
    name: str,
    request: Mapping[str, Any],
    times: JobTimes,
    *,
    status: str,
    failure_reason: str | None = None,
    experiment_config: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out = echo_request("DescribeTransformJob", request)
    out.update(
        TransformJobName=name,
        TransformJobArn=job_arn(config, "TransformJob", name),
        TransformJobStatus=status,
        CreationTime=iso(times.created),
    )
    if times.started:
        out["TransformStartTime"] = iso(times.started)
    if times.ended:
        out["TransformEndTime"] = iso(times.ended)
    if failure_reason:
        out["FailureReason"] = failure_reason
    if experiment_config:
        out["ExperimentConfig"] = dict(experiment_config)
    return out


def tuning_job(
    config: Config,
    name: str,
    request: Mapping[str, Any],
    times: JobTimes,
    *,
    status: str,
    summaries: list[dict[str, Any]],
    best: dict[str, Any] | None,
    counters: dict[str, int],
    objective_counters: dict[str, int],
    failure_reason: str | None = None,
) -> dict[str, Any]:
    out = echo_request("DescribeHyperParameterTuningJob", request)
    out.update(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobArn=job_arn(config, "TuningJob", name),
        HyperParameterTuningJobStatus=status,
        CreationTime=iso(times.created),
        LastModifiedTime=iso(times.ended or now()),
        TrainingJobStatusCounters=counters,
        ObjectiveStatusCounters=objective_counters,
        # ListTrainingJobsForHyperParameterTuningJob, best first: what get_top_model_s3_uri indexes
        TrainingJobSummaries=summaries,
    )
    if times.ended:
        out["HyperParameterTuningEndTime"] = iso(times.ended)
    if best is not None:
        out["BestTrainingJob"] = best
    if failure_reason:
        out["FailureReason"] = failure_reason
    return out


def metadata(kind: str, arn: str) -> dict[str, Any]:
    """The PipelineExecutionStep.Metadata member: {"TrainingJob": {"Arn": ...}}."""
    return {kind: {"Arn": arn}}
