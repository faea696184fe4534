"""Rules on a step's envelope: RetryPolicies, CacheConfig, PropertyFiles, OutputParameters,
check-step fields and Condition arguments.

The ranges and type lists come from the dev guide (``pipelines-retry-policy.md``,
``pipelines-caching.md``) and the SDK (which types emit what); see the constants.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pydantic

from pipelines.definition.arguments import literal_names
from pipelines.definition.durations import DurationError, parse_expire_after
from pipelines.definition.grammar import CONDITION_LIST, is_expression
from pipelines.definition.models import ClarifyCheckStep, ConditionStep, QualityCheckStep, Step
from pipelines.definition.problems import Problem, Severity, format_json_path
from pipelines.definition.schema_errors import describe_value, problems_from_validation_error

# The dev guide lists Processing, Training, Tuning, AutoML, CreateModel, RegisterModel, Transform
# and Notebook job (a Training step); the SDK also lets EMRStep carry StepRetryPolicy.
RETRYABLE_STEP_TYPES = frozenset(
    {"Processing", "Training", "Tuning", "AutoML", "Model", "RegisterModel", "Transform", "EMR"}
)
CACHEABLE_STEP_TYPES = frozenset(
    {"Processing", "Training", "Tuning", "AutoML", "Transform", "ClarifyCheck", "QualityCheck", "EMR"}
)
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
_CHECK_FLAGS = ("skip_check", "fail_on_violation", "register_new_baseline")
_CONDITION_ARGUMENT_KEYS = frozenset({"Conditions", "IfSteps", "ElseSteps"})


Location = tuple[str | int, ...]


def at(location: Location, *parts: str | int) -> str:
    return format_json_path((*location, *parts))


def _problem(kind: str, message: str, path: str | Location, severity: Severity = "error") -> Problem:
    text = path if isinstance(path, str) else format_json_path(path)
    return Problem(kind=kind, message=message, path=text, severity=severity)


def _check_range(value: int | float, bounds: tuple[int, int], path: str, name: str) -> Iterator[Problem]:
    low, high = bounds
    if not low <= value <= high:
        yield _problem("retry-policy", f"{name} must be between {low} and {high}, got {value}", path)


def check_retry_policies(step: Step, location: Location) -> Iterator[Problem]:
    if not step.retry_policies:
        return
    if step.type not in RETRYABLE_STEP_TYPES:
        yield _problem(
            "retry-policy",
            f"RetryPolicies are not supported on {step.type} steps (only on {', '.join(sorted(RETRYABLE_STEP_TYPES))})",
            at(location, "RetryPolicies"),
        )
        return
    allowed = RETRY_EXCEPTION_TYPES + ((EMR_RETRY_EXCEPTION_TYPE,) if step.type == "EMR" else ())
    for index, policy in enumerate(step.retry_policies):
        here = at(location, "RetryPolicies", index)
        fields = policy.model_fields_set
        if "max_attempts" in fields and "expire_after_min" in fields:
            yield _problem("retry-policy", "give only one of MaxAttempts and ExpireAfterMin, not both", here)
        if policy.max_attempts is not None:
            yield from _check_range(
                policy.max_attempts, MAX_ATTEMPTS_RANGE, at(here, "MaxAttempts"), "MaxAttempts"
            )
        if policy.expire_after_min is not None:
            yield from _check_range(
                policy.expire_after_min, EXPIRE_AFTER_MIN_RANGE, at(here, "ExpireAfterMin"), "ExpireAfterMin"
            )
        yield from _check_range(
            policy.interval_seconds, INTERVAL_SECONDS_RANGE, at(here, "IntervalSeconds"), "IntervalSeconds"
        )
        if policy.backoff_rate < 0:
            yield _problem(
                "retry-policy",
                f"BackoffRate must not be negative, got {policy.backoff_rate}",
                at(here, "BackoffRate"),
            )
        elif policy.backoff_rate < 1:
            yield _problem(
                "retry-policy",
                f"BackoffRate {policy.backoff_rate} is below 1, so each retry waits less than the one before",
                at(here, "BackoffRate"),
                "warning",
            )
        if not policy.exception_type:
            yield _problem(
                "retry-policy",
                "ExceptionType must list at least one exception type",
                at(here, "ExceptionType"),
            )
        for position, exception_type in enumerate(policy.exception_type):
            if exception_type not in allowed:
                extra = (
                    f" ({EMR_RETRY_EXCEPTION_TYPE} only on EMR steps)"
                    if exception_type == EMR_RETRY_EXCEPTION_TYPE
                    else ""
                )
                yield Problem(
                    kind="retry-policy",
                    message=f"unknown exception type {exception_type!r}{extra}; allowed: {', '.join(allowed)}",
                    path=at(here, "ExceptionType", position),
                    allowed=allowed,
                )
        for exception_type, count in Counter(policy.exception_type).items():
            if count > 1:
                yield _problem(
                    "retry-policy",
                    f"{exception_type!r} is listed {count} times",
                    at(here, "ExceptionType"),
                    "warning",
                )


def check_cache_config(step: Step, location: Location) -> Iterator[Problem]:
    config = step.cache_config
    if config is None:
        return
    here = at(location, "CacheConfig")
    if step.type not in CACHEABLE_STEP_TYPES:
        yield _problem(
            "cache-config",
            f"{step.type} steps are never cached, so CacheConfig has no effect "
            f"(cacheable: {', '.join(sorted(CACHEABLE_STEP_TYPES))})",
            here,
            "warning",
        )
    if config.expire_after is not None:
        try:
            parse_expire_after(config.expire_after)
        except DurationError as exc:
            yield _problem("cache-config", str(exc), at(here, "ExpireAfter"))
    elif config.enabled and step.type in CACHEABLE_STEP_TYPES:
        yield _problem(
            "cache-config",
            "caching is enabled without ExpireAfter; the docs require a timeout when caching is on",
            here,
            "warning",
        )


def check_property_files(step: Step, location: Location) -> Iterator[Problem]:
    if not step.property_files:
        return
    here = at(location, "PropertyFiles")
    if step.type != "Processing":
        yield _problem(
            "property-file", f"PropertyFiles are only supported on Processing steps, not {step.type}", here
        )
        return
    outputs = step.arguments.get("ProcessingOutputConfig") if isinstance(step.arguments, dict) else None
    items = outputs.get("Outputs") if isinstance(outputs, dict) and not is_expression(outputs) else None
    output_names = literal_names(items, "OutputName") if items is not None else None
    for name, count in Counter(p.property_file_name for p in step.property_files).items():
        if count > 1:
            yield _problem("property-file", f"property file {name!r} is declared {count} times", here)
    for index, property_file in enumerate(step.property_files):
        if output_names is not None and property_file.output_name not in output_names:
            yield _problem(
                "property-file",
                f"OutputName {property_file.output_name!r} is not an output of this step "
                f"(outputs: {', '.join(sorted(output_names)) or 'none'})",
                at(here, index, "OutputName"),
            )


def check_output_parameters(step: Step, location: Location) -> Iterator[Problem]:
    outputs = getattr(step, "output_parameters", None) or []
    for name, count in Counter(o.output_name for o in outputs).items():
        if count > 1:
            yield _problem(
                "output-parameter",
                f"output {name!r} is declared {count} times",
                at(location, "OutputParameters"),
            )


def check_check_step(step: QualityCheckStep | ClarifyCheckStep, location: Location) -> Iterator[Problem]:
    allowed = CHECK_TYPES[step.type]
    if step.check_type not in allowed:
        yield Problem(
            kind="schema",
            message=f"got {describe_value(step.check_type)}; allowed values: {', '.join(allowed)}",
            path=at(location, "CheckType"),
            allowed=allowed,
        )
    for field_name in _CHECK_FLAGS:
        value = getattr(step, field_name)
        if not isinstance(value, bool) and not is_expression(value):
            alias = type(step).model_fields[field_name].alias or field_name
            yield _problem(
                "schema",
                f"must be a boolean or an expression, got {describe_value(value)}",
                at(location, alias),
            )


def check_condition_arguments(step: ConditionStep, location: Location) -> Iterator[Problem]:
    for key in step.arguments.model_extra or {}:
        yield _problem("schema", "unknown property of Condition Arguments", at(location, "Arguments", key))
    try:
        CONDITION_LIST.validate_python(step.arguments.conditions, strict=True)
    except pydantic.ValidationError as exc:
        yield from problems_from_validation_error(exc, (*location, "Arguments", "Conditions"))


def check_envelope(step: Step, location: Location) -> Iterator[Problem]:
    """Every envelope rule for one step."""
    yield from check_retry_policies(step, location)
    yield from check_cache_config(step, location)
    yield from check_property_files(step, location)
    yield from check_output_parameters(step, location)
    if isinstance(step, QualityCheckStep | ClarifyCheckStep):
        yield from check_check_step(step, location)
    if isinstance(step, ConditionStep):
        yield from check_condition_arguments(step, location)
