"""Retry policies: classify a step error into the service's retry exception types, then decide
whether another attempt starts and after how long.

SERVICE_FAULT and THROTTLING are retried on every step type by default; a RetryPolicy on a step
type that supports policies overrides that default for the types it lists and adds the others.

Classification (:func:`classify`) trusts a specific error code over any text. The failure
reason is read only when the code says nothing about the cause: no code at all (a job's
FailureReason) or one of :data:`GENERIC_ERROR_CODES` (a wrapper whose text carries the real
cause, such as a Step Functions ``States.TaskFailed`` or the Java SDK's
``SageMaker.AmazonSageMakerException``). Any other code classifies by itself, so a local job
whose script printed "ThrottlingException" (``AlgorithmError``, with the stderr tail in the
reason) is not retried as throttling. In a job FailureReason, a leading ``AlgorithmError:``
means the user's code failed and the rest is the user's output, so it is not searched either.
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
EMR_RESOURCE_LIMIT = "Emr.RESOURCE_LIMIT"
"""EMR's own limits (at most 256 PENDING steps on a cluster, which the EMR docs suggest a
retry policy for); only EMR steps fail with it, and the validator allows it on EMR steps only."""
EXCEPTION_TYPES: frozenset[str] = frozenset(
    {SERVICE_FAULT, THROTTLING, JOB_INTERNAL_ERROR, CAPACITY_ERROR, RESOURCE_LIMIT, EMR_RESOURCE_LIMIT}
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
        "Job",
    }
)
"""Step types whose RetryPolicies apply (the docs' list, plus EMR/NotebookJob as the SDK emits
them, and the v3 SDK's Job step, which takes ``SageMakerJobStepRetryPolicy``)."""

JOB_STEP_TYPES: frozenset[str] = frozenset(
    {"Processing", "Training", "Transform", "Tuning", "AutoML", "ClarifyCheck", "QualityCheck", "EMR", "Job"}
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

GENERIC_ERROR_CODES: frozenset[str] = frozenset(
    {
        "States.TaskFailed",
        "SageMaker.AmazonSageMakerException",
        "AmazonSageMakerException",
        "ElasticMapReduce.AmazonElasticMapReduceException",
        "AmazonElasticMapReduceException",
        "AmazonServiceException",
    }
)
"""Codes that only say "the call or the job failed": the reason text carries the cause."""

_USER_CODE_FAILED = "algorithmerror:"  # a FailureReason whose rest is the user's own output

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

# EMR: its API errors (ValidationException, LimitExceededException) carry EMR's own message;
# AddJobFlowSteps on a cluster with 256 active steps says "Maximum number of active steps(State =
# 'Running', 'Pending' or 'Cancel_Pending') for cluster exceeded."
_EMR_LIMIT_CODES = frozenset({"LimitExceededException", "LimitExceeded"})
_EMR_MESSAGE_CODES = frozenset({"ValidationException", "InvalidRequestException"}) | GENERIC_ERROR_CODES
_EMR_LIMIT_MARKER = "maximum number of active steps"


def classify(step_type: str, error_code: str | None, reason: str = "") -> str | None:
    """The retry exception type of an error, or None when no policy can retry it."""
    if step_type == "EMR":
        emr = _classify_emr(error_code, reason)
        if emr is not None:
            return emr
    if error_code and error_code not in GENERIC_ERROR_CODES:
        return _by_code(step_type, error_code)
    text = reason.lower()
    if text.lstrip().startswith(_USER_CODE_FAILED):
        return None
    for marker, exception_type in _REASON_MARKERS:
        if marker in text:
            if exception_type == JOB_INTERNAL_ERROR and step_type not in JOB_STEP_TYPES:
                return SERVICE_FAULT  # no job of its own: the internal error is a service's
            return exception_type
    return None


def _by_code(step_type: str, error_code: str) -> str | None:
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
    return None


def _classify_emr(error_code: str | None, reason: str) -> str | None:
    """Emr.RESOURCE_LIMIT for EMR's limits: a LimitExceededException, or a cluster refusing a
    step because 256 are already active (in EMR's own message, not a job's output)."""
    if error_code in _EMR_LIMIT_CODES:
        return EMR_RESOURCE_LIMIT
    if error_code is None or error_code in _EMR_MESSAGE_CODES:
        text = reason.lower()
        if not text.lstrip().startswith(_USER_CODE_FAILED) and _EMR_LIMIT_MARKER in text:
            return EMR_RESOURCE_LIMIT
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
