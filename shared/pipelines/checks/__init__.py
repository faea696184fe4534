"""QualityCheck and ClarifyCheck semantics shared by both runtimes (the Guide's "Controlling step
behaviors for drift check", "Working with baselines", "Baseline calculation, drift detection and
lifecycle").

A check attempt is plan -> job -> outcome; only the job is runtime-specific (the embedded
runner's local analyzers, ``pipelines.runners.checks``; the cloud's Model Monitor / Clarify
container on the StepRunner's Processing route, ``pipelines.runtime.check_steps``)::

    plan = plan_check(kind, step_name, arguments, step_fields, registry=..., objects=...)
        # flags, the output URI, the previous baseline (supplied, else the latest Approved
        # version's DriftCheckBaselines); StepFailed (with the flags as metadata) when a needed
        # baseline is missing or, when checking, one of its files is
    staged_arguments(arguments, plan.checking)   # the baseline's files into the job, by the
                                                 # Model Monitor container contract
    check_result(plan, job_arn, objects)         # properties + Metadata, or StepFailed on
                                                 # violations with FailOnViolation
    check_metadata(plan, job_arn)                # what a failed job's step shows
    restored_plan(...)                           # the plan again from the attempt's record and
                                                 # the previous baseline found at launch

* semantics.py: the plan, the staging, the outcome and the failure reason;
* baselines.py: the previous baseline's URIs (supplied, or a registry's latest Approved version),
  over any :class:`BaselineRegistry`.

This package imports no analysis library (no pandas): the engine Lambda runs it.
"""

from pipelines.checks.baselines import Baseline, BaselineRegistry, registered_baseline, supplied_baseline
from pipelines.checks.semantics import (
    CHECK_KINDS,
    CLARIFY_CHECK,
    MODEL_CHECK_TYPES,
    QUALITY_CHECK,
    VIOLATIONS_FILE,
    CheckFlags,
    CheckKind,
    CheckPlan,
    check_metadata,
    check_result,
    failure_reason,
    plan_check,
    restored_plan,
    staged_arguments,
)

__all__ = [
    "CHECK_KINDS",
    "CLARIFY_CHECK",
    "MODEL_CHECK_TYPES",
    "QUALITY_CHECK",
    "VIOLATIONS_FILE",
    "Baseline",
    "BaselineRegistry",
    "CheckFlags",
    "CheckKind",
    "CheckPlan",
    "check_metadata",
    "check_result",
    "failure_reason",
    "plan_check",
    "registered_baseline",
    "restored_plan",
    "staged_arguments",
    "supplied_baseline",
]
