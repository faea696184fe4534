"""QualityCheck and ClarifyCheck steps: a check job, then the Guide's baseline semantics.

The step's Arguments are a CreateProcessingJob request for the Model Monitor analyzer or the
Clarify image. Locally the job runs ``_analyzer.py`` (this package's analyzers) through the
Processing runner, so it is staged, sandboxed, logged, stopped and uploaded like any
Processing job; the image's ``[images]`` entry, if any, picks its interpreter.

Around the job (the Guide's "Controlling step behaviors for drift check" and "Baseline
calculation, drift detection and lifecycle"):

1. The previous baseline is resolved to URIs: ``Supplied*`` first, else the latest Approved
   version of ``ModelPackageGroupName`` (baselines.py). It is needed when ``SkipCheck`` is false
   (to check against) or ``RegisterNewBaseline`` is false (to hand on); a step that needs one and
   has none fails before the job, saying which flag needs it.
2. The job always runs and calculates the new baseline. When ``SkipCheck`` is false, the previous
   baseline's files are staged into the job (``/opt/ml/processing/baseline/...``, named by the
   ``baseline_constraints``/``baseline_statistics`` variables of the Model Monitor contract) and
   it writes ``constraint_violations.json`` beside its results. A missing file fails the step
   naming the URI; with ``SkipCheck`` nothing is read.
3. Properties (also the step's ``Metadata.QualityCheck``/``ClarifyCheck``):
   ``CalculatedBaselineConstraints`` = ``<output>/constraints.json`` (Clarify:
   ``<output>/analysis.json``), ``CalculatedBaselineStatistics`` = ``<output>/statistics.json``;
   ``BaselineUsedForDriftCheck*`` = the calculated ones if ``RegisterNewBaseline``, else the
   previous baseline's. ``ViolationReport`` is set when there are violations.
4. Violations with ``FailOnViolation`` (true unless false; the SDK's older definitions lack it)
   fail the step: ``ClientError: Quality check failed. See violation report at <uri>`` (Clarify:
   ``Clarify check failed``) followed by the violations, so the reason names them.

ClarifyCheck ``MODEL_BIAS`` and ``MODEL_EXPLAINABILITY`` query the model named by the step's
``ModelName`` through a shadow endpoint (shadow.py), whose URL the job reads from
``PIPELINES_CLARIFY_ENDPOINT_URL``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.expressions.parameters import boolean_value
from pipelines.objects.base import ObjectNotFound
from pipelines.registry import ModelRegistry
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult
from pipelines.runners.checks import shadow
from pipelines.runners.checks.baselines import Baseline, registered_baseline, supplied_baseline
from pipelines.runners.checks.clarify import ENDPOINT_VARIABLE
from pipelines.runners.jobs.channels import join_uri
from pipelines.runners.jobs.errors import CLIENT_ERROR, FAILURE_REASON_LIMIT, clip_reason
from pipelines.runners.jobs.processing import ProcessingRunner
from pipelines.runners.jobs.records import tracked_job

ANALYZER = Path(__file__).with_name("_analyzer.py")
VIOLATIONS_FILE = "constraint_violations.json"
BASELINE_ROOT = "/opt/ml/processing/baseline"
MODEL_CHECK_TYPES = frozenset({"MODEL_BIAS", "MODEL_EXPLAINABILITY"})


@dataclass(frozen=True)
class CheckFlags:
    """The step-level fields of one attempt, resolved."""

    check_type: str
    skip_check: bool
    register_new_baseline: bool
    fail_on_violation: bool
    model_package_group: str | None
    supplied: Baseline | None
    model_name: str | None

    @classmethod
    def of(cls, request: StepRequest) -> CheckFlags:
        fields = request.step_fields

        def flag(name: str, default: bool) -> bool:
            value = fields.get(name)
            if value is None:
                return default
            parsed = boolean_value(value)
            if parsed is None:
                raise StepFailed(
                    f"step {request.step_name}: {name} must be a boolean, got {value!r}",
                    error_code="ValidationException",
                )
            return parsed

        group = fields.get("ModelPackageGroupName")
        model = fields.get("ModelName")
        return cls(
            check_type=str(fields.get("CheckType") or getattr(request.step, "check_type", "")),
            skip_check=flag("SkipCheck", False),
            register_new_baseline=flag("RegisterNewBaseline", False),
            fail_on_violation=flag("FailOnViolation", True),
            model_package_group=group if isinstance(group, str) and group else None,
            supplied=supplied_baseline(
                fields.get("SuppliedBaselineConstraints"), fields.get("SuppliedBaselineStatistics")
            ),
            model_name=model if isinstance(model, str) and model else None,
        )


class CheckStepRunner:
    """What QualityCheck and ClarifyCheck share; subclasses name their files and image contract."""

    step_type: ClassVar[str]
    title: ClassVar[str]  # "Quality" / "Clarify", for the failure reason
    output_name: ClassVar[str]  # the ProcessingOutput the SDK names
    constraints_file: ClassVar[str]
    statistics_file: ClassVar[str | None]
    analyzer: ClassVar[str]  # the _analyzer.py mode

    def __init__(self) -> None:
        self._processing = ProcessingRunner()

    def check(self, step: Step, config: Config) -> str | None:
        return None  # the analyzers run on this interpreter; inputs are checked when the step runs

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        flags = CheckFlags.of(request)
        try:
            return self._run(request, flags, ctx)
        except StepFailed as exc:
            if self.step_type not in exc.metadata:  # failed before the job: the flags still show
                exc.metadata = {
                    self.step_type: {
                        "CheckType": flags.check_type,
                        "SkipCheck": flags.skip_check,
                        "RegisterNewBaseline": flags.register_new_baseline,
                        **(
                            {"ModelPackageGroupName": flags.model_package_group}
                            if flags.model_package_group
                            else {}
                        ),
                    }
                }
            raise

    def _run(self, request: StepRequest, flags: CheckFlags, ctx: RunContext) -> StepResult:
        if not isinstance(request.arguments, Mapping):
            raise StepFailed(f"step {request.step_name}: Arguments must be a CreateProcessingJob request")
        output = self._output_uri(request)
        calculated = Baseline(
            join_uri(output, self.constraints_file),
            join_uri(output, self.statistics_file) if self.statistics_file else None,
            "this step",
        )
        previous = self._previous_baseline(request, flags, ctx)
        checking = previous if not flags.skip_check else None
        if checking is not None:
            self._require_files(request, checking, ctx)
        ctx.log(self._plan_line(flags, previous))
        arguments = self._job_arguments(request.arguments, checking)
        metadata: dict[str, Any] = self._metadata(flags, calculated, previous, None, None)
        with self._endpoint(request, flags, ctx) as endpoint_env:
            if endpoint_env:
                arguments = {
                    **arguments,
                    "Environment": {**(arguments.get("Environment") or {}), **endpoint_env},
                }
            try:
                job = self._run_job(dataclasses.replace(request, arguments=arguments), ctx)
            except StepFailed as exc:
                arn = (exc.metadata.get("ProcessingJob") or {}).get("Arn")
                exc.metadata = {
                    self.step_type: {**metadata[self.step_type], **({"CheckJobArn": arn} if arn else {})}
                }
                raise
        job_arn = str(job.properties.get("ProcessingJobArn", ""))
        violations = self._violations(output, ctx) if checking is not None else []
        report = join_uri(output, VIOLATIONS_FILE) if violations else None
        metadata = self._metadata(flags, calculated, previous, job_arn, report)
        used = calculated if flags.register_new_baseline else previous
        properties = self._properties(calculated, used)
        if violations:
            ctx.log(
                f"{len(violations)} violation(s) against {checking.source if checking else ''}; report: {report}"
            )
            if flags.fail_on_violation:
                raise StepFailed(
                    failure_reason(self.title, report, violations),
                    error_code=CLIENT_ERROR,
                    metadata=metadata,
                )
            ctx.log("FailOnViolation is false, so the step succeeds with its violations")
        return StepResult(properties=properties, metadata=metadata)

    # -- pieces -----------------------------------------------------------------------------------
    def _run_job(self, request: StepRequest, ctx: RunContext) -> StepResult:
        """The check job as a Processing job, recorded like one (DescribeProcessingJob,
        StopProcessingJob and ``pipelines logs`` find it), as a tuning job records its trials."""
        if ctx.jobs is None:
            return self._processing.run(request, ctx)
        with tracked_job(ctx.jobs, "ProcessingJob", request, ctx) as tracked:
            result = self._processing.run(request, tracked.ctx)
            tracked.completed(result.properties)
        return result

    def _fail(self, request: StepRequest, reason: str) -> StepFailed:
        return StepFailed(f"step {request.step_name}: {reason}", error_code="ValidationException")

    def _output_uri(self, request: StepRequest) -> str:
        outputs = ((request.arguments.get("ProcessingOutputConfig") or {}).get("Outputs")) or []
        for item in outputs:
            if isinstance(item, Mapping) and item.get("OutputName") == self.output_name:
                uri = (item.get("S3Output") or {}).get("S3Uri")
                if isinstance(uri, str) and uri.startswith("s3://"):
                    return uri
        raise self._fail(
            request, f"the check job has no ProcessingOutput {self.output_name!r} with an s3:// S3Uri"
        )

    def _previous_baseline(self, request: StepRequest, flags: CheckFlags, ctx: RunContext) -> Baseline | None:
        needed_by = [
            reason
            for reason, needed in (
                ("SkipCheck is false, so the drift check needs it", not flags.skip_check),
                (
                    "RegisterNewBaseline is false, so BaselineUsedForDriftCheck* hands it on",
                    not flags.register_new_baseline,
                ),
            )
            if needed
        ]
        baseline: Baseline | None
        if flags.supplied is not None:
            baseline = flags.supplied
        elif flags.model_package_group is not None:
            registry = ModelRegistry.from_config(ctx.config)
            baseline = registered_baseline(registry, flags.model_package_group, flags.check_type)
        else:
            baseline = None
        if baseline is None or baseline.constraints is None:
            if not needed_by:
                return baseline
            where = (
                f"model package group {flags.model_package_group} has no Approved version with "
                f"DriftCheckBaselines for {flags.check_type}"
                if flags.model_package_group and flags.supplied is None
                else "no SuppliedBaselineConstraints is given"
                + ("" if flags.model_package_group else " and no ModelPackageGroupName to look one up in")
            )
            raise self._fail(
                request,
                f"a previous {flags.check_type} baseline is required ({'; '.join(needed_by)}), but {where}",
            )
        return baseline

    def _require_files(self, request: StepRequest, baseline: Baseline, ctx: RunContext) -> None:
        for what, uri in (("constraints", baseline.constraints), ("statistics", baseline.statistics)):
            if uri is not None and not ctx.objects.exists(uri):
                raise StepFailed(
                    f"step {request.step_name}: the baseline {what} {uri} ({baseline.source}) does not exist",
                    error_code=CLIENT_ERROR,
                )

    def _job_arguments(self, arguments: Mapping[str, Any], baseline: Baseline | None) -> dict[str, Any]:
        """The request as the job runs it: our analyzer as the entrypoint, and the baseline's files
        staged where the ``baseline_*`` variables point."""
        app = dict(arguments.get("AppSpecification") or {})
        app["ContainerEntrypoint"] = ["python3", str(ANALYZER), self.analyzer]
        app.pop("ContainerArguments", None)
        inputs = list(arguments.get("ProcessingInputs") or [])
        environment = dict(arguments.get("Environment") or {})
        if baseline is not None:
            for name, uri in (("constraints", baseline.constraints), ("statistics", baseline.statistics)):
                if uri is None:
                    continue
                folder = f"{BASELINE_ROOT}/{name}"
                inputs.append(
                    {
                        "InputName": f"baseline_{name}",
                        "AppManaged": False,
                        "S3Input": {
                            "S3Uri": uri,
                            "LocalPath": folder,
                            "S3DataType": "S3Prefix",
                            "S3InputMode": "File",
                            "S3DataDistributionType": "FullyReplicated",
                            "S3CompressionType": "None",
                        },
                    }
                )
                environment[f"baseline_{name}"] = f"{folder}/{uri.rsplit('/', 1)[-1]}"
        return {**arguments, "AppSpecification": app, "ProcessingInputs": inputs, "Environment": environment}

    @contextmanager
    def _endpoint(self, request: StepRequest, flags: CheckFlags, ctx: RunContext) -> Iterator[dict[str, str]]:
        if flags.check_type not in MODEL_CHECK_TYPES:
            yield {}
            return
        if flags.model_name is None:
            raise self._fail(
                request, f"{flags.check_type} needs ModelName (the model the shadow endpoint serves)"
            )
        with shadow.shadow_endpoint(flags.model_name, request, ctx) as url:
            yield {ENDPOINT_VARIABLE: url}

    def _violations(self, output: str, ctx: RunContext) -> list[dict[str, Any]]:
        uri = join_uri(output, VIOLATIONS_FILE)
        try:
            document = json.loads(ctx.objects.get(uri))
        except ObjectNotFound as exc:
            raise StepFailed(
                f"the check job wrote no {VIOLATIONS_FILE} to {output}", error_code="InternalServerError"
            ) from exc
        found = document.get("violations") if isinstance(document, dict) else None
        return [v for v in found if isinstance(v, dict)] if isinstance(found, list) else []

    def _plan_line(self, flags: CheckFlags, previous: Baseline | None) -> str:
        against = f"against {previous.source}" if previous is not None else "without a previous baseline"
        check = "no drift check (SkipCheck)" if flags.skip_check else f"drift check {against}"
        return (
            f"{flags.check_type}: {check}; RegisterNewBaseline={str(flags.register_new_baseline).lower()}, "
            f"FailOnViolation={str(flags.fail_on_violation).lower()}"
        )

    def _properties(self, calculated: Baseline, used: Baseline | None) -> dict[str, Any]:
        properties: dict[str, Any] = {"CalculatedBaselineConstraints": calculated.constraints}
        if self.statistics_file:
            properties["CalculatedBaselineStatistics"] = calculated.statistics
        if used is not None and used.constraints is not None:
            properties["BaselineUsedForDriftCheckConstraints"] = used.constraints
        if self.statistics_file and used is not None and used.statistics is not None:
            properties["BaselineUsedForDriftCheckStatistics"] = used.statistics
        return properties

    def _metadata(
        self,
        flags: CheckFlags,
        calculated: Baseline,
        previous: Baseline | None,
        job_arn: str | None,
        report: str | None,
    ) -> dict[str, Any]:
        used = calculated if flags.register_new_baseline else previous
        entry: dict[str, Any] = {
            "CheckType": flags.check_type,
            **self._properties(calculated, used),
            "SkipCheck": flags.skip_check,
            "RegisterNewBaseline": flags.register_new_baseline,
        }
        if flags.model_package_group:
            entry["ModelPackageGroupName"] = flags.model_package_group
        if report:
            entry["ViolationReport"] = report
        if job_arn:
            entry["CheckJobArn"] = job_arn
        return {self.step_type: entry}


def _subject(violation: Mapping[str, Any]) -> str:
    """What a violation is about: a feature, a metric, a facet's metric or a label."""
    if violation.get("facet") and violation.get("metric_name"):
        return f"{violation['metric_name']} of facet {violation['facet']}={violation.get('facet_value')}"
    return str(
        violation.get("feature_name") or violation.get("metric_name") or violation.get("label") or "dataset"
    )


