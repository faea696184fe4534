"""A definition step -> the StepRunner execution input: route, typed request, delay, role, ids.

The same builder serves two callers: the engine (``step_runner_input``: resolved Arguments,
the attempt's job name; anything still unresolved is refused) and ``pipelines plan``
(``runner_input_template``: Arguments as written, placeholders for what is only known at run
time). The request is the exact parameter object of the route's integration, so the typed
Task passes it through unchanged (``"Arguments": "{% $states.input.request %}"``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pipelines import aws
from pipelines.definition.grammar import is_expression
from pipelines.definition.models import StepBase
from pipelines.stepfunctions.emr_serverless import emr_serverless_request
from pipelines.stepfunctions.errors import RunnerInputTooLarge, UnresolvedRequest
from pipelines.stepfunctions.routes import (
    DEFAULT_LAMBDA_TIMEOUT_SECONDS,
    ROUTES,
    Route,
    route_for,
)

EMR_ACTION_ON_FAILURE = "CONTINUE"
"""A failed EMR step must not take the cluster down itself: an existing cluster is the user's,
and a cluster we created is terminated by the StepRunner's own terminate state."""

MAX_INPUT_BYTES = 262_144
"""Step Functions' limit on an execution input (UTF-8 bytes)."""

STEP_FIELDS = ("FunctionArn", "SqsQueueUrl", "TimeoutSeconds")
"""Step-level fields (beside Arguments) that feed a request and may hold expressions."""


@dataclass(frozen=True)
class AttemptRequest:
    """What a step's request takes from its attempt beside the Arguments: the job name every
    route names its work with, the execution (a Callback message names it), the pipeline's
    ExperimentConfig and the runtime's job variables (merged into a job request), and a Callback
    step's token."""

    job_name: str
    execution_arn: str
    experiment_config: Mapping[str, str] | None = None
    callback_token: str | None = None
    job_environment: Mapping[str, str] = field(default_factory=dict)


