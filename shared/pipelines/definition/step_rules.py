"""Rules on a step's envelope: RetryPolicies, CacheConfig, PropertyFiles, OutputParameters,
DependsOn run-condition triggers, check-step fields and Condition arguments.

The ranges and type lists come from the dev guide (``pipelines-retry-policy.md``,
``pipelines-caching.md``) and the SDK (which types emit what); see the constants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pydantic

from pipelines.definition.arguments import literal_names
from pipelines.definition.durations import DurationError, parse_expire_after
from pipelines.definition.grammar import CONDITION_LIST, is_expression, plain_comparisons
from pipelines.definition.models import (
    CallbackStep,
    ClarifyCheckStep,
    ConditionStep,
    LambdaStep,
    QualityCheckStep,
    Step,
)
from pipelines.definition.problems import Location, Problem, add_problem
from pipelines.definition.schema_errors import describe_value, problems_from_validation_error

# The dev guide lists Processing, Training, Tuning, AutoML, CreateModel, RegisterModel, Transform
# and Notebook job (a Training step); the SDK's ConfigurableRetryStep also covers EMRStep and
# EndpointConfigStep (v2), and EMRServerless and Job steps (v3), so those carry RetryPolicies too.
RETRYABLE_STEP_TYPES = frozenset(
    {
        "Processing",
        "Training",
        "Tuning",
        "AutoML",
        "Model",
        "RegisterModel",
        "Transform",
        "EMR",
        "EndpointConfig",
        "EMRServerless",
        "Job",
    }
)
CACHEABLE_STEP_TYPES = frozenset(
    {"Processing", "Training", "Tuning", "AutoML", "Transform", "ClarifyCheck", "QualityCheck", "EMR", "Job"}
)  # the docs' eight, and the v3 SDK's JobStep (which takes a CacheConfig)
RETRY_EXCEPTION_TYPES = (
    "Step.SERVICE_FAULT",
    "Step.THROTTLING",
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
)
# In the official schema's enum, not in the dev guide; the EMR docs point to retry policies
# for EMR's 256-pending-steps limit, so it is accepted on EMR steps only.
EMR_RETRY_EXCEPTION_TYPE = "Emr.RESOURCE_LIMIT"
MAX_ATTEMPTS_RANGE = (0, 20)  # 0: never retry (dev guide)
EXPIRE_AFTER_MIN_RANGE = (0, 14_400)
INTERVAL_SECONDS_RANGE = (0, 43_200)
CHECK_TYPES = {
    "QualityCheck": ("DATA_QUALITY", "MODEL_QUALITY"),
    "ClarifyCheck": ("DATA_BIAS", "MODEL_BIAS", "MODEL_EXPLAINABILITY"),
}
RUN_CONDITION_TRIGGERS = ("Completed", "Failed", "Stopped", "Any")
"""The DependsOn triggers (v3 SDK ``{"Step": X, "Trigger": T}``) the engine carries out
(engine/readiness.py's TRIGGER_STATUSES). Any other value would make the step wait forever, so
it is refused when the pipeline is created rather than when an execution starts."""
_CHECK_FLAGS = ("skip_check", "fail_on_violation", "register_new_baseline")
# The SDK emits ``"FailOnViolation": null`` for ``fail_on_violation=None``, and the service runs it
# as true (the SDK's test_one_step_*_pipeline_constraint_violation[None] expects the step to fail).
_CHECK_FLAGS_NULL_ALLOWED = frozenset({"fail_on_violation"})
_CONDITION_ARGUMENT_KEYS = frozenset({"Conditions", "IfSteps", "ElseSteps"})


@lru_cache(maxsize=1024)
def _expire_after_error(text: str) -> str | None:
    try:
        parse_expire_after(text)
    except DurationError as exc:
        return str(exc)
    return None


def _check_range(
    value: float, bounds: tuple[int, int], here: Location, name: str, out: list[Problem]
) -> None:
    low, high = bounds
    if not low <= value <= high:
        add_problem(
            out, "retry-policy", f"{name} must be between {low} and {high}, got {value}", (*here, name)
        )


def _duplicates(names: list[str]) -> dict[str, int]:
    return {name: count for name, count in Counter(names).items() if count > 1} if len(names) > 1 else {}


def check_retry_policies(step: Step, location: Location, out: list[Problem]) -> None:
    if not step.retry_policies:
        return
    if step.type not in RETRYABLE_STEP_TYPES:
        add_problem(
            out,
            "retry-policy",
            f"RetryPolicies are not supported on {step.type} steps "
            f"(only on {', '.join(sorted(RETRYABLE_STEP_TYPES))})",
            (*location, "RetryPolicies"),
        )
        return
    allowed = RETRY_EXCEPTION_TYPES + ((EMR_RETRY_EXCEPTION_TYPE,) if step.type == "EMR" else ())
    for index, policy in enumerate(step.retry_policies):
        here: Location = (*location, "RetryPolicies", index)
        if policy.max_attempts is not None and policy.expire_after_min is not None:
            add_problem(
                out, "retry-policy", "give only one of MaxAttempts and ExpireAfterMin, not both", here
            )
        if policy.max_attempts is not None:
            _check_range(policy.max_attempts, MAX_ATTEMPTS_RANGE, here, "MaxAttempts", out)
        if policy.expire_after_min is not None:
            _check_range(policy.expire_after_min, EXPIRE_AFTER_MIN_RANGE, here, "ExpireAfterMin", out)
        _check_range(policy.interval_seconds, INTERVAL_SECONDS_RANGE, here, "IntervalSeconds", out)
        if policy.backoff_rate < 0:
            add_problem(
                out,
                "retry-policy",
                f"BackoffRate must not be negative, got {policy.backoff_rate}",
                (*here, "BackoffRate"),
            )
        elif policy.backoff_rate < 1:
            add_problem(
                out,
                "retry-policy",
                f"BackoffRate {policy.backoff_rate} is below 1, so each retry waits less than the one before",
                (*here, "BackoffRate"),
                "warning",
            )
        if not policy.exception_type:
            add_problem(
                out,
                "retry-policy",
                "ExceptionType must list at least one exception type",
                (*here, "ExceptionType"),
            )
        for position, exception_type in enumerate(policy.exception_type):
            if exception_type not in allowed:
                only_emr = exception_type == EMR_RETRY_EXCEPTION_TYPE
                extra = f" ({EMR_RETRY_EXCEPTION_TYPE} only on EMR steps)" if only_emr else ""
                add_problem(
                    out,
                    "retry-policy",
                    f"unknown exception type {exception_type!r}{extra}; allowed: {', '.join(allowed)}",
                    (*here, "ExceptionType", position),
                    allowed=allowed,
                )
        for exception_type, count in _duplicates(policy.exception_type).items():
            add_problem(
                out,
                "retry-policy",
                f"{exception_type!r} is listed {count} times",
                (*here, "ExceptionType"),
                "warning",
            )


def check_cache_config(step: Step, location: Location, out: list[Problem]) -> None:
    config = step.cache_config
    if config is None:
        return
    here: Location = (*location, "CacheConfig")
    cacheable = step.type in CACHEABLE_STEP_TYPES
    if not cacheable and config.enabled:  # the SDK emits {"Enabled": false} on Lambda steps: harmless
        add_problem(
            out,
            "cache-config",
            f"{step.type} steps are never cached, so CacheConfig has no effect "
            f"(cacheable: {', '.join(sorted(CACHEABLE_STEP_TYPES))})",
            here,
            "warning",
        )
    if config.expire_after is not None:
        error = _expire_after_error(config.expire_after)
        if error is not None:
            add_problem(out, "cache-config", error, (*here, "ExpireAfter"))
    elif config.enabled and cacheable:
        add_problem(
            out,
            "cache-config",
            "caching is enabled without ExpireAfter; the docs require a timeout when caching is on",
            here,
            "warning",
        )


def _processing_output_names(arguments: Any) -> set[str] | None:
    outputs = arguments.get("ProcessingOutputConfig") if isinstance(arguments, dict) else None
    items = outputs.get("Outputs") if isinstance(outputs, dict) and not is_expression(outputs) else None
    return literal_names(items, "OutputName") if items is not None else None


def check_property_files(step: Step, location: Location, out: list[Problem]) -> None:
    if not step.property_files:
        return
    here: Location = (*location, "PropertyFiles")
    if step.type != "Processing":
        add_problem(
            out,
            "property-file",
            f"PropertyFiles are only supported on Processing steps, not {step.type}",
            here,
        )
        return
    for name, count in _duplicates([p.property_file_name for p in step.property_files]).items():
        add_problem(out, "property-file", f"property file {name!r} is declared {count} times", here)
    output_names = _processing_output_names(step.arguments)
    if output_names is None:
        return
    for index, property_file in enumerate(step.property_files):
        if property_file.output_name not in output_names:
            add_problem(
                out,
                "property-file",
                f"OutputName {property_file.output_name!r} is not an output of this step "
                f"(outputs: {', '.join(sorted(output_names)) or 'none'})",
                (*here, index, "OutputName"),
            )


def check_output_parameters(step: LambdaStep | CallbackStep, location: Location, out: list[Problem]) -> None:
    for name, count in _duplicates([o.output_name for o in step.output_parameters]).items():
        add_problem(
            out,
            "output-parameter",
            f"output {name!r} is declared {count} times",
            (*location, "OutputParameters"),
        )


def check_run_conditions(step: Step, location: Location, out: list[Problem]) -> None:
    reported: set[str] = set()
    for index, name in enumerate(step.depends_on):
        trigger = step.run_conditions.get(name)
        if trigger is None or trigger in RUN_CONDITION_TRIGGERS or name in reported:
            continue
        reported.add(name)
        add_problem(
            out,
            "depends-on",
            f"unknown DependsOn trigger {trigger!r} for step {name!r}; "
            f"allowed: {', '.join(RUN_CONDITION_TRIGGERS)}",
            (*location, "DependsOn", index, "Trigger"),
            allowed=RUN_CONDITION_TRIGGERS,
        )


def check_check_step(
    step: QualityCheckStep | ClarifyCheckStep, location: Location, out: list[Problem]
) -> None:
    allowed = CHECK_TYPES[step.type]
    if step.check_type not in allowed:
        add_problem(
            out,
            "schema",
            f"got {describe_value(step.check_type)}; allowed values: {', '.join(allowed)}",
            (*location, "CheckType"),
            allowed=allowed,
        )
    for field_name in _CHECK_FLAGS:
        value = getattr(step, field_name)
        if value is None and field_name in _CHECK_FLAGS_NULL_ALLOWED:
            continue
        if not isinstance(value, bool) and not is_expression(value):
            alias = type(step).model_fields[field_name].alias or field_name
            add_problem(
                out,
                "schema",
                f"must be a boolean or an expression, got {describe_value(value)}",
                (*location, alias),
            )


def check_condition_arguments(step: ConditionStep, location: Location, out: list[Problem]) -> None:
    for key in step.arguments.model_extra or {}:
        add_problem(out, "schema", "unknown property of Condition Arguments", (*location, "Arguments", key))
    if plain_comparisons(step.arguments.conditions):
        return
    try:
        CONDITION_LIST.validate_python(step.arguments.conditions, strict=True)
    except pydantic.ValidationError as exc:
        out.extend(problems_from_validation_error(exc, (*location, "Arguments", "Conditions")))


def check_envelope(step: Step, location: Location, out: list[Problem]) -> None:
    """Append the problems of every envelope rule for one step (only the fields it has are
    looked at: this runs for every step, and most have none of them).

    Fields are read from the model's ``__dict__`` (pydantic keeps every field there): an
    attribute read through a model's ``__getattr__`` hook costs several times more.
    """
    fields = step.__dict__
    if fields["retry_policies"]:
        check_retry_policies(step, location, out)
    if fields["cache_config"] is not None:
        check_cache_config(step, location, out)
    if fields["property_files"]:
        check_property_files(step, location, out)
    if fields["run_conditions"]:
        check_run_conditions(step, location, out)
    rule = _TYPE_RULES.get(type(step))
    if rule is not None:
        rule(step, location, out)


# The rules of one step type, by model class: one lookup instead of isinstance tests, as this runs
# for every step (the parser makes exactly these classes; none is subclassed).
_TYPE_RULES: dict[type[Step], Callable[[Any, Location, list[Problem]], None]] = {
    LambdaStep: check_output_parameters,
    CallbackStep: check_output_parameters,
    QualityCheckStep: check_check_step,
    ClarifyCheckStep: check_check_step,
    ConditionStep: check_condition_arguments,
}
