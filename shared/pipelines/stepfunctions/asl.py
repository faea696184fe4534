"""The two fixed Step Functions state machines of the cloud runtime, as ASL dicts.

Both machines are written in JSONata so that one Task state can take a whole resolved request
(``"Arguments": "{% $states.input.request %}"``); JSONPath's ``Parameters`` cannot be set from
a path. Nothing here varies per pipeline: CDK deploys these two documents once and fills the
``${...}`` placeholders listed in :data:`DEFINITION_SUBSTITUTIONS` through
``DefinitionSubstitutions``.

**StepRunner** (one execution per step attempt; input built by ``step_runner_input``)::

    Backoff (Wait: input.delay) -> Route (Choice on input.route) -> the route's Task states
      -> Report (SQS FIFO: {"action": "StepRunnerReport", ...}) -> Done (Succeed)

Every Task runs with ``Credentials.RoleArn`` = the pipeline's RoleArn (input.roleArn), except
the messages to the engine. A Task's failure is caught (``States.ALL``) and reported too, so a
StepRunner execution always ends Succeeded once its report is queued; the engine, not the
execution status, records whether the step failed. Reports (and a Callback step's
registration) go to the engine's FIFO queue with the pipeline execution id as the message
group, so the engine decides one execution's events one batch at a time
(docs/engine-cloud.md).

**PipelineExecution** (one execution per pipeline run; input ``{pipelineExecutionArn,
executionId, run}``)::

    AwaitFinish (DynamoDB UpdateItem of the run item, waitForTaskToken: the token is stored
                 unless the run already has its final status)
      -> Finished (Choice on status) -> Succeeded | Failed (Error = status, Cause = failureReason)
    AwaitFinish's ConditionalCheckFailed (the run ended first) -> ReadFinish (GetItem) -> Finished

The engine writes the run item's final status in the same transaction as the terminal
execution status, then completes the stored token with ``{status, failureReason?}``.
Either the token is stored first (the engine finds it) or the status is (the machine's
condition fails and it reads the status itself), so the run can never wait forever.

Engine payloads are the contract with the engine Lambda; see :data:`ENGINE_ACTIONS`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pipelines.stepfunctions.errors import SubstitutionMissing
from pipelines.stepfunctions.routes import (
    LAMBDA_INVOKE,
    ROUTES,
    SQS_SEND_WAIT,
    Route,
    RouteSpec,
)

REPORT_QUEUE_URL = "${ReportQueueUrl}"
STATE_TABLE = "${StateTable}"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
DYNAMODB_UPDATE_WAIT = "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken"
DYNAMODB_GET = "arn:aws:states:::aws-sdk:dynamodb:getItem"

DEFINITION_SUBSTITUTIONS: dict[str, str] = {
    "ReportQueueUrl": "URL of the engine's FIFO queue: StepRunner reports and callback registrations",
    "StateTable": "name of the DynamoDB state table: PipelineExecution keeps its task token there",
}
"""Placeholder keys (``${Key}`` in the ASL) and what CDK's DefinitionSubstitutions must supply."""

ENGINE_ACTIONS: dict[str, str] = {
    "StepRunnerReport": (
        "StepRunner Report, an SQS FIFO message (group: the pipeline execution id, deduplication "
        "id: the StepRunner execution name): {action, report: <input.report>, runner: <StepRunner "
        "execution ARN>, outcome: {result: <Task result>} | {error: {Error, Cause}}}"
    ),
    "RegisterCallback": (
        "Callback Task (sqs:sendMessage.waitForTaskToken to the same FIFO queue and group): "
        "{action, taskToken, roleArn, report, callback: {QueueUrl, MessageBody: {token, "
        "pipelineExecutionArn, arguments}}}. The engine maps the CallbackToken to taskToken, then "
        "sends MessageBody (as JSON) to QueueUrl as roleArn; SendPipelineExecutionStepSuccess/"
        "Failure later complete taskToken with {OutputParameters: [...]} or "
        "error=SageMaker.CallbackStepFailure, cause=FailureReason"
    ),
}
"""Every payload the machines send to the engine Lambda, keyed by its ``action`` field."""

STEP_RUNNER_COMMENT = "SageMaker Pipelines StepRunner: one execution per step attempt"
PIPELINE_EXECUTION_COMMENT = "SageMaker Pipelines PipelineExecution: one execution per pipeline run"

