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

from pipelines import aws
from pipelines.config import Config
from pipelines.engine.ids import sagemaker_arn
from pipelines.runners.base import StepRequest


@dataclass(frozen=True)
class JobKind:
    """How one kind of job is named on the wire."""

    resource: str  # the ARN's resource type
    operation: str  # its Describe operation
    prefix: str  # member prefix: <prefix>Name, <prefix>Arn, <prefix>Status
    start_member: str | None
    end_member: str
    step_type: str  # the pipeline step type whose job this is


JOB_KINDS = {
    "ProcessingJob": JobKind(
        "processing-job",
        "DescribeProcessingJob",
        "ProcessingJob",
        "ProcessingStartTime",
        "ProcessingEndTime",
        "Processing",
    ),
    "TrainingJob": JobKind(
        "training-job",
        "DescribeTrainingJob",
        "TrainingJob",
        "TrainingStartTime",
        "TrainingEndTime",
        "Training",
    ),
    "TransformJob": JobKind(
        "transform-job",
        "DescribeTransformJob",
        "TransformJob",
        "TransformStartTime",
        "TransformEndTime",
        "Transform",
    ),
    "TuningJob": JobKind(
        "hyper-parameter-tuning-job",
        "DescribeHyperParameterTuningJob",
        "HyperParameterTuningJob",
        None,
        "HyperParameterTuningEndTime",
        "Tuning",
    ),
}
KIND_OF_STEP = {spec.step_type: kind for kind, spec in JOB_KINDS.items()}


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def job_arn(config: Config, kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<kind>/<name lowercased>``, as the service writes it."""
    return sagemaker_arn(config.region, config.account_id, JOB_KINDS[kind].resource, name)


@functools.lru_cache(maxsize=8)
def _output_members(operation: str) -> frozenset[str]:
    model = aws.service_model("sagemaker")
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


def job_description(
    config: Config,
    kind: str,
    request: StepRequest,
    arguments: Mapping[str, Any],
    times: JobTimes,
    *,
    status: str,
    failure_reason: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The Describe*Job response of the step attempt's job of ``kind`` (``ProcessingJob``,
    ``TrainingJob``, ``TransformJob``, ``TuningJob``): the echoed Create* ``arguments``, the
    service's name/ARN/status/time members under the kind's own member names, the attempt's
    ExperimentConfig where the response has one, then ``fields`` (the kind's extras: artifacts,
    metrics, counters...; ``None`` values are left out)."""
    spec = JOB_KINDS[kind]
    members = _output_members(spec.operation)
    out = echo_request(spec.operation, arguments)
    name = request.job_name
    experiment_config = request.experiment_config
    out.update(
        {
            f"{spec.prefix}Name": name,
            f"{spec.prefix}Arn": job_arn(config, kind, name),
            f"{spec.prefix}Status": status,
            "CreationTime": iso(times.created),
        }
    )
    if "LastModifiedTime" in members:
        out["LastModifiedTime"] = iso(times.ended or now())
    if times.started and spec.start_member:
        out[spec.start_member] = iso(times.started)
    if times.ended:
        out[spec.end_member] = iso(times.ended)
    if failure_reason:
        out["FailureReason"] = failure_reason[:1024]
    if experiment_config and "ExperimentConfig" in members:
        out["ExperimentConfig"] = dict(experiment_config)
    out.update({key: value for key, value in fields.items() if value is not None})
    return out


def training_fields(
    times: JobTimes,
    *,
    secondary_status: str,
    model_artifacts: str | None,
    final_metrics: list[dict[str, Any]] | None = None,
    tuning_job_arn: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """DescribeTrainingJob's own members beyond the common ones."""
    return {
        "SecondaryStatus": secondary_status,
        "TrainingTimeInSeconds": times.seconds,
        "BillableTimeInSeconds": times.seconds,
        "HyperParameters": dict(hyperparameters or {}),
        "ModelArtifacts": {"S3ModelArtifacts": model_artifacts} if model_artifacts else None,
        "FinalMetricDataList": final_metrics,
        "TuningJobArn": tuning_job_arn,
    }


def model_artifacts_uri(request: Mapping[str, Any], job_name: str) -> str | None:
    """``<S3OutputPath>/<job>/output/model.tar.gz``: where SageMaker puts a training job's model."""
    output = request.get("OutputDataConfig")
    path = output.get("S3OutputPath") if isinstance(output, Mapping) else None
    return f"{str(path).rstrip('/')}/{job_name}/output/model.tar.gz" if path else None


def metadata(kind: str, arn: str) -> dict[str, Any]:
    """The PipelineExecutionStep.Metadata member: {"TrainingJob": {"Arn": ...}}."""
    return {kind: {"Arn": arn}}
