"""Task outcomes as Step Functions reports them -> the engine's StepResult / StepFailed, and the
retry exception type the engine then classifies each failure as."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pipelines.engine.retry import (
    CAPACITY_ERROR,
    JOB_INTERNAL_ERROR,
    RESOURCE_LIMIT,
    SERVICE_FAULT,
    THROTTLING,
    classify,
)
from pipelines.runners.base import StepFailed
from pipelines.runners.outputs import OutputParameterError
from pipelines.runtime.task_outcomes import TaskError, step_failure, step_result

from tests.stepfunctions.builders import make_step

ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def java_cause(message: str, code: str) -> str:
    return f"{message} (Service: AmazonSageMaker; Status Code: 400; Error Code: {code}; Request ID: r-1; Proxy: null)"


def described(status: str, reason: str | None = None) -> str:
    body: dict[str, Any] = {"TrainingJobName": "j", "TrainingJobStatus": status}
    if reason is not None:
        body["FailureReason"] = reason
    return json.dumps(body)


@pytest.mark.parametrize(
    ("step_type", "error", "cause", "reason", "exception_type"),
    [
        (
            "Processing",
            "SageMaker.AmazonSageMakerException",
            java_cause("Rate exceeded", "ThrottlingException"),
            "ThrottlingException: Rate exceeded",
            THROTTLING,
        ),
        (
            "Training",
            "SageMaker.AmazonSageMakerException",
            java_cause("The account-level service limit is 0 Instances", "ResourceLimitExceeded"),
            "ResourceLimitExceeded: The account-level service limit is 0 Instances",
            RESOURCE_LIMIT,
        ),
        (
            "RegisterModel",
            "SageMaker.ResourceLimitExceededException",
            "Too many versions (Service: SageMaker, Status Code: 400, Request ID: r-2)",
            "ResourceLimitExceededException: Too many versions",
            RESOURCE_LIMIT,
        ),
        (
            "RegisterModel",
            "SageMaker.ThrottlingException",
            "Slow down",
            "ThrottlingException: Slow down",
            THROTTLING,
        ),
        (
            "Training",
            "States.TaskFailed",
            described("Failed", "CapacityError: Unable to provision requested ML compute capacity."),
            "CapacityError: Unable to provision requested ML compute capacity.",
            CAPACITY_ERROR,
        ),
        (
            "Training",
            "States.TaskFailed",
            described("Failed", "InternalServerError: We encountered an internal error."),
            "InternalServerError: We encountered an internal error.",
            JOB_INTERNAL_ERROR,
        ),
        (
            "Training",
            "States.TaskFailed",
            described("Failed", "AlgorithmError: ExecuteUserScriptError"),
            "AlgorithmError: ExecuteUserScriptError",
            None,
        ),
        (
            "Training",
            "States.TaskFailed",
            described("Stopped"),
            "The Training job ended Stopped without a FailureReason",
            None,
        ),
        ("EMR", "States.TaskFailed", "Step s-1 FAILED", "Step s-1 FAILED", None),
        (
            "Lambda",
            "Lambda.ServiceException",
            "Lambda is unavailable (Service: AWSLambda; Status Code: 500; Error Code: ServiceException; Request ID: x)",
            "Lambda.ServiceException: Lambda is unavailable",
            SERVICE_FAULT,
        ),
        (
            "Lambda",
            "Lambda.TooManyRequestsException",
            "Rate exceeded (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException)",
            "TooManyRequestsException: Rate exceeded",
            THROTTLING,
        ),
        ("Lambda", "States.Timeout", "", f"Lambda function {ARN} timed out after 120 seconds", None),
        (
            "Lambda",
            "ValueError",
            json.dumps({"errorMessage": "bad threshold", "errorType": "ValueError", "stackTrace": []}),
            f"Lambda function {ARN} failed: ValueError: bad threshold",
            None,
        ),
        ("Processing", "States.Runtime", "KeyError('x')", "States.Runtime: KeyError('x')", None),
        (
            "Processing",
            "StepRunner.UnknownRoute",
            "no StepRunner route X",
            "StepRunner.UnknownRoute: no StepRunner route X",
            None,
        ),
    ],
)
def test_task_errors_become_failures_the_engine_classifies(
    step_type: str, error: str, cause: str, reason: str, exception_type: str | None
) -> None:
    step = make_step(
        step_type,
        {"ClusterId": "j-1", "StepConfig": {}} if step_type == "EMR" else {},
        **({"FunctionArn": ARN} if step_type == "Lambda" else {}),
    )
    failed = step_failure(step, TaskError.from_outcome({"Error": error, "Cause": cause}), function_arn=None)
    assert failed.message == reason
    assert classify(step_type, failed.error_code, failed.message) == exception_type


def test_lambda_results_are_typed_by_the_declared_outputs() -> None:
    step = make_step(
        "Lambda", {}, FunctionArn=ARN, OutputParameters=[{"OutputName": "n", "OutputType": "Integer"}]
    )
    result = step_result(
        step, {"n": "7", "extra": 1}, arguments={}, job_name="", function_arn=ARN, describe=_no_describe
    )
    assert result.properties == {"OutputParameters": [{"Name": "n", "Value": 7}]}
    assert result.metadata == {"Lambda": {"Arn": ARN, "OutputParameters": [{"Name": "n", "Value": "7"}]}}
    with pytest.raises(OutputParameterError, match="'n' is declared"):
        step_result(step, {"m": 1}, arguments={}, job_name="", function_arn=ARN, describe=_no_describe)
    with pytest.raises(StepFailed, match="must return an object"):
        step_result(step, [1], arguments={}, job_name="", function_arn=ARN, describe=_no_describe)


def test_model_and_register_model_properties_are_their_describe_responses() -> None:
    calls: list[tuple[str, str]] = []

    def describe(operation: str, name: str) -> dict[str, Any]:
        calls.append((operation, name))
        return (
            {"ModelName": name, "ModelArn": f"arn:model/{name}"}
            if operation == "DescribeModel"
            else {"ModelPackageArn": name}
        )

    model = step_result(
        make_step("Model", {}),
        {"ModelArn": "x"},
        arguments={},
        job_name="m-1",
        function_arn=None,
        describe=describe,
    )
    package = step_result(
        make_step("RegisterModel", {}),
        {"ModelPackageArn": "arn:pkg/1"},
        arguments={},
        job_name="",
        function_arn=None,
        describe=describe,
    )
    assert calls == [("DescribeModel", "m-1"), ("DescribeModelPackage", "arn:pkg/1")]
    assert model.metadata == {"Model": {"Arn": "arn:model/m-1"}}
    assert package.metadata == {"RegisterModel": {"Arn": "arn:pkg/1"}}


def test_job_results_are_kept_as_json() -> None:
    from datetime import UTC, datetime

    result = step_result(
        make_step("Training", {}),
        {"TrainingJobName": "j", "CreationTime": datetime(2024, 1, 1, tzinfo=UTC)},
        arguments={},
        job_name="j",
        function_arn=None,
        describe=_no_describe,
    )
    assert result.properties == {"TrainingJobName": "j", "CreationTime": "2024-01-01T00:00:00+00:00"}


def _no_describe(operation: str, name: str) -> dict[str, Any]:
    raise AssertionError("no describe expected")