BACKOFF = "Backoff"
ROUTE = "Route"
UNKNOWN_ROUTE = "UnknownRoute"
REPORT = "Report"
DONE = "Done"

AUTOML_POLL_SECONDS = 60
ENDPOINT_POLL_SECONDS = 30
ENDPOINT_MAX_POLLS = 120
"""As boto3's EndpointInService waiter: every 30 s, at most 120 times (an hour), then the step
fails with States.Timeout naming the last status."""
ENDPOINT_FAILED_STATUSES = ("Failed", "UpdateRollbackFailed", "OutOfService")
JOB_POLL_SECONDS = 60
JOB_FAILED_STATUSES = ("Failed", "Stopped", "DeleteFailed", "Deleting")
"""JobStatus values after which a Job will never complete (botocore's JobStatus enum)."""

_ROLE_CREDENTIALS = {"RoleArn": "{% $roleArn %}"}
_CATCH_TO_REPORT = [
    {"ErrorEquals": ["States.ALL"], "Output": {"error": "{% $states.errorOutput %}"}, "Next": REPORT}
]
_RESULT_OUTPUT = {"result": "{% $states.result %}"}
_ENGINE_RETRY = [
    {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 1,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL",
    }
]
"""Engine calls are idempotent (every decision is a conditional write), so retrying any
failure of delivery is safe and keeps a transient error from losing a step's outcome."""

_IDEMPOTENT_CALL_RETRY = [
    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 4, "BackoffRate": 2.0}
]
"""For calls that change nothing or can repeat (Describe, TerminateCluster): a throttle there
must not fail a step whose job is still running or already done."""


def step_runner_definition() -> dict[str, Any]:
    """The StepRunner ASL, with ``${EngineFunctionArn}`` left for CDK to substitute."""
    states: dict[str, Any] = {
        BACKOFF: {
            "Type": "Wait",
            "Comment": "Retry delay of this attempt (0 on the first); StopExecution interrupts it",
            "Seconds": "{% $states.input.delay %}",
            "Assign": {"report": "{% $states.input.report %}", "roleArn": "{% $states.input.roleArn %}"},
            "Next": ROUTE,
        },
        ROUTE: {
            "Type": "Choice",
            "Choices": [
                {"Condition": f"{{% $states.input.route = '{spec.route.value}' %}}", "Next": spec.entry_state}
                for spec in ROUTES.values()
                if spec.states
            ],
            "Default": UNKNOWN_ROUTE,
        },
        UNKNOWN_ROUTE: {
            "Type": "Pass",
            "Comment": "An input route this machine does not know: reported as the step's error",
            "Output": {
                "error": {
                    "Error": "StepRunner.UnknownRoute",
                    "Cause": "{% 'no StepRunner route ' & $string($states.input.route) %}",
                }
            },
            "Next": REPORT,
        },
    }
    for spec in ROUTES.values():
        route_states = _ROUTE_STATES[spec.route](spec)
        if tuple(route_states) != spec.states:
            raise AssertionError(f"route {spec.route} builds {list(route_states)}, table says {spec.states}")
        states.update(route_states)
    states[REPORT] = {
        "Type": "Task",
        "Comment": "Queue how the attempt ended (result or caught error) for the engine",
        "Resource": SQS_SEND,
        "Arguments": _engine_message(
            {
                "action": "StepRunnerReport",
                "report": "{% $report %}",
                "runner": "{% $states.context.Execution.Id %}",
                "outcome": "{% $states.input %}",
            },
            dedupe="{% $states.context.Execution.Name %}",
        ),
        "Retry": _ENGINE_RETRY,
        "Output": {},
        "Next": DONE,
    }
    states[DONE] = {"Type": "Succeed"}
    return {"Comment": STEP_RUNNER_COMMENT, "QueryLanguage": "JSONata", "StartAt": BACKOFF, "States": states}


