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

ClarifyCheck ``MODEL_BIAS``/``MODEL_EXPLAINABILITY``: the container serves the step's
``ModelName`` on its own shadow endpoint, named in the analysis config (:func:`with_model_name`);
the embedded runner serves it on a local one instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from pipelines.checks import (
    CHECK_KINDS,
    MODEL_CHECK_TYPES,
    Baseline,
    check_metadata,
    check_result,
    plan_check,
    restored_plan,
    staged_arguments,
)
from pipelines.objects.base import ObjectNotFound
from pipelines.objects.s3 import S3ObjectStore
from pipelines.registry import RegistryNotFound
from pipelines.runners.base import StepFailed, StepRequest, StepResult
from pipelines.runners.jobs.channels import join_uri
from pipelines.store.base import StepRecord

ClientAsPipelineRole = Callable[[str], Any]
"""service name -> a boto3 client acting as the pipeline's role."""

CLARIFY_CONFIG_INPUT = "analysis_config"
CLARIFY_CONFIG_FILE = "analysis_config.json"
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
        arguments = staged_arguments(request.arguments, plan.checking)
        if plan.flags.check_type in MODEL_CHECK_TYPES and plan.flags.model_name is not None:
            arguments = with_model_name(
                request.step_name,
                arguments,
                plan.flags.model_name,
                request.job_name,
                S3ObjectStore(client("s3")),
            )
    except ClientError as exc:
        raise _refused(request.step_name, "the check's inputs could not be prepared", exc) from exc
    report = {REPORT_MEMBER: plan.previous.to_json()} if plan.previous is not None else {}
    return PreparedCheck(arguments, report)


def with_model_name(
    step_name: str, arguments: Mapping[str, Any], model_name: str, job_name: str, objects: S3ObjectStore
) -> dict[str, Any]:
    """The request with Clarify's analysis config naming the model its shadow endpoint serves.

    The SDK removes ``predictor.model_name`` from the ``analysis_config.json`` it uploads and
    puts the model in the step's ``ModelName`` instead (often a ``Get`` of a Model step), so the
    config the container reads must be completed at run time: a copy with the resolved name is
    written beside the original, under the attempt's job name (the original stays as uploaded,
    and a retried attempt writes its own), and the ``analysis_config`` input points to it."""
    inputs = [dict(item) for item in arguments.get("ProcessingInputs") or []]
    for item in inputs:
        source = item.get("S3Input") or {}
        if item.get("InputName") != CLARIFY_CONFIG_INPUT or not isinstance(source.get("S3Uri"), str):
            continue
        uri = str(source["S3Uri"])
        config_uri = uri if uri.endswith(".json") else join_uri(uri, CLARIFY_CONFIG_FILE)
        try:
            config = json.loads(objects.get(config_uri))
        except ObjectNotFound as exc:
            raise StepFailed(
                f"step {step_name}: the Clarify analysis config {config_uri} does not exist",
                error_code="ClientError",
            ) from exc
        except ValueError as exc:
            raise StepFailed(
                f"step {step_name}: the Clarify analysis config {config_uri} is not valid JSON: {exc}",
                error_code="ClientError",
            ) from exc
        if not isinstance(config, dict):
            raise StepFailed(
                f"step {step_name}: the Clarify analysis config {config_uri} is not a JSON object"
            )
        predictor = dict(config.get("predictor") or {})
        predictor["model_name"] = model_name
        completed = join_uri(config_uri.rsplit("/", 1)[0], f"{job_name}/{CLARIFY_CONFIG_FILE}")
        objects.put(completed, json.dumps({**config, "predictor": predictor}, indent=2).encode())
        item["S3Input"] = {**source, "S3Uri": completed}
        return {**arguments, "ProcessingInputs": inputs}
    raise StepFailed(
        f"step {step_name}: the Clarify job has no {CLARIFY_CONFIG_INPUT!r} ProcessingInput to name the model in",
        error_code="ValidationException",
    )


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
        return _refused(record.step_name, "the check job's results could not be read", exc)


def failed_job_arn(error: Any) -> str | None:
    """The ProcessingJobArn in a ``.sync`` Task's failure cause (the DescribeProcessingJob JSON)."""
    cause = error.get("Cause") if isinstance(error, Mapping) else None
    try:
        described = json.loads(cause) if isinstance(cause, str) else None
    except ValueError:
        return None
    arn = described.get("ProcessingJobArn") if isinstance(described, dict) else None
    return arn if isinstance(arn, str) else None


def _refused(step_name: str, what: str, exc: ClientError) -> StepFailed:
    """An AWS call the check made as the pipeline's role was refused: the step fails, naming it."""
    message = exc.response.get("Error", {}).get("Message", "")
    return StepFailed(
        f"step {step_name}: {what} as the pipeline's role: {_code(exc)}: {message}",
        error_code=_code(exc) or None,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
