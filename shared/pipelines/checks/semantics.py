"""The Guide's drift-check semantics around a check job, for both runtimes.

A QualityCheck or ClarifyCheck attempt is: plan (before the job), the job, outcome (after it).
Only the job differs between runtimes: the embedded runner runs this project's analyzers as a
local Processing job, the cloud runs the Model Monitor / Clarify container through the
StepRunner's Processing route. Everything around it is here, once:

1. :func:`plan_check` resolves the flags and the previous baseline: ``Supplied*`` first, else
   the latest Approved version of ``ModelPackageGroupName`` in the runtime's registry
   (baselines.py). A baseline is needed when ``SkipCheck`` is false (to check against) or
   ``RegisterNewBaseline`` is false (to hand on); a step that needs one and has none fails
   before its job, naming the flag that needs it. When the check runs, its files must exist
   (a missing one fails the step naming its URI); with ``SkipCheck`` nothing is read.
   ClarifyCheck ``MODEL_BIAS``/``MODEL_EXPLAINABILITY`` need ``ModelName`` (the model Clarify's
   shadow endpoint serves).
2. :func:`staged_arguments` hands the baseline to the job by the Model Monitor container
   contract: its files as ProcessingInputs under ``/opt/ml/processing/baseline/<kind>/``,
   named by the ``baseline_constraints``/``baseline_statistics`` variables. The job then writes
   ``constraint_violations.json`` beside its results.
3. :func:`check_result`, after the job completed: ``CalculatedBaselineConstraints`` =
   ``<output>/constraints.json`` (Clarify: ``<output>/analysis.json``),
   ``CalculatedBaselineStatistics`` = ``<output>/statistics.json``; ``BaselineUsedForDriftCheck*``
   = the calculated ones if ``RegisterNewBaseline``, else the previous baseline's; the same in
   the step's ``Metadata.QualityCheck``/``ClarifyCheck`` with ``CheckJobArn`` and, when the
   violations file lists any, ``ViolationReport``. Violations with ``FailOnViolation`` (true
   unless false; the SDK's older definitions lack it) fail the step with the service's words,
   ``ClientError: Quality check failed. See violation report at <uri>`` (``Clarify check
   failed``), followed by the violations.

Files are read through an :class:`~pipelines.objects.base.ObjectStore`: the local object root,
or S3 as the pipeline's role.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.checks.baselines import Baseline, BaselineRegistry, registered_baseline, supplied_baseline
from pipelines.expressions.parameters import boolean_value
from pipelines.objects.base import ObjectNotFound, ObjectStore
from pipelines.runners.base import StepFailed, StepResult
from pipelines.runners.jobs.channels import join_uri
from pipelines.runners.jobs.errors import CLIENT_ERROR, FAILURE_REASON_LIMIT, clip_reason

VIOLATIONS_FILE = "constraint_violations.json"
BASELINE_ROOT = "/opt/ml/processing/baseline"
MODEL_CHECK_TYPES = frozenset({"MODEL_BIAS", "MODEL_EXPLAINABILITY"})


@dataclass(frozen=True)
class CheckKind:
    """What differs between QualityCheck and ClarifyCheck: files, output and wording."""

    step_type: str
    title: str  # "Quality" / "Clarify", for the failure reason
    output_name: str  # the ProcessingOutput the SDK names
    constraints_file: str
    statistics_file: str | None


QUALITY_CHECK = CheckKind(
    "QualityCheck", "Quality", "quality_check_output", "constraints.json", "statistics.json"
)
CLARIFY_CHECK = CheckKind("ClarifyCheck", "Clarify", "analysis_result", "analysis.json", None)
CHECK_KINDS: dict[str, CheckKind] = {kind.step_type: kind for kind in (QUALITY_CHECK, CLARIFY_CHECK)}
"""Step type -> its kind; the step types this module applies to."""


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
    def of(cls, step_name: str, fields: Mapping[str, Any], check_type: str = "") -> CheckFlags:
        """From the attempt's resolved step fields; a flag that is not a boolean fails the step."""

        def flag(name: str, default: bool) -> bool:
            value = fields.get(name)
            if value is None:
                return default
            parsed = boolean_value(value)
            if parsed is None:
                raise StepFailed(
                    f"step {step_name}: {name} must be a boolean, got {value!r}",
                    error_code="ValidationException",
                )
            return parsed

        group = fields.get("ModelPackageGroupName")
        model = fields.get("ModelName")
        return cls(
            check_type=str(fields.get("CheckType") or check_type),
            skip_check=flag("SkipCheck", False),
            register_new_baseline=flag("RegisterNewBaseline", False),
            fail_on_violation=flag("FailOnViolation", True),
            model_package_group=group if isinstance(group, str) and group else None,
            supplied=supplied_baseline(
                fields.get("SuppliedBaselineConstraints"), fields.get("SuppliedBaselineStatistics")
            ),
            model_name=model if isinstance(model, str) and model else None,
        )