def pipeline_execution_definition() -> dict[str, Any]:
    """The PipelineExecution ASL, with ``${StateTable}`` left for CDK to substitute."""
    run_key = {
        "pk": {"S": "{% 'EXECUTION#' & $states.input.executionId %}"},
        "sk": {"S": "{% 'RUN#' & $string($states.input.run) %}"},
    }
    return {
        "Comment": PIPELINE_EXECUTION_COMMENT,
        "QueryLanguage": "JSONata",
        "StartAt": "AwaitFinish",
        "States": {
            "AwaitFinish": {
                "Type": "Task",
                "Comment": (
                    "Keep the task token on the run item unless the run already ended; the engine "
                    "completes it with {status, failureReason} when the run ends"
                ),
                "Resource": DYNAMODB_UPDATE_WAIT,
                "Arguments": {
                    "TableName": STATE_TABLE,
                    "Key": run_key,
                    "UpdateExpression": "SET #token = :token",
                    "ConditionExpression": "attribute_not_exists(#status)",
                    "ExpressionAttributeNames": {"#token": "token", "#status": "finalStatus"},
                    "ExpressionAttributeValues": {":token": {"S": "{% $states.context.Task.Token %}"}},
                },
                "Retry": [
                    {
                        **_ENGINE_RETRY[0],
                        "ErrorEquals": [
                            "DynamoDb.ProvisionedThroughputExceededException",
                            "DynamoDb.ThrottlingException",
                            "DynamoDb.InternalServerErrorException",
                            "DynamoDb.TransactionConflictException",
                        ],
                    }
                ],
                "Catch": [
                    {
                        "ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"],
                        "Assign": {"key": run_key},
                        "Next": "ReadFinish",
                    }
                ],
                "Next": "Finished",
            },
            "ReadFinish": {
                "Type": "Task",
                "Comment": "The run ended before the token was stored: read its final status",
                "Resource": DYNAMODB_GET,
                "Arguments": {"TableName": STATE_TABLE, "Key": "{% $key %}", "ConsistentRead": True},
                "Retry": _IDEMPOTENT_CALL_RETRY,
                "Output": (
                    "{% {'status': $states.result.Item.finalStatus.S,"
                    " 'failureReason': $states.result.Item.failureReason.S} %}"
                ),
                "Next": "Finished",
            },
            "Finished": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.status = 'Succeeded' %}", "Next": "Succeeded"}],
                "Default": "Failed",
            },
            "Succeeded": {"Type": "Succeed"},
            "Failed": {
                "Type": "Fail",
                "Error": "{% $string($states.input.status) %}",
                "Cause": (
                    "{% $exists($states.input.failureReason) ? $string($states.input.failureReason)"
                    " : $string($states.input.status) %}"
                ),
            },
        },
    }


def _engine_message(body: dict[str, Any], *, dedupe: str) -> dict[str, Any]:
    """An SQS FIFO message to the engine, grouped by the pipeline execution it is about."""
    return {
        "QueueUrl": REPORT_QUEUE_URL,
        "MessageBody": body,
        "MessageGroupId": "{% $report.executionId %}",
        "MessageDeduplicationId": dedupe,
    }


def _request_task(spec: RouteSpec) -> dict[str, Any]:
    """One Task that hands the route's request to its one integration unchanged, then Report:
    Processing/Training/Tuning/Transform (.sync: the result is the Describe* response), Model
    (createModel), RegisterModel (aws-sdk createModelPackage), EMR on an existing cluster
    (addStep.sync) and EndpointConfig (createEndpointConfig)."""
    (state,) = spec.states
    (resource,) = spec.integrations
    return {state: _task(resource, "{% $states.input.request %}", next_state=REPORT)}


def _lambda(spec: RouteSpec) -> dict[str, Any]:
    (state,) = spec.states
    task = _task(LAMBDA_INVOKE, "{% $states.input.request %}", next_state=REPORT)
    task["TimeoutSeconds"] = "{% $states.input.timeoutSeconds %}"
    task["Output"] = {"result": "{% $states.result.Payload %}"}
    return {state: task}


def _callback(spec: RouteSpec) -> dict[str, Any]:
    """The engine registers the task token under our 10-character CallbackToken and sends the
    SQS message itself, so the message body stays exactly {token, pipelineExecutionArn,
    arguments} while SendPipelineExecutionStepSuccess can still find the task token. The
    registration is queued like a report (same FIFO group), so it is retried until delivered
    and decided in order with the execution's other events."""
    (state,) = spec.states
    payload = {
        "action": "RegisterCallback",
        "taskToken": "{% $states.context.Task.Token %}",
        "roleArn": "{% $roleArn %}",
        "report": "{% $report %}",
        "callback": "{% $states.input.request %}",
    }
    task = _task(
        SQS_SEND_WAIT,
        _engine_message(payload, dedupe="{% $states.context.Execution.Name & '-callback' %}"),
        REPORT,
    )
    del task["Credentials"]  # the engine's queue; it assumes roleArn itself to send the message
    task["Retry"] = _ENGINE_RETRY
    return {state: task}