def step_runner_input(
    step: StepBase,
    resolved_arguments: Any,
    *,
    job_name: str,
    role_arn: str,
    execution_arn: str,
    attempt: int,
    delay_seconds: float = 0,
    experiment_config: Mapping[str, str] | None = None,
    step_fields: Mapping[str, Any] | None = None,
    callback_token: str | None = None,
    report: Mapping[str, Any] | None = None,
    job_environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The StepRunner execution input for one attempt of ``step``.

    ``resolved_arguments`` and ``step_fields`` (resolved FunctionArn / SqsQueueUrl /
    TimeoutSeconds; the step's own literal values otherwise) must hold no expression, and a
    Callback step needs its ``callback_token``. ``report`` adds ids the engine wants back in
    the StepRunner's report. ``job_environment`` (the runtime's variables, e.g. MLflow's) is
    merged under a job request's own ``Environment``, which wins. Serialize with
    :func:`dump_input` so a repeated start sends the same string (Step Functions only dedupes
    identical inputs).
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    if delay_seconds < 0:
        raise ValueError(f"delay_seconds must be >= 0, got {delay_seconds}")
    route = route_for(step).route
    if route is Route.ENGINE:
        raise ValueError(f"step {step.name!r} ({step.type}) is decided by the engine, not a StepRunner")
    if route is Route.CALLBACK and not callback_token:
        raise ValueError(f"Callback step {step.name!r} needs its callback_token")
    runner_input = _runner_input(
        step,
        route,
        resolved_arguments,
        AttemptRequest(job_name, execution_arn, experiment_config, callback_token, job_environment or {}),
        role_arn=role_arn,
        attempt=attempt,
        delay=math.ceil(delay_seconds),
        step_fields=step_fields or {},
        report=report or {},
    )
    where = find_expression(runner_input)
    if where is not None:
        raise UnresolvedRequest(f"step {step.name!r}: StepRunner input still holds an expression at {where}")
    size = len(dump_input(runner_input).encode())
    if size > MAX_INPUT_BYTES:
        raise RunnerInputTooLarge(
            f"step {step.name!r}: StepRunner input is {size} bytes; Step Functions accepts {MAX_INPUT_BYTES}"
        )
    return runner_input


def runner_input_template(
    step: StepBase,
    *,
    job_name: str,
    role_arn: str,
    execution_arn: str,
    attempt: Any,
    delay: Any,
    experiment_config: Mapping[str, str] | None,
    callback_token: str,
) -> dict[str, Any] | None:
    """The StepRunner input as ``pipelines plan`` shows it: Arguments and step-level fields as
    written (expressions left in place), placeholders for run-time values; None for steps the
    engine decides without a StepRunner."""
    route = route_for(step).route
    if route is Route.ENGINE:
        return None
    return _runner_input(
        step,
        route,
        step.arguments,
        AttemptRequest(job_name, execution_arn, experiment_config, callback_token),
        role_arn=role_arn,
        attempt=attempt,
        delay=delay,
        step_fields={},
        report={},
    )


def dump_input(runner_input: Mapping[str, Any]) -> str:
    """Deterministic JSON for ``StartExecution(input=...)``."""
    return json.dumps(runner_input, sort_keys=True, separators=(",", ":"))


def find_expression(value: Any, path: str = "$") -> str | None:
    """The JSON path of the first pipeline expression inside ``value``, or None."""
    if is_expression(value):
        return path
    if isinstance(value, dict):
        for key, item in value.items():
            found = find_expression(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_expression(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _runner_input(
    step: StepBase,
    route: Route,
    arguments: Any,
    context: AttemptRequest,
    *,
    role_arn: str,
    attempt: Any,
    delay: Any,
    step_fields: Mapping[str, Any],
    report: Mapping[str, Any],
) -> dict[str, Any]:
    fields = {name: step_fields.get(name, _step_field(step, name)) for name in STEP_FIELDS}
    runner_input: dict[str, Any] = {
        "route": route.value,
        "delay": delay,
        "roleArn": role_arn,
        "request": build_request(route, arguments, context, fields),
        "report": {
            **report,
            "pipelineExecutionArn": context.execution_arn,
            "executionId": context.execution_arn.rsplit("/", 1)[-1],
            "stepName": step.name,
            "stepType": step.type,
            "attempt": attempt,
            "jobName": context.job_name,
        },
    }
    if route is Route.LAMBDA:
        timeout = fields["TimeoutSeconds"]
        runner_input["timeoutSeconds"] = DEFAULT_LAMBDA_TIMEOUT_SECONDS if timeout is None else timeout
    return runner_input


def build_request(route: Route, arguments: Any, context: AttemptRequest, fields: Mapping[str, Any]) -> Any:
    """The integration's parameters for ``route``: the Create* request with the job name set,
    ExperimentConfig and the runtime's job variables merged, or the Lambda / Callback / EMR
    request built from the step (``fields``: its step-level FunctionArn, SqsQueueUrl, ...)."""
    spec = ROUTES[route]
    job_name = context.job_name
    if route is Route.LAMBDA:
        return {"FunctionName": fields["FunctionArn"], "Payload": {} if arguments is None else arguments}
    if route is Route.CALLBACK:
        return {
            "QueueUrl": fields["SqsQueueUrl"],
            "MessageBody": {
                "token": context.callback_token,
                "pipelineExecutionArn": context.execution_arn,
                "arguments": {} if arguments is None else arguments,
            },
        }
    if route is Route.EMR:
        request = {"ClusterId": arguments["ClusterId"], "Step": _emr_step(arguments, job_name)}
        if "ExecutionRoleArn" in arguments:
            request["ExecutionRoleArn"] = arguments["ExecutionRoleArn"]
        return request
    if route is Route.EMR_NEW_CLUSTER:
        cluster = dict(arguments["ClusterConfig"])
        instances = cluster.get("Instances")
        # The cluster must outlive its creation so the step can be added; we terminate it.
        cluster["Instances"] = {
            **(instances if isinstance(instances, dict) else {}),
            "KeepJobFlowAliveWhenNoSteps": True,
        }
        cluster["Name"] = job_name
        return {"Cluster": cluster, "Step": _emr_step(arguments, job_name)}
    if route is Route.EMR_SERVERLESS:
        return emr_serverless_request(arguments, job_name)
    if route is Route.ENDPOINT:
        return endpoint_request(arguments)
    if route is Route.INFERENCE_COMPONENT:
        return inference_component_request(arguments)
    request = dict(arguments)
    if route is Route.JOB and isinstance(request.get("JobConfigDocument"), dict | list):
        # CreateJob takes the document as a JSON string; a hand-written definition may hold it
        # as an object (the SDK always emits the string, or a Std:Join that resolves to one).
        request["JobConfigDocument"] = json.dumps(request["JobConfigDocument"], separators=(",", ":"))
    if route is Route.ENDPOINT_CONFIG and request.get("EndpointConfigName") is None:
        request["EndpointConfigName"] = job_name
    if spec.name_field is not None:
        request[spec.name_field] = job_name  # replaces a custom job-name prefix kept in Arguments
    elif route is Route.REGISTER_MODEL and "ModelPackageGroupName" not in request:
        request["ModelPackageName"] = job_name  # an unversioned package needs its own name
    pipeline_experiment = context.experiment_config
    if pipeline_experiment and spec.operation is not None and _accepts(spec.operation, "ExperimentConfig"):
        request["ExperimentConfig"] = _merge_experiment_config(
            request.get("ExperimentConfig"), pipeline_experiment
        )
    if context.job_environment and spec.operation is not None and _accepts(spec.operation, "Environment"):
        own = request.get("Environment")
        request["Environment"] = {**context.job_environment, **(own if isinstance(own, dict) else {})}
    return request


def endpoint_request(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The Endpoint route's request: the step's CreateEndpoint request, and the UpdateEndpoint
    request (its members that UpdateEndpoint takes) used when the endpoint already exists."""
    return {
        "EndpointName": arguments["EndpointName"],
        "EndpointConfigName": arguments["EndpointConfigName"],
        **_create_or_update(arguments, "UpdateEndpoint"),
    }


def inference_component_request(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The InferenceComponent route's request: the step's CreateInferenceComponent request, and
    the UpdateInferenceComponent request (Specification, RuntimeConfig, ... without the endpoint
    and variant, which an update cannot change) used when the component already exists."""
    return {
        "InferenceComponentName": arguments["InferenceComponentName"],
        **_create_or_update(arguments, "UpdateInferenceComponent"),
    }


def _create_or_update(arguments: Mapping[str, Any], update_operation: str) -> dict[str, Any]:
    update_members = _members(update_operation)
    return {
        "Create": dict(arguments),
        "Update": {key: value for key, value in arguments.items() if key in update_members},
    }


def _emr_step(arguments: Mapping[str, Any], job_name: str) -> dict[str, Any]:
    return {"ActionOnFailure": EMR_ACTION_ON_FAILURE, **arguments["StepConfig"], "Name": job_name}


def _merge_experiment_config(own: Any, pipeline: Mapping[str, str]) -> dict[str, Any]:
    """The pipeline's experiment and run group win; a TrialComponentDisplayName the step kept
    (the only field the SDK leaves in Arguments) wins over the pipeline's default."""
    own_config = own if isinstance(own, dict) else {}
    merged = {**own_config, **pipeline}
    if "TrialComponentDisplayName" in own_config:
        merged["TrialComponentDisplayName"] = own_config["TrialComponentDisplayName"]
    return merged


def _step_field(step: StepBase, alias: str) -> Any:
    for name, info in type(step).model_fields.items():
        if info.alias == alias:
            return getattr(step, name)
    extra = step.model_extra or {}
    return extra.get(alias)


def _accepts(operation: str, member: str) -> bool:
    """Whether the SageMaker operation's request has ``member`` (botocore's service model)."""
    return member in _members(operation)


@cache
def _members(operation: str) -> frozenset[str]:
    """The request members of a SageMaker operation (botocore's service model)."""
    model = aws.service_model("sagemaker")
    shape = model.operation_model(operation).input_shape
    return frozenset(shape.members) if shape is not None else frozenset()
