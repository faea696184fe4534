"""Error classification into the five exception types, and retry-policy decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pipelines.definition.models import RetryPolicy
from pipelines.engine import Engine, RunStep, StartRequest, upsert_pipeline
from pipelines.engine.retry import (
    CAPACITY_ERROR,
    EMR_RESOURCE_LIMIT,
    JOB_INTERNAL_ERROR,
    RESOURCE_LIMIT,
    SERVICE_FAULT,
    THROTTLING,
    classify,
    decide_retry,
)
from pipelines.runners.base import StepFailed

from .fakes import definition, processing_step

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("step_type", "code", "reason", "expected"),
    [
        ("Processing", "ThrottlingException", "", THROTTLING),
        ("Lambda", "TooManyRequestsException", "", THROTTLING),
        ("Training", "InsufficientInstanceCapacity", "", CAPACITY_ERROR),
        ("Training", "CapacityError", "", CAPACITY_ERROR),
        ("Training", "ResourceLimitExceeded", "", RESOURCE_LIMIT),
        ("Training", "InternalServerError", "", JOB_INTERNAL_ERROR),
        ("Model", "InternalServerError", "", SERVICE_FAULT),  # an API error, not a job's
        ("RegisterModel", "ServiceUnavailable", "", SERVICE_FAULT),
        ("Lambda", "InternalFailure", "", SERVICE_FAULT),
        ("Training", "Step.THROTTLING", "", THROTTLING),
        (
            "Training",
            None,
            "ClientError: InsufficientInstanceCapacity: We currently do not have capacity",
            CAPACITY_ERROR,
        ),
        ("Processing", None, "ResourceLimitExceeded: The account-level service limit", RESOURCE_LIMIT),
        ("Transform", None, "InternalServerError: We encountered an internal error", JOB_INTERNAL_ERROR),
        ("Training", "AlgorithmError", "exit code 1", None),
        ("Processing", None, "ValueError: bad input", None),
        # a specific code wins over words in the reason: local runners put the script's stderr there
        ("Processing", "AlgorithmError", "script said: botocore ThrottlingException (Rate exceeded)", None),
        ("Training", "ClientError", "input s3://b/ResourceLimitExceeded/x not found", None),
        ("Processing", "ValidationException", "InternalServerError in the request", None),
        ("Lambda", "ValidationException", "handler printed ServiceUnavailable", None),
        # ... and so does an AlgorithmError FailureReason (the rest is the user's output)
        ("Training", None, "AlgorithmError: ExecuteUserScriptError: ThrottlingException", None),
        # generic wrappers (Step Functions, Java SDK) carry the job's FailureReason as the reason
        (
            "Training",
            "SageMaker.AmazonSageMakerException",
            "CapacityError: Unable to provision requested ML compute capacity. Please retry.",
            CAPACITY_ERROR,
        ),
        ("Processing", "SageMaker.AmazonSageMakerException", "ResourceLimitExceeded", RESOURCE_LIMIT),
        (
            "Transform",
            "SageMaker.AmazonSageMakerException",
            "InternalServerError: We encountered an internal error.",
            JOB_INTERNAL_ERROR,
        ),
        ("Training", "States.TaskFailed", "CapacityError: Unable to provision", CAPACITY_ERROR),
        ("Model", None, "InternalServerError: We encountered an internal error", SERVICE_FAULT),  # no job
        # EMR's own limits
        (
            "EMR",
            "ValidationException",
            "Maximum number of active steps(State = 'Running', 'Pending' or 'Cancel_Pending') for cluster "
            "exceeded.",
            EMR_RESOURCE_LIMIT,
        ),
        ("EMR", "LimitExceededException", "", EMR_RESOURCE_LIMIT),
        ("EMR", None, "Maximum number of active steps for cluster exceeded", EMR_RESOURCE_LIMIT),
        ("EMR", "AlgorithmError", "Maximum number of active steps", None),
        ("EMR", "ThrottlingException", "", THROTTLING),
        ("EMR", "Emr.RESOURCE_LIMIT", "", EMR_RESOURCE_LIMIT),
    ],
)
def test_errors_are_classified_from_the_code_or_the_failure_reason(step_type, code, reason, expected) -> None:
    assert classify(step_type, code, reason) == expected


def test_a_policy_on_emr_resource_limit_retries_an_emr_step(store, clock) -> None:
    emr = {
        "Name": "Spark",
        "Type": "EMR",
        "Arguments": {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "command-runner.jar"}}},
        "RetryPolicies": [{"ExceptionType": ["Emr.RESOURCE_LIMIT"], "IntervalSeconds": 30, "MaxAttempts": 2}],
    }
    upsert_pipeline(store, "p", definition(emr), clock=clock)
    engine = Engine(store, clock=clock)
    execution_id = engine.start(StartRequest(pipeline_name="p")).execution.execution_id
    engine.step_started(execution_id, "Spark", 1)
    full = StepFailed(
        "ValidationException: Maximum number of active steps(State = 'Running', 'Pending' or "
        "'Cancel_Pending') for cluster exceeded.",
        error_code="ValidationException",
    )
    retried = engine.step_failed(execution_id, "Spark", 1, full)
    (again,) = retried.actions
    assert isinstance(again, RunStep) and again.attempt == 2
    assert again.not_before == clock.now() + timedelta(seconds=30)
    assert retried.steps["Spark"].failures[0].exception_type == EMR_RESOURCE_LIMIT


def policy(**fields) -> RetryPolicy:
    return RetryPolicy.model_validate(fields)


CAPACITY = policy(ExceptionType=[CAPACITY_ERROR], IntervalSeconds=10, BackoffRate=3.0, MaxAttempts=2)


@pytest.mark.parametrize(
    ("step_type", "policies", "exception_type", "previous", "retry", "delay"),
    [
        # the default policy: service faults and throttling on every step type, 1 s doubling
        ("Lambda", [], SERVICE_FAULT, [], True, 1.0),
        ("Callback", [], THROTTLING, [THROTTLING, THROTTLING], True, 4.0),
        ("Condition", [], THROTTLING, [THROTTLING] * 5, False, 0.0),  # MaxAttempts 5 by default
        ("Training", [], CAPACITY_ERROR, [], False, 0.0),  # not retried without a policy
        ("Training", [CAPACITY], CAPACITY_ERROR, [], True, 10.0),
        ("Training", [CAPACITY], CAPACITY_ERROR, [CAPACITY_ERROR], True, 30.0),
        ("Training", [CAPACITY], CAPACITY_ERROR, [CAPACITY_ERROR, CAPACITY_ERROR], False, 0.0),
        (
            "Training",
            [CAPACITY],
            CAPACITY_ERROR,
            [SERVICE_FAULT, SERVICE_FAULT],
            True,
            10.0,
        ),  # counted per policy
        ("Lambda", [CAPACITY], CAPACITY_ERROR, [], False, 0.0),  # Lambda steps take no policies
        ("Training", [policy(ExceptionType=[SERVICE_FAULT], MaxAttempts=0)], SERVICE_FAULT, [], False, 0.0),
        ("Tuning", [policy(ExceptionType=[JOB_INTERNAL_ERROR])], JOB_INTERNAL_ERROR, [], False, 0.0),
        ("Training", [policy(ExceptionType=[JOB_INTERNAL_ERROR])], JOB_INTERNAL_ERROR, [], True, 1.0),
        ("Training", [], None, [], False, 0.0),
    ],
)
def test_retry_decisions(step_type, policies, exception_type, previous, retry, delay) -> None:
    decision = decide_retry(step_type, policies, exception_type, previous, NOW, NOW)
    assert decision.retry is retry
    assert decision.delay_seconds == pytest.approx(delay)


@pytest.mark.parametrize(("minutes_running", "retry"), [(59, True), (60, False), (61, False)])
def test_expire_after_min_counts_from_the_first_start(minutes_running, retry) -> None:
    expiring = policy(ExceptionType=[RESOURCE_LIMIT], ExpireAfterMin=60)
    decision = decide_retry(
        "Training",
        [expiring],
        RESOURCE_LIMIT,
        [RESOURCE_LIMIT] * 30,
        NOW,
        NOW + timedelta(minutes=minutes_running),
    )
    assert decision.retry is retry


def test_expire_after_min_zero_never_retries() -> None:
    assert not decide_retry(
        "Training", [policy(ExceptionType=[RESOURCE_LIMIT], ExpireAfterMin=0)], RESOURCE_LIMIT, [], NOW, NOW
    ).retry


def test_a_script_that_prints_throttling_is_not_retried_as_throttling(store, clock) -> None:
    upsert_pipeline(store, "p", definition(processing_step("Prep")), clock=clock)
    engine = Engine(store, clock=clock)
    execution_id = engine.start(StartRequest(pipeline_name="p")).execution.execution_id
    engine.step_started(execution_id, "Prep", 1)
    stderr_tail = "AlgorithmError: exit code 1: botocore.exceptions.ClientError: ThrottlingException"
    done = engine.step_failed(execution_id, "Prep", 1, StepFailed(stderr_tail, error_code="AlgorithmError"))
    assert done.steps["Prep"].status == "Failed" and done.steps["Prep"].attempt == 1
    assert done.steps["Prep"].failures[0].exception_type is None