def _automl(spec: RouteSpec) -> dict[str, Any]:
    """createAutoMLJob has no .sync integration: create, then poll Describe until terminal."""
    return _create_then_poll(
        spec,
        assign={"autoMLJobName": "{% $states.input.request.AutoMLJobName %}"},
        describe_arguments={"AutoMLJobName": "{% $autoMLJobName %}"},
        status_member="AutoMLJobStatus",
        failed_statuses=("Failed", "Stopped"),
        poll_seconds=AUTOML_POLL_SECONDS,
    )


def _job(spec: RouteSpec) -> dict[str, Any]:
    """The v3 SDK's Job step: CreateJob (no .sync integration exists), then DescribeJob every
    JOB_POLL_SECONDS until Completed (the result: the Describe) or Failed / Stopped (failed,
    Cause = the Describe, whose FailureReason becomes the step's). DescribeJob needs the
    JobCategory as well as the name."""
    return _create_then_poll(
        spec,
        assign={
            "jobName": "{% $states.input.request.JobName %}",
            "jobCategory": "{% $states.input.request.JobCategory %}",
        },
        describe_arguments={"JobName": "{% $jobName %}", "JobCategory": "{% $jobCategory %}"},
        status_member="JobStatus",
        failed_statuses=JOB_FAILED_STATUSES,
        poll_seconds=JOB_POLL_SECONDS,
    )


def _create_then_poll(
    spec: RouteSpec,
    *,
    assign: dict[str, str],
    describe_arguments: dict[str, str],
    status_member: str,
    failed_statuses: tuple[str, ...],
    poll_seconds: int,
) -> dict[str, Any]:
    """Create (``input.request``), then Describe every ``poll_seconds`` until the status is
    Completed (succeeded, the Describe as result) or one of ``failed_statuses`` (failed with
    the same error shape as a failed .sync job: States.TaskFailed, Cause = the Describe)."""
    create, wait, describe, status, succeeded, failed = spec.states
    create_sdk, describe_sdk = spec.integrations
    create_task = _task(create_sdk, "{% $states.input.request %}", next_state=wait)
    create_task["Assign"] = assign
    create_task["Output"] = {}
    describe_task = _task(describe_sdk, describe_arguments, next_state=status)
    describe_task["Output"] = "{% $states.result %}"
    describe_task["Retry"] = _IDEMPOTENT_CALL_RETRY
    failed_list = ", ".join(f"'{name}'" for name in failed_statuses)
    return {
        create: create_task,
        wait: {"Type": "Wait", "Seconds": poll_seconds, "Next": describe},
        describe: describe_task,
        status: {
            "Type": "Choice",
            "Choices": [
                {"Condition": f"{{% $states.input.{status_member} = 'Completed' %}}", "Next": succeeded},
                {"Condition": f"{{% $states.input.{status_member} in [{failed_list}] %}}", "Next": failed},
            ],
            "Default": wait,
        },
        succeeded: {"Type": "Pass", "Output": {"result": "{% $states.input %}"}, "Next": REPORT},
        failed: {
            "Type": "Pass",
            "Comment": "Same error shape as a failed .sync job: States.TaskFailed, Cause = the Describe",
            "Output": {"error": {"Error": "States.TaskFailed", "Cause": "{% $string($states.input) %}"}},
            "Next": REPORT,
        },
    }