@dataclass(frozen=True)
class CheckPlan:
    """One attempt's decision before its job: what it calculates and what it checks against."""

    kind: CheckKind
    step_name: str
    flags: CheckFlags
    output: str  # the S3 URI the job writes its results to
    previous: Baseline | None

    @property
    def calculated(self) -> Baseline:
        return Baseline(
            join_uri(self.output, self.kind.constraints_file),
            join_uri(self.output, self.kind.statistics_file) if self.kind.statistics_file else None,
            "this step",
        )

    @property
    def checking(self) -> Baseline | None:
        """The baseline the job checks against; None with SkipCheck."""
        return None if self.flags.skip_check else self.previous

    @property
    def used(self) -> Baseline | None:
        """What ``BaselineUsedForDriftCheck*`` hands on."""
        return self.calculated if self.flags.register_new_baseline else self.previous

    @property
    def violation_report(self) -> str:
        return join_uri(self.output, VIOLATIONS_FILE)

    def line(self) -> str:
        """One log line saying what the attempt does."""
        previous = self.previous
        against = f"against {previous.source}" if previous is not None else "without a previous baseline"
        check = "no drift check (SkipCheck)" if self.flags.skip_check else f"drift check {against}"
        return (
            f"{self.flags.check_type}: {check}; "
            f"RegisterNewBaseline={str(self.flags.register_new_baseline).lower()}, "
            f"FailOnViolation={str(self.flags.fail_on_violation).lower()}"
        )


def plan_check(
    kind: CheckKind,
    step_name: str,
    arguments: Any,
    fields: Mapping[str, Any],
    *,
    registry: Callable[[], BaselineRegistry],
    objects: ObjectStore,
    check_type: str = "",
) -> CheckPlan:
    """The attempt's plan (module docstring, 1.); StepFailed when it cannot run, carrying the
    flags as the step's metadata. ``registry`` is called only when a registered baseline is
    looked up."""
    flags = CheckFlags.of(step_name, fields, check_type)
    try:
        output = output_uri(kind, step_name, arguments)
        if flags.check_type in MODEL_CHECK_TYPES and flags.model_name is None:
            raise StepFailed(
                f"step {step_name}: {flags.check_type} needs ModelName (the model Clarify's shadow "
                "endpoint serves)",
                error_code="ValidationException",
            )
        previous = _previous_baseline(step_name, flags, registry)
        plan = CheckPlan(kind, step_name, flags, output, previous)
        if plan.checking is not None:
            _require_files(step_name, plan.checking, objects)
    except StepFailed as exc:
        exc.metadata = {kind.step_type: _flag_entry(flags)}
        raise
    return plan


def restored_plan(
    kind: CheckKind,
    step_name: str,
    arguments: Any,
    fields: Mapping[str, Any],
    previous: Baseline | None,
    check_type: str = "",
) -> CheckPlan:
    """The plan made at launch, from the attempt's record and the previous baseline the launch
    found (the registry may have changed since: the outcome must describe what the job did)."""
    flags = CheckFlags.of(step_name, fields, check_type)
    return CheckPlan(kind, step_name, flags, output_uri(kind, step_name, arguments), previous)


def output_uri(kind: CheckKind, step_name: str, arguments: Any) -> str:
    """The S3 URI of the job's results: the output the SDK names for the check type."""
    if not isinstance(arguments, Mapping):
        raise StepFailed(
            f"step {step_name}: Arguments must be a CreateProcessingJob request",
            error_code="ValidationException",
        )
    outputs = ((arguments.get("ProcessingOutputConfig") or {}).get("Outputs")) or []
    for item in outputs:
        if isinstance(item, Mapping) and item.get("OutputName") == kind.output_name:
            uri = (item.get("S3Output") or {}).get("S3Uri")
            if isinstance(uri, str) and uri.startswith("s3://"):
                return uri
    raise StepFailed(
        f"step {step_name}: the check job has no ProcessingOutput {kind.output_name!r} with an s3:// S3Uri",
        error_code="ValidationException",
    )


