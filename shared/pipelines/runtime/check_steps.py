"""QualityCheck and ClarifyCheck in the cloud: the shared plan and outcome (``pipelines.checks``)
around the Model Monitor / Clarify container that the StepRunner's Processing route runs.

The embedded runner and this module differ only in how the job runs and where files and
registered baselines are read from:

* **Launch** (:func:`prepare_check`, from ``CloudRuntime._run_step``): ``plan_check`` with
  SageMaker's model registry and S3, both as the pipeline's role, so the previous baseline is
  the latest Approved package's ``DriftCheckBaselines`` as the service reads it. A step that
  needs a baseline it cannot have fails here, before any job. The container request gets the
  baseline staged by the Model Monitor contract (``staged_arguments``), and the previous
  baseline rides in the StepRunner input's ``report`` (``checkBaseline``), so the outcome
  describes the baseline this job actually checked against, whatever the registry holds by
  the time the job ends.
* **Report** (:func:`check_outcome`, from ``CloudRuntime._task_outcome``): after the job
  completed, ``check_result`` reads ``constraint_violations.json`` from S3 as the pipeline's
  role and sets the ``CalculatedBaseline*``/``BaselineUsedForDriftCheck*`` properties and the
  step's ``Metadata.QualityCheck``/``ClarifyCheck``; violations with ``FailOnViolation`` fail
  the step with the service's reason. A job that failed keeps its FailureReason and gets the
  same metadata, with its ``CheckJobArn``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from pipelines.checks import CHECK_KINDS, Baseline, check_metadata, check_result, plan_check, staged_arguments
from pipelines.checks.semantics import restored_plan
from pipelines.objects.s3 import S3ObjectStore
from pipelines.registry import RegistryNotFound
from pipelines.runners.base import StepFailed, StepRequest, StepResult
from pipelines.store.base import StepRecord

ClientAsPipelineRole = Callable[[str], Any]
"""service name -> a boto3 client acting as the pipeline's role."""

REPORT_MEMBER = "checkBaseline"
"""The StepRunner report member that carries the previous baseline from launch to outcome."""


def is_check_step(step_type: str) -> bool:
    return step_type in CHECK_KINDS


class SageMakerRegistry:
    """SageMaker's model registry as :class:`pipelines.checks.BaselineRegistry` (one client, as
    the pipeline's role): a group's Approved versions newest first, read page by page only as
    far as the lookup goes."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def list_model_packages(self, group: str) -> Iterator[Mapping[str, Any]]:
        pages = self.client.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
        )
        for page in pages:
            yield from page.get("ModelPackageSummaryList", [])

    def describe_model_package(self, name_or_arn: str) -> Mapping[str, Any]:
        try:
            described: Mapping[str, Any] = self.client.describe_model_package(ModelPackageName=name_or_arn)
        except ClientError as exc:
            if _code(exc) in ("ValidationException", "ResourceNotFound"):
                raise RegistryNotFound(f"ModelPackage {name_or_arn} does not exist.") from exc
            raise
        return described


@dataclass(frozen=True)
class PreparedCheck:
    """A check attempt ready for its StepRunner: the container request with the baseline
    staged, and what its report must carry back."""

    arguments: dict[str, Any]
    report: dict[str, Any] = field(default_factory=dict)


def prepare_check(request: StepRequest, client: ClientAsPipelineRole) -> PreparedCheck:
    """The launch half (module docstring); StepFailed when the attempt cannot run."""
    kind = CHECK_KINDS[request.step_type]
    try:
        plan = plan_check(
            kind,
            request.step_name,
            request.arguments,
            request.step_fields,
            registry=lambda: SageMakerRegistry(client("sagemaker")),
            objects=S3ObjectStore(client("s3")),
            check_type=str(getattr(request.step, "check_type", "") or ""),
        )
    except ClientError as exc:
        raise StepFailed(
            f"step {request.step_name}: the previous baseline could not be read as the pipeline's role: "
            f"{_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}",
            error_code=_code(exc) or None,
        ) from exc
    report = {REPORT_MEMBER: plan.previous.to_json()} if plan.previous is not None else {}
    return PreparedCheck(staged_arguments(request.arguments, plan.checking), report)


def check_outcome(
    record: StepRecord,
    previous: Mapping[str, Any] | None,
    outcome: StepResult | StepFailed,
    client: ClientAsPipelineRole,
    *,
    job_arn: str | None = None,
) -> StepResult | StepFailed:
    """The report half (module docstring): ``outcome`` is what the Processing route's result or
    error means; ``previous`` is the report's ``checkBaseline``; ``job_arn`` the failed job's."""
    kind = CHECK_KINDS[record.step_type]
    try:
        plan = restored_plan(
            kind,
            record.step_name,
            record.arguments,
            record.step_fields,
            Baseline.from_json(previous) if previous else None,
            check_type=str(record.step_fields.get("CheckType") or ""),
        )
        if isinstance(outcome, StepFailed):
            outcome.metadata = check_metadata(plan, job_arn)
            return outcome
        arn = outcome.properties.get("ProcessingJobArn")
        return check_result(plan, arn if isinstance(arn, str) else None, S3ObjectStore(client("s3")))
    except StepFailed as exc:
        return exc
    except ClientError as exc:
        return StepFailed(
            f"step {record.step_name}: the check job's results could not be read as the pipeline's role: "
            f"{_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}",
            error_code=_code(exc) or None,
        )


def failed_job_arn(error: Any) -> str | None:
    """The ProcessingJobArn in a ``.sync`` Task's failure cause (the DescribeProcessingJob JSON)."""
    cause = error.get("Cause") if isinstance(error, Mapping) else None
    try:
        described = json.loads(cause) if isinstance(cause, str) else None
    except ValueError:
        return None
    arn = described.get("ProcessingJobArn") if isinstance(described, dict) else None
    return arn if isinstance(arn, str) else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