def _emr_new_cluster(spec: RouteSpec) -> dict[str, Any]:
    """Create the cluster, run the step, and terminate the cluster whatever the step did."""
    create, add_step, terminate, terminate_after_failure = spec.states
    create_sdk, add_step_sdk, terminate_sdk = spec.integrations
    create_task = _task(create_sdk, "{% $states.input.request.Cluster %}", next_state=add_step)
    create_task["Assign"] = {"clusterId": "{% $states.result.ClusterId %}"}
    create_task["Output"] = "{% $states.input %}"
    add_step_task = _task(
        add_step_sdk,
        {"ClusterId": "{% $clusterId %}", "Step": "{% $states.input.request.Step %}"},
        next_state=terminate,
    )
    add_step_task["Catch"] = [
        {
            "ErrorEquals": ["States.ALL"],
            "Output": {"error": "{% $states.errorOutput %}"},
            "Next": terminate_after_failure,
        }
    ]
    terminate_task = _task(terminate_sdk, {"ClusterId": "{% $clusterId %}"}, next_state=REPORT)
    terminate_task["Output"] = "{% $states.input %}"
    terminate_task["Retry"] = _IDEMPOTENT_CALL_RETRY
    terminate_after = _task(terminate_sdk, {"ClusterId": "{% $clusterId %}"}, next_state=REPORT)
    terminate_after["Output"] = "{% $states.input %}"
    terminate_after["Retry"] = _IDEMPOTENT_CALL_RETRY
    terminate_after["Catch"] = [
        {"ErrorEquals": ["States.ALL"], "Output": "{% $states.input %}", "Next": REPORT}
    ]
    return {
        create: create_task,
        add_step: add_step_task,
        terminate: terminate_task,
        terminate_after_failure: terminate_after,
    }


def _emr_serverless(spec: RouteSpec) -> dict[str, Any]:
    """Create the application when the step says so (``request.Application``), run the job
    (``startJobRun.sync``), then stop and delete the application the step created, whatever
    the job did. The state input carries the request throughout, so the application id a
    creation returns joins it; the outcome (the job run's result or its error) is reported
    after the clean-up."""
    choose, create, start, created, stop, delete, done = spec.states
    create_sdk, start_sdk, stop_sdk, delete_sdk = spec.integrations
    create_task = _task(create_sdk, "{% $states.input.request.Application %}", next_state=start)
    create_task["Output"] = (
        "{% $merge([$states.input, {'request': $merge([$states.input.request,"
        " {'ApplicationId': $states.result.ApplicationId}])}]) %}"
    )
    start_task = _task(
        start_sdk,
        "{% $merge([$states.input.request.JobRun, {'ApplicationId': $states.input.request.ApplicationId}]) %}",
        next_state=created,
    )
    start_task["Output"] = "{% {'request': $states.input.request, 'result': $states.result} %}"
    start_task["Catch"] = [
        {
            "ErrorEquals": ["States.ALL"],
            "Output": "{% {'request': $states.input.request, 'error': $states.errorOutput} %}",
            "Next": created,
        }
    ]
    application = {"ApplicationId": "{% $states.input.request.ApplicationId %}"}
    keep_outcome = [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.input %}", "Next": done}]
    stop_task = _task(stop_sdk, application, next_state=delete)
    delete_task = _task(delete_sdk, application, next_state=done)
    for task in (stop_task, delete_task):
        task["Output"] = "{% $states.input %}"
        task["Retry"] = _IDEMPOTENT_CALL_RETRY
        task["Catch"] = [dict(catcher) for catcher in keep_outcome]  # a failed clean-up keeps the outcome
    return {
        choose: {
            "Type": "Choice",
            "Comment": "Create the application (ApplicationConfig) or run on the step's ApplicationId",
            "Choices": [{"Condition": "{% $exists($states.input.request.Application) %}", "Next": create}],
            "Default": start,
        },
        create: create_task,
        start: start_task,
        created: {
            "Type": "Choice",
            "Comment": "Only an application this attempt created is stopped and deleted",
            "Choices": [{"Condition": "{% $exists($states.input.request.Application) %}", "Next": stop}],
            "Default": done,
        },
        stop: stop_task,
        delete: delete_task,
        done: {
            "Type": "Pass",
            "Output": (
                "{% $exists($states.input.error) ? {'error': $states.input.error} : {'result':"
                " $merge([$states.input.result, {'ApplicationId': $states.input.request.ApplicationId}])} %}"
            ),
            "Next": REPORT,
        },
    }


