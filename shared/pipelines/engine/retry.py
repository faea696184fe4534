"""Retry policies: classify a step error into the service's five exception types, then decide
whether another attempt starts and after how long.

SERVICE_FAULT and THROTTLING are retried on every step type by default; a RetryPolicy on a step
type that supports policies overrides that default for the types it lists and adds the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelines.definition.models import RetryPolicy

SERVICE_FAULT = "Step.SERVICE_FAULT"
THROTTLING = "Step.THROTTLING"
JOB_INTERNAL_ERROR = "SageMaker.JOB_INTERNAL_ERROR"
CAPACITY_ERROR = "SageMaker.CAPACITY_ERROR"
RESOURCE_LIMIT = "SageMaker.RESOURCE_LIMIT"
EXCEPTION_TYPES: frozenset[str] = frozenset(
    {SERVICE_FAULT, THROTTLING, JOB_INTERNAL_ERROR, CAPACITY_ERROR, RESOURCE_LIMIT}
)

RETRY_POLICY_STEP_TYPES: frozenset[str] = frozenset(
    {
        "Processing",
        "Training",
        "Tuning",
        "AutoML",
        "Model",
        "RegisterModel",
        "Transform",
        "EMR",
        "NotebookJob",
    }
)
"""Step types whose RetryPolicies apply (the docs' list, plus EMR/NotebookJob as the SDK emits them)."""

JOB_STEP_TYPES: frozenset[str] = frozenset(
    {"Processing", "Training", "Transform", "Tuning", "AutoML", "ClarifyCheck", "QualityCheck", "EMR"}
)
"""Steps that run a job: an ``InternalServerError`` from them is the job's, not the API's."""

_NO_INTERNAL_ERROR_RETRY = frozenset({"Tuning", "AutoML"})  # "conduct retries internally"

_THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "EC2ThrottledException",
    }
)
_SERVICE_FAULT_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerException",
        "InternalError",
        "ServiceException",
        "ServiceFault",
        "ServerException",
        "Lambda.ServiceException",
        "Lambda.SdkClientException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_CAPACITY_CODES = frozenset(
    {"InsufficientInstanceCapacity", "InsufficientCapacityError", "InsufficientCapacity", "CapacityError"}
)
_RESOURCE_LIMIT_CODES = frozenset({"ResourceLimitExceeded", "ResourceLimitExceededException"})
_JOB_INTERNAL_CODES = frozenset({"InternalServerError", "JobInternalError"})

# Job FailureReason texts, most specific first.
_REASON_MARKERS: tuple[tuple[str, str], ...] = (
    ("insufficientinstancecapacity", CAPACITY_ERROR),
    ("insufficientcapacity", CAPACITY_ERROR),
    ("capacityerror", CAPACITY_ERROR),
    ("resourcelimitexceeded", RESOURCE_LIMIT),
    ("throttlingexception", THROTTLING),
    ("rate exceeded", THROTTLING),
    ("internalservererror", JOB_INTERNAL_ERROR),
    ("internal server error", JOB_INTERNAL_ERROR),
    ("serviceunavailable", SERVICE_FAULT),
)


def classify(step_type: str, error_code: str | None, reason: str = "") -> str | None:
    """The retry exception type of an error, or None when no policy can retry it."""
    if error_code:
        if error_code in EXCEPTION_TYPES:
            return error_code
        if error_code in _THROTTLING_CODES:
            return THROTTLING
        if error_code in _CAPACITY_CODES:
            return CAPACITY_ERROR
        if error_code in _RESOURCE_LIMIT_CODES:
            return RESOURCE_LIMIT
        if error_code in _JOB_INTERNAL_CODES:
            return JOB_INTERNAL_ERROR if step_type in JOB_STEP_TYPES else SERVICE_FAULT
        if error_code in _SERVICE_FAULT_CODES:
            return SERVICE_FAULT
    text = reason.lower()
    for marker, exception_type in _REASON_MARKERS:
        if marker in text:
            return exception_type
    return None


DEFAULT_POLICY = RetryPolicy.model_validate({"ExceptionType": [SERVICE_FAULT, THROTTLING]})
"""The service's automatic retry of service faults and throttling (IntervalSeconds 1,
BackoffRate 2.0, MaxAttempts 5)."""

DEFAULT_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    delay_seconds: float = 0.0
    reason: str = ""


def effective_policies(step_type: str, policies: Sequence[RetryPolicy]) -> list[RetryPolicy]:
    """The step's own policies (if its type supports them) followed by the default policy."""
    own = list(policies) if step_type in RETRY_POLICY_STEP_TYPES else []
    return [*own, DEFAULT_POLICY]


def decide_retry(
    step_type: str,
    policies: Sequence[RetryPolicy],
    exception_type: str | None,
    previous_failures: Sequence[str | None],
    first_started_at: datetime | None,
    now: datetime,
) -> RetryDecision:
    """Whether the failure just reported earns another attempt.

    ``previous_failures`` are the exception types of this run's earlier failed attempts; a
    policy counts the failures of the types it lists (Step Functions' retrier semantics), so
    MaxAttempts 2 means up to two retries of those errors.
    """
    if exception_type is None:
        return RetryDecision(False, reason="the error is not retryable")
    if exception_type == JOB_INTERNAL_ERROR and step_type in _NO_INTERNAL_ERROR_RETRY:
        return RetryDecision(False, reason=f"{step_type} jobs retry internal errors themselves")
    policy = next(
        (p for p in effective_policies(step_type, policies) if exception_type in p.exception_type), None
    )
    if policy is None:
        return RetryDecision(False, reason=f"no retry policy covers {exception_type}")
    matching = 1 + sum(1 for t in previous_failures if t in policy.exception_type)
    if policy.expire_after_min is not None:
        if policy.expire_after_min <= 0:
            return RetryDecision(False, reason="ExpireAfterMin is 0")
        started = first_started_at or now
        if now - started >= timedelta(minutes=policy.expire_after_min):
            return RetryDecision(False, reason=f"retries expired after {policy.expire_after_min} min")
    else:
        max_attempts = DEFAULT_MAX_ATTEMPTS if policy.max_attempts is None else policy.max_attempts
        if matching > max_attempts:
            return RetryDecision(False, reason=f"MaxAttempts {max_attempts} reached")
    delay = float(policy.interval_seconds) * (float(policy.backoff_rate) ** (matching - 1))
    return RetryDecision(True, delay_seconds=delay)