def failure_reason(title: str, report: str | None, violations: list[dict[str, Any]]) -> str:
    """``ClientError: <title> check failed. See violation report at <uri>`` (the service's words,
    which the SDK's tests look for), then every violation by subject and check type, then their
    descriptions while the reason stays within FailureReason's 1024 characters."""
    head = (
        f"ClientError: {title} check failed. See violation report at {report}. {len(violations)} violation(s): "
        + "; ".join(f"{_subject(v)}: {v.get('constraint_check_type')}" for v in violations)
    )
    details = " | ".join(f"{_subject(v)}: {str(v.get('description', '')).strip()}" for v in violations)
    full = f"{head}. {details}"
    return full if len(full) <= FAILURE_REASON_LIMIT else clip_reason(head)


class QualityCheckRunner(CheckStepRunner):
    step_type: ClassVar[str] = "QualityCheck"
    title: ClassVar[str] = "Quality"
    output_name: ClassVar[str] = "quality_check_output"
    constraints_file: ClassVar[str] = "constraints.json"
    statistics_file: ClassVar[str | None] = "statistics.json"
    analyzer: ClassVar[str] = "model-monitor"


class ClarifyCheckRunner(CheckStepRunner):
    step_type: ClassVar[str] = "ClarifyCheck"
    title: ClassVar[str] = "Clarify"
    output_name: ClassVar[str] = "analysis_result"
    constraints_file: ClassVar[str] = "analysis.json"
    statistics_file: ClassVar[str | None] = None
    analyzer: ClassVar[str] = "clarify"