def _endpoint(spec: RouteSpec) -> dict[str, Any]:
    """CreateEndpoint, or UpdateEndpoint when an endpoint of that name exists (endpoint names
    are case-insensitive), then DescribeEndpoint every ENDPOINT_POLL_SECONDS until it is
    InService with the requested config (succeeded), Failed or back InService on another
    config (an update that rolled back: failed, Cause = the Describe, whose FailureReason
    becomes the step's), or ENDPOINT_MAX_POLLS polls passed (States.Timeout)."""
    states = _create_or_update_then_poll(
        spec,
        name_member="EndpointName",
        listed="Endpoints",
        same_name="$lowercase(EndpointName) = $lowercase($states.input.request.EndpointName)",
        assign={"endpointConfigName": "{% $states.input.request.EndpointConfigName %}"},
    )
    status, succeeded, failed, timed_out = spec.states[6:]
    failed_statuses = ", ".join(f"'{name}'" for name in ENDPOINT_FAILED_STATUSES)
    states[status] = {
        "Type": "Choice",
        "Choices": [
            {
                "Condition": (
                    "{% $states.input.EndpointStatus = 'InService'"
                    " and $states.input.EndpointConfigName = $endpointConfigName %}"
                ),
                "Next": succeeded,
            },
            {
                "Condition": (
                    f"{{% $states.input.EndpointStatus in [{failed_statuses}]"
                    " or $states.input.EndpointStatus = 'InService' %}"
                ),
                "Next": failed,
            },
            {"Condition": f"{{% $polls >= {ENDPOINT_MAX_POLLS} %}}", "Next": timed_out},
        ],
        "Default": spec.states[4],
    }
    states[succeeded] = {"Type": "Pass", "Output": {"result": "{% $states.input %}"}, "Next": REPORT}
    states[failed] = {
        "Type": "Pass",
        "Comment": "Cause: the Describe, with the config the step asked for (an update may roll back)",
        "Output": {
            "error": {
                "Error": "States.TaskFailed",
                "Cause": (
                    "{% $string($merge([$states.input,"
                    " {'RequestedEndpointConfigName': $endpointConfigName}])) %}"
                ),
            }
        },
        "Next": REPORT,
    }
    states[timed_out] = _poll_timed_out("Endpoint", "EndpointStatus")
    return states


def _inference_component(spec: RouteSpec) -> dict[str, Any]:
    """CreateInferenceComponent, or UpdateInferenceComponent when a component of that name
    exists (the v3 SDK: "the pipeline chooses create-vs-update based on component existence"),
    then DescribeInferenceComponent every ENDPOINT_POLL_SECONDS until InService (succeeded, the
    Describe as result), Failed (failed, Cause = the Describe, whose FailureReason becomes the
    step's) or ENDPOINT_MAX_POLLS polls passed (States.Timeout)."""
    states = _create_or_update_then_poll(
        spec,
        name_member="InferenceComponentName",
        listed="InferenceComponents",
        same_name="InferenceComponentName = $states.input.request.InferenceComponentName",
        assign={},
    )
    status, succeeded, failed, timed_out = spec.states[6:]
    states[status] = {
        "Type": "Choice",
        "Choices": [
            {"Condition": "{% $states.input.InferenceComponentStatus = 'InService' %}", "Next": succeeded},
            {"Condition": "{% $states.input.InferenceComponentStatus = 'Failed' %}", "Next": failed},
            {"Condition": f"{{% $polls >= {ENDPOINT_MAX_POLLS} %}}", "Next": timed_out},
        ],
        "Default": spec.states[4],
    }
    states[succeeded] = {"Type": "Pass", "Output": {"result": "{% $states.input %}"}, "Next": REPORT}
    states[failed] = {
        "Type": "Pass",
        "Output": {"error": {"Error": "States.TaskFailed", "Cause": "{% $string($states.input) %}"}},
        "Next": REPORT,
    }
    states[timed_out] = _poll_timed_out("Inference component", "InferenceComponentStatus")
    return states


