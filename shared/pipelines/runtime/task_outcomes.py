"""What a StepRunner's typed Task ended with, in the engine's terms (StepResult or StepFailed).

The StepRunner reports ``{"result": <Task output>}`` or ``{"error": {"Error", "Cause"}}`` (the
Task error Step Functions caught). The engine classifies errors from an API error code and a
job's FailureReason, so this module only has to recover those two from the shapes Step
Functions produces:

================================================  ============================================
Task error                                        becomes
================================================  ============================================
``States.TaskFailed`` + a Describe* JSON Cause    the job's FailureReason (a .sync job, or the
                                                  AutoML poll loop, ended Failed or Stopped); an
                                                  endpoint's FailureReason (Failed, or an update
                                                  rolled back); an EMR Serverless job run's
                                                  stateDetails; a Job's or an inference
                                                  component's FailureReason
``SageMaker.AmazonSageMakerException`` (any       the ``Error Code: X`` inside the Cause
``<Service>.<Name>`` with a Java-SDK style Cause)
``SageMaker.ThrottlingException`` (aws-sdk)       ``ThrottlingException``
``Lambda.ServiceException``, ``Lambda.*``         the Lambda service error code
``States.Timeout``                                a timeout (not retryable)
an unhandled function error (``ValueError``)      ``Lambda function <arn> failed: <type>: <message>``
================================================  ============================================

Reasons use the embedded runners' wording where both runtimes can fail the same way, so a
step fails with the same FailureReason whichever runtime ran it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.definition.models import LambdaStep, Step
from pipelines.engine.retry import classify
from pipelines.runners.base import StepFailed, StepResult
from pipelines.runners.outputs import lambda_step_result
from pipelines.stepfunctions.routes import DEFAULT_LAMBDA_TIMEOUT_SECONDS

_JAVA_ERROR_CODE = re.compile(r"Error Code: ([A-Za-z0-9_.]+)")
_DETAIL_SUFFIX = re.compile(r"\s*\((Service|Status Code):.*\)\s*$", re.DOTALL)
_GENERIC_SERVICE_EXCEPTIONS = frozenset(
    {"AmazonSageMakerException", "AWSLambdaException", "SdkClientException", "AmazonServiceException"}
)
_JOB_TYPES_STATUS = {
    "ProcessingJobStatus": "Processing",
    "TrainingJobStatus": "Training",
    "TransformJobStatus": "Transform",
    "HyperParameterTuningJobStatus": "Tuning",
    "AutoMLJobStatus": "AutoML",
}

DESCRIBED_ARNS = {"Job": "JobArn", "InferenceComponent": "InferenceComponentArn"}
"""Routes whose result is their resource's Describe* response: the step's properties, and the ARN
member that becomes its metadata (PipelineExecutionStepMetadata's ``Job`` / ``InferenceComponent``)."""

Describer = Callable[[str, str], dict[str, Any]]
"""(operation, name or ARN) -> the Describe* response, called as the pipeline's role."""


@dataclass(frozen=True)
class TaskError:
    error: str
    cause: str

    @classmethod
    def from_outcome(cls, value: Any) -> TaskError:
        data = value if isinstance(value, Mapping) else {}
        return cls(str(data.get("Error") or "States.Runtime"), str(data.get("Cause") or ""))


def step_failure(step: Step, error: TaskError, *, function_arn: str | None = None) -> StepFailed:
    """The StepFailed a caught Task error means for ``step``."""
    if error.error == "States.TaskFailed":
        return _task_failed(step, error.cause)
    if error.error == "States.Timeout":
        if isinstance(step, LambdaStep):
            timeout = step.timeout_seconds or DEFAULT_LAMBDA_TIMEOUT_SECONDS
            return StepFailed(
                f"Lambda function {function_arn or step.function_arn} timed out after {timeout:g} seconds",
                error_code=error.error,
            )
        return StepFailed(f"The step timed out: {error.cause or error.error}", error_code=error.error)
    service, _, name = error.error.partition(".")
    if (
        name
        and service[:1].isupper()
        and service != "States"
        and (name.endswith("Exception") or "(Service:" in error.cause)
    ):
        return _service_error(step, service, name, error.cause)
    if isinstance(step, LambdaStep):
        return _function_error(function_arn or str(step.function_arn), error)
    return StepFailed(f"{error.error}: {error.cause}" if error.cause else error.error, error_code=None)


def _task_failed(step: Step, cause: str) -> StepFailed:
    described = _json_object(cause)
    if described is None:
        return StepFailed(cause or "The step's task failed", error_code=None)
    if "EndpointStatus" in described:
        return _endpoint_failed(described)
    if "JobStatus" in described or "InferenceComponentStatus" in described:
        return _v3_resource_failed(described)
    job_run = described.get("jobRun", described.get("JobRun"))
    if isinstance(job_run, dict):
        return _job_run_failed(job_run)
    reason = described.get("FailureReason")
    if isinstance(reason, str) and reason:
        return StepFailed(reason, error_code=None)
    status_member = next((k for k in _JOB_TYPES_STATUS if k in described), None)
    status = described.get(status_member) if status_member else None
    return StepFailed(f"The {step.type} job ended {status or 'unsuccessfully'} without a FailureReason")


def _endpoint_failed(described: Mapping[str, Any]) -> StepFailed:
    name = described.get("EndpointName")
    status = described.get("EndpointStatus")
    reason = described.get("FailureReason")
    requested = described.get("RequestedEndpointConfigName")
    if status == "InService" and requested and described.get("EndpointConfigName") != requested:
        message = (
            f"The update of endpoint {name} to EndpointConfig {requested} was rolled back; it still "
            f"serves {described.get('EndpointConfigName')}"
        )
        return StepFailed(f"{message}: {reason}" if reason else f"{message}.", error_code=None)
    if isinstance(reason, str) and reason:
        return StepFailed(reason, error_code=None)
    return StepFailed(f"Endpoint {name} ended {status} without a FailureReason", error_code=None)


def _v3_resource_failed(described: Mapping[str, Any]) -> StepFailed:
    """A Job (DescribeJob) or an inference component (DescribeInferenceComponent) that ended
    Failed or Stopped: its FailureReason, else which one ended how."""
    reason = described.get("FailureReason")
    if isinstance(reason, str) and reason:
        return StepFailed(reason, error_code=None)
    if "JobStatus" in described:
        what = f"{described.get('JobCategory')} job {described.get('JobName')}"
        status = described.get("JobStatus")
    else:
        what = f"Inference component {described.get('InferenceComponentName')}"
        status = described.get("InferenceComponentStatus")
    return StepFailed(f"{what} ended {status} without a FailureReason", error_code=None)


def _job_run_failed(job_run: Mapping[str, Any]) -> StepFailed:
    state = job_run.get("state", job_run.get("State"))
    details = job_run.get("stateDetails", job_run.get("StateDetails"))
    run_id = job_run.get("jobRunId", job_run.get("JobRunId"))
    message = f"EMR Serverless job run {run_id} ended {state or 'unsuccessfully'}"
    return StepFailed(f"{message}: {details}" if details else message, error_code=None)


def _service_error(step: Step, service: str, name: str, cause: str) -> StepFailed:
    message = _DETAIL_SUFFIX.sub("", cause).strip() or name
    code = name
    if name in _GENERIC_SERVICE_EXCEPTIONS:
        found = _JAVA_ERROR_CODE.search(cause)
        code = found.group(1) if found else name
    code = _known_code(step.type, f"{service}.{code}", code)
    return StepFailed(f"{code}: {message}", error_code=code)


def _known_code(step_type: str, qualified: str, bare: str) -> str:
    """The spelling the engine's classifier knows: ``Lambda.ServiceException`` or the bare
    code (``ThrottlingException``); with ``Exception`` dropped when only that form is known."""
    for candidate in (qualified, bare, bare.removesuffix("Exception")):
        if classify(step_type, candidate) is not None:
            return candidate
    return bare


def _function_error(function_arn: str, error: TaskError) -> StepFailed:
    payload = _json_object(error.cause) or {}
    error_type = payload.get("errorType") or error.error
    message = payload.get("errorMessage") or error.cause
    return StepFailed(f"Lambda function {function_arn} failed: {error_type}: {message}")


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def step_result(
    step: Step,
    result: Any,
    *,
    arguments: Any,
    job_name: str,
    function_arn: str | None,
    describe: Describer,
) -> StepResult:
    """The StepResult of a Task that succeeded; raises StepFailed when the output does not fit
    the step (a Lambda that does not return its declared outputs)."""
    if step.type == "Lambda":
        assert isinstance(step, LambdaStep)
        arn = function_arn or str(step.function_arn)
        return lambda_step_result(step, result, arn)
    if step.type == "Model":
        described = describe("DescribeModel", job_name)
        return StepResult(properties=described, metadata={"Model": {"Arn": described.get("ModelArn")}})
    if step.type == "RegisterModel":
        package_arn = result.get("ModelPackageArn") if isinstance(result, dict) else None
        if not isinstance(package_arn, str):
            raise StepFailed(f"CreateModelPackage returned no ModelPackageArn: {result!r}")
        described = describe("DescribeModelPackage", package_arn)
        return StepResult(properties=described, metadata={"RegisterModel": {"Arn": package_arn}})
    if step.type == "EndpointConfig":
        name = arguments.get("EndpointConfigName") if isinstance(arguments, dict) else None
        described = describe("DescribeEndpointConfig", str(name or job_name))
        return StepResult(
            properties=described, metadata={"EndpointConfig": {"Arn": described.get("EndpointConfigArn")}}
        )
    if step.type == "Endpoint":
        name = result.get("EndpointName") if isinstance(result, dict) else None
        if not isinstance(name, str):
            raise StepFailed(f"The endpoint route returned no EndpointName: {result!r}")
        described = describe("DescribeEndpoint", name)
        return StepResult(properties=described, metadata={"Endpoint": {"Arn": described.get("EndpointArn")}})
    if step.type == "EMRServerless":
        return _job_run_result(result, describe)
    if step.type in DESCRIBED_ARNS:
        # the route's poll loop ends on the Describe* response itself
        if not isinstance(result, dict):
            raise StepFailed(
                f"The {step.type} route returned {type(result).__name__}, not its Describe response"
            )
        properties = json_safe(result)
        return StepResult(
            properties=properties, metadata={step.type: {"Arn": properties.get(DESCRIBED_ARNS[step.type])}}
        )
    if not isinstance(result, dict):
        raise StepFailed(f"The {step.type} task returned {type(result).__name__}, not its Describe response")
    return StepResult(properties=json_safe(result))


def _job_run_result(result: Any, describe: Describer) -> StepResult:
    """Properties: GetJobRun's response (the v3 SDK's root shape ``GetJobRunResponse``), read as
    the pipeline's role; startJobRun.sync itself answers only the ids."""
    data = result if isinstance(result, dict) else {}
    application_id = data.get("ApplicationId", data.get("applicationId"))
    job_run_id = data.get("JobRunId", data.get("jobRunId"))
    if not isinstance(application_id, str) or not isinstance(job_run_id, str):
        raise StepFailed(f"startJobRun.sync returned no ApplicationId and JobRunId: {result!r}")
    described = describe("GetJobRun", f"{application_id}/{job_run_id}")
    job_run = described.get("jobRun", {})
    monitoring = (job_run.get("configurationOverrides") or {}).get("monitoringConfiguration") or {}
    log_uri = (monitoring.get("s3MonitoringConfiguration") or {}).get("logUri")
    metadata = {"ApplicationId": application_id, "JobRunId": job_run_id, "JobRunName": job_run.get("name")}
    if isinstance(log_uri, str):
        metadata["LogFilePath"] = log_uri
    return StepResult(properties=described, metadata={"EMRServerless": metadata})


def json_safe(value: Any) -> Any:
    """Describe responses as JSON values (datetimes as ISO text), as the store will keep them."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "read"):
        return value.read().decode()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
