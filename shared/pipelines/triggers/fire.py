"""Firing a trigger: the parameters of one start and the start itself.

The trigger Lambda (cloud) parses its input with :func:`~pipelines.triggers.targets.parse_invocation`
and calls :func:`fire` with a :data:`StartExecution` -- :func:`operations_starter` over the API's
own operations, so a triggered start is authorised, validated and made idempotent exactly like
a StartPipelineExecution call from the trigger's account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pipelines.api.ops.context import Operations
from pipelines.api.ops.executions import ExecutionOperations
from pipelines.api.wire import CallContext
from pipelines.triggers.mapping import parse_mapping, resolve_parameters
from pipelines.triggers.targets import EventInvocation, ScheduledInvocation

log = logging.getLogger(__name__)

# (trigger owner account, pipeline ARN, parameters, client token) -> execution ARN
StartExecution = Callable[[str, str, list[dict[str, str]], str], str]


def start_parameters(invocation: ScheduledInvocation | EventInvocation) -> list[dict[str, str]]:
    """The PipelineParameters of this firing: a schedule's values as they are, an event's mapped."""
    target = invocation.target
    if isinstance(invocation, ScheduledInvocation):
        return [{"Name": name, "Value": value} for name, value in target.parameters.items()]
    return resolve_parameters(parse_mapping(target.parameters), invocation.event)


def fire(invocation: ScheduledInvocation | EventInvocation, start: StartExecution) -> str:
    """Start the target pipeline for this firing; returns the execution ARN (the first one's,
    for a redelivered firing)."""
    parameters = start_parameters(invocation)
    arn = start(invocation.target.account, invocation.target.pipeline_arn, parameters, invocation.token())
    log.info("trigger %s started %s", invocation.target.trigger, arn)
    return arn


def operations_starter(ops: Operations, region: str) -> StartExecution:
    """A :data:`StartExecution` that goes through StartPipelineExecution as the trigger's account
    (the local scheduler fires with it too, so every triggered start is the same call)."""
    executions = ExecutionOperations(ops)

    def start(account: str, pipeline_arn: str, parameters: list[dict[str, str]], token: str) -> str:
        request = {
            "PipelineName": pipeline_arn,
            "PipelineParameters": parameters,
            "ClientRequestToken": token,
        }
        result = executions.start_pipeline_execution(request, CallContext(account_id=account, region=region))
        return str(result["PipelineExecutionArn"])

    return start