def _create_or_update_then_poll(
    spec: RouteSpec, *, name_member: str, listed: str, same_name: str, assign: dict[str, str]
) -> dict[str, Any]:
    """The first six states of a create-or-update route (Endpoint, InferenceComponent): look
    the resource up by name (List*, NameContains, then ``same_name`` on each listed item),
    Create* (``request.Create``) or Update* (``request.Update``), then Describe* (``$name``)
    every ENDPOINT_POLL_SECONDS, counting ``$polls``; the caller adds the status Choice (its
    Default is the wait) and the outcome states."""
    lookup, choose, create, update, wait, describe = spec.states[:6]
    list_sdk, create_sdk, update_sdk, describe_sdk = spec.integrations
    lookup_task = _task(
        list_sdk,
        {"NameContains": f"{{% $states.input.request.{name_member} %}}", "MaxResults": 100},
        next_state=choose,
    )
    lookup_task["Retry"] = _IDEMPOTENT_CALL_RETRY
    lookup_task["Assign"] = {"name": f"{{% $states.input.request.{name_member} %}}", **assign, "polls": 0}
    lookup_task["Output"] = (
        f"{{% {{'request': $states.input.request, 'exists': $count($states.result.{listed}[{same_name}]) > 0}} %}}"
    )
    create_task = _task(create_sdk, "{% $states.input.request.Create %}", next_state=wait)
    update_task = _task(update_sdk, "{% $states.input.request.Update %}", next_state=wait)
    for task in (create_task, update_task):
        task["Output"] = {}
    describe_task = _task(describe_sdk, {name_member: "{% $name %}"}, next_state=spec.states[6])
    describe_task["Retry"] = _IDEMPOTENT_CALL_RETRY
    describe_task["Assign"] = {"polls": "{% $polls + 1 %}"}
    describe_task["Output"] = "{% $states.result %}"
    return {
        lookup: lookup_task,
        choose: {
            "Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.exists %}", "Next": update}],
            "Default": create,
        },
        create: create_task,
        update: update_task,
        wait: {"Type": "Wait", "Seconds": ENDPOINT_POLL_SECONDS, "Next": describe},
        describe: describe_task,
    }


def _poll_timed_out(what: str, status_member: str) -> dict[str, Any]:
    return {
        "Type": "Pass",
        "Output": {
            "error": {
                "Error": "States.Timeout",
                "Cause": (
                    f"{{% '{what} ' & $name & ' was not InService after "
                    f"{ENDPOINT_MAX_POLLS} polls {ENDPOINT_POLL_SECONDS} s apart (last status: ' &"
                    f" $string($states.input.{status_member}) & ')' %}}"
                ),
            }
        },
        "Next": REPORT,
    }


def _engine(spec: RouteSpec) -> dict[str, Any]:
    return {}


_ROUTE_STATES = {
    Route.PROCESSING: _request_task,
    Route.TRAINING: _request_task,
    Route.TUNING: _request_task,
    Route.TRANSFORM: _request_task,
    Route.MODEL: _request_task,
    Route.REGISTER_MODEL: _request_task,
    Route.AUTOML: _automl,
    Route.LAMBDA: _lambda,
    Route.CALLBACK: _callback,
    Route.EMR: _request_task,
    Route.EMR_NEW_CLUSTER: _emr_new_cluster,
    Route.EMR_SERVERLESS: _emr_serverless,
    Route.ENDPOINT_CONFIG: _request_task,
    Route.ENDPOINT: _endpoint,
    Route.INFERENCE_COMPONENT: _inference_component,
    Route.JOB: _job,
    Route.ENGINE: _engine,
}


def _task(resource: str, arguments: Any, next_state: str) -> dict[str, Any]:
    """A typed Task run as the pipeline's role, its failure caught and sent to Report."""
    return {
        "Type": "Task",
        "Resource": resource,
        "Arguments": arguments,
        "Credentials": dict(_ROLE_CREDENTIALS),
        "Output": dict(_RESULT_OUTPUT),
        "Catch": [dict(catcher) for catcher in _CATCH_TO_REPORT],
        "Next": next_state,
    }


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def render_definition(definition: Mapping[str, Any], substitutions: Mapping[str, str]) -> str:
    """The ASL JSON text with every ``${Key}`` replaced, as CDK's DefinitionSubstitutions does.

    Used where no CDK runs (tests against moto, ``pipelines asl --engine-arn``). Raises
    :class:`SubstitutionMissing` for a placeholder without a value, so no literal ``${...}``
    reaches Step Functions.
    """
    text = json.dumps(definition, indent=2)
    missing = sorted({key for key in _PLACEHOLDER.findall(text) if key not in substitutions})
    if missing:
        raise SubstitutionMissing(f"no value for definition placeholder(s): {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: json.dumps(substitutions[match.group(1)])[1:-1], text)