def _previous_baseline(
    step_name: str, flags: CheckFlags, registry: Callable[[], BaselineRegistry]
) -> Baseline | None:
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
        baseline = registered_baseline(registry(), flags.model_package_group, flags.check_type)
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
        raise StepFailed(
            f"step {step_name}: a previous {flags.check_type} baseline is required "
            f"({'; '.join(needed_by)}), but {where}",
            error_code="ValidationException",
        )
    return baseline


def _require_files(step_name: str, baseline: Baseline, objects: ObjectStore) -> None:
    for what, uri in (("constraints", baseline.constraints), ("statistics", baseline.statistics)):
        if uri is not None and not objects.exists(uri):
            raise StepFailed(
                f"step {step_name}: the baseline {what} {uri} ({baseline.source}) does not exist",
                error_code=CLIENT_ERROR,
            )


def staged_arguments(arguments: Mapping[str, Any], baseline: Baseline | None) -> dict[str, Any]:
    """The CreateProcessingJob request with the baseline's files staged into the job where the
    ``baseline_*`` variables point (module docstring, 2.); unchanged without a baseline."""
    inputs = list(arguments.get("ProcessingInputs") or [])
    environment = dict(arguments.get("Environment") or {})
    if baseline is None:
        return dict(arguments)
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
    return {**arguments, "ProcessingInputs": inputs, "Environment": environment}


def check_result(
    plan: CheckPlan,
    job_arn: str | None,
    objects: ObjectStore,
    log: Callable[[str], None] = lambda _line: None,
) -> StepResult:
    """The step's result after its job completed (module docstring, 3.); StepFailed on
    violations with FailOnViolation."""
    violations = read_violations(plan, objects) if plan.checking is not None else []
    report = plan.violation_report if violations else None
    metadata = check_metadata(plan, job_arn, report)
    if violations:
        checking = plan.checking
        log(f"{len(violations)} violation(s) against {checking.source if checking else ''}; report: {report}")
        if plan.flags.fail_on_violation:
            raise StepFailed(
                failure_reason(plan.kind.title, report, violations),
                error_code=CLIENT_ERROR,
                metadata=metadata,
            )
        log("FailOnViolation is false, so the step succeeds with its violations")
    return StepResult(properties=_properties(plan), metadata=metadata)


def read_violations(plan: CheckPlan, objects: ObjectStore) -> list[dict[str, Any]]:
    """The violations the job listed; a checking job that wrote no report failed its contract."""
    try:
        document = json.loads(objects.get(plan.violation_report))
    except ObjectNotFound as exc:
        raise StepFailed(
            f"the check job wrote no {VIOLATIONS_FILE} to {plan.output}", error_code="InternalServerError"
        ) from exc
    except ValueError as exc:
        raise StepFailed(
            f"the check job's {plan.violation_report} is not valid JSON: {exc}",
            error_code="InternalServerError",
        ) from exc
    found = document.get("violations") if isinstance(document, dict) else None
    return [v for v in found if isinstance(v, dict)] if isinstance(found, list) else []


def _properties(plan: CheckPlan) -> dict[str, Any]:
    calculated, used = plan.calculated, plan.used
    properties: dict[str, Any] = {"CalculatedBaselineConstraints": calculated.constraints}
    if plan.kind.statistics_file:
        properties["CalculatedBaselineStatistics"] = calculated.statistics
    if used is not None and used.constraints is not None:
        properties["BaselineUsedForDriftCheckConstraints"] = used.constraints
    if plan.kind.statistics_file and used is not None and used.statistics is not None:
        properties["BaselineUsedForDriftCheckStatistics"] = used.statistics
    return properties


def _flag_entry(flags: CheckFlags) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "CheckType": flags.check_type,
        "SkipCheck": flags.skip_check,
        "RegisterNewBaseline": flags.register_new_baseline,
    }
    if flags.model_package_group:
        entry["ModelPackageGroupName"] = flags.model_package_group
    return entry


def check_metadata(plan: CheckPlan, job_arn: str | None, report: str | None = None) -> dict[str, Any]:
    """``Metadata.QualityCheck``/``ClarifyCheck`` (botocore's QualityCheckStepMetadata and
    ClarifyCheckStepMetadata); also what a failed job's step shows."""
    entry: dict[str, Any] = {
        "CheckType": plan.flags.check_type,
        **_properties(plan),
        **_flag_entry(plan.flags),
    }
    if report:
        entry["ViolationReport"] = report
    if job_arn:
        entry["CheckJobArn"] = job_arn
    return {plan.kind.step_type: entry}


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
