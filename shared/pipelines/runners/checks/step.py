"""QualityCheck and ClarifyCheck steps in the embedded runtime: a local check job between the
shared plan and outcome of ``pipelines.checks`` (which the cloud runtime applies around the real
containers too).

The step's Arguments are a CreateProcessingJob request for the Model Monitor analyzer or the
Clarify image. Locally the job runs ``_analyzer.py`` (this package's analyzers) through the
Processing runner, so it is staged, sandboxed, logged, stopped and uploaded like any
Processing job; the image's ``[images]`` entry, if any, picks its interpreter. What differs from
the cloud is only how the job runs: the analyzer as its entrypoint, the local model registry for
registered baselines, the local object root for files.

ClarifyCheck ``MODEL_BIAS`` and ``MODEL_EXPLAINABILITY`` query the model named by the step's
``ModelName`` through a shadow endpoint (shadow.py), whose URL the job reads from
``PIPELINES_CLARIFY_ENDPOINT_URL``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pipelines.checks import (
    CLARIFY_CHECK,
    MODEL_CHECK_TYPES,
    QUALITY_CHECK,
    Baseline,
    CheckKind,
    CheckPlan,
    check_metadata,
    check_result,
    plan_check,
    staged_arguments,
)
from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.registry import ModelRegistry
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult
from pipelines.runners.checks import shadow
from pipelines.runners.jobs.processing import ProcessingRunner
from pipelines.runners.jobs.records import tracked_job

ANALYZER = Path(__file__).with_name("_analyzer.py")


class CheckStepRunner:
    """What QualityCheck and ClarifyCheck share; subclasses name their kind and analyzer."""

    kind: ClassVar[CheckKind]
    step_type: ClassVar[str]
    analyzer: ClassVar[str]  # the _analyzer.py mode

    def __init__(self) -> None:
        self._processing = ProcessingRunner()

    def check(self, step: Step, config: Config) -> str | None:
        return None  # the analyzers run on this interpreter; inputs are checked when the step runs

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        plan = plan_check(
            self.kind,
            request.step_name,
            request.arguments,
            request.step_fields,
            registry=lambda: ModelRegistry.from_config(ctx.config),
            objects=ctx.objects,
            check_type=str(getattr(request.step, "check_type", "") or ""),
        )
        ctx.log(plan.line())
        arguments = self._job_arguments(request.arguments, plan.checking)
        with self._endpoint(request, plan, ctx) as endpoint_env:
            if endpoint_env:
                arguments = {
                    **arguments,
                    "Environment": {**(arguments.get("Environment") or {}), **endpoint_env},
                }
            try:
                job = self._run_job(dataclasses.replace(request, arguments=arguments), ctx)
            except StepFailed as exc:
                arn = (exc.metadata.get("ProcessingJob") or {}).get("Arn")
                exc.metadata = check_metadata(plan, arn)
                raise
        job_arn = str(job.properties.get("ProcessingJobArn", ""))
        return check_result(plan, job_arn, ctx.objects, log=ctx.log)

    def _run_job(self, request: StepRequest, ctx: RunContext) -> StepResult:
        """The check job as a Processing job, recorded like one (DescribeProcessingJob,
        StopProcessingJob and ``pipelines logs`` find it), as a tuning job records its trials."""
        if ctx.jobs is None:
            return self._processing.run(request, ctx)
        with tracked_job(ctx.jobs, "ProcessingJob", request, ctx) as tracked:
            result = self._processing.run(request, tracked.ctx)
            tracked.completed(result.properties)
        return result

    def _job_arguments(self, arguments: Mapping[str, Any], baseline: Baseline | None) -> dict[str, Any]:
        """The request as the local job runs it: the baseline staged as for the containers, and
        our analyzer as the entrypoint."""
        staged = staged_arguments(arguments, baseline)
        app = dict(staged.get("AppSpecification") or {})
        app["ContainerEntrypoint"] = ["python3", str(ANALYZER), self.analyzer]
        app.pop("ContainerArguments", None)
        return {**staged, "AppSpecification": app}

    @contextmanager
    def _endpoint(self, request: StepRequest, plan: CheckPlan, ctx: RunContext) -> Iterator[dict[str, str]]:
        model_name = plan.flags.model_name
        if plan.flags.check_type not in MODEL_CHECK_TYPES or model_name is None:  # plan_check needs it
            yield {}
            return
        # Imported here: the Clarify analysis imports pandas and numpy (0.3 s), which every
        # runtime would otherwise pay at start-up to register this runner.
        from pipelines.runners.checks.clarify import ENDPOINT_VARIABLE

        with shadow.shadow_endpoint(model_name, request, ctx) as url:
            yield {ENDPOINT_VARIABLE: url}


class QualityCheckRunner(CheckStepRunner):
    kind: ClassVar[CheckKind] = QUALITY_CHECK
    step_type: ClassVar[str] = QUALITY_CHECK.step_type
    analyzer: ClassVar[str] = "model-monitor"


class ClarifyCheckRunner(CheckStepRunner):
    kind: ClassVar[CheckKind] = CLARIFY_CHECK
    step_type: ClassVar[str] = CLARIFY_CHECK.step_type
    analyzer: ClassVar[str] = "clarify"
