"""The Callback runner: the documented message on the local queue, then a pending step."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.callbacks import CallbackQueue
from pipelines.runners.base import StepFailed, StepPending
from pipelines.runners.callback import CallbackRunner
from pipelines.runners.registry import NotifiesStop, default_registry

URL = "https://sqs.us-east-2.amazonaws.com/123456789012/Approvals"
STEP = {
    "Name": "Approve",
    "Type": "Callback",
    "SqsQueueUrl": URL,
    "Arguments": {"accuracy": {"Get": "Steps.Metric.OutputParameters['accuracy']"}},
    "OutputParameters": [{"OutputName": "approved", "OutputType": "Boolean"}],
}


def request_for(make_request: Any, **step_fields: Any) -> Any:
    return make_request(STEP, arguments={"accuracy": 0.93}, step_fields=step_fields)


def test_run_enqueues_the_documented_message_and_waits(make_request, ctx) -> None:
    result = CallbackRunner().run(request_for(make_request, CallbackToken="26vcYbeWsZ", SqsQueueUrl=URL), ctx)
    assert isinstance(result, StepPending)
    assert result.metadata == {"Callback": {"CallbackToken": "26vcYbeWsZ", "SqsQueueUrl": URL}}
    [message] = CallbackQueue.from_config(ctx.config).receive("Approvals")
    assert message.body == {
        "token": "26vcYbeWsZ",
        "pipelineExecutionArn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abcdef123456",
        "arguments": {"accuracy": 0.93},
    }


def test_stop_sends_a_stopping_message_once(make_request, ctx) -> None:
    request = request_for(make_request, CallbackToken="26vcYbeWsZ")
    runner = CallbackRunner()
    runner.run(request, ctx)
    runner.notify_stopping(request, ctx)
    runner.notify_stopping(request, ctx)  # a repeated notice (a resumed driver) is not a second message
    bodies = [m.body for m in CallbackQueue.from_config(ctx.config).peek(URL)]
    assert [b.get("status") for b in bodies] == [None, "Stopping"]
    assert bodies[1]["token"] == "26vcYbeWsZ"
    assert bodies[1]["arguments"] == {"accuracy": 0.93}


def test_a_rerun_of_the_same_attempt_does_not_send_twice(make_request, ctx) -> None:
    request = request_for(make_request, CallbackToken="26vcYbeWsZ")
    CallbackRunner().run(request, ctx)
    CallbackRunner().run(request, ctx)
    assert len(CallbackQueue.from_config(ctx.config).peek()) == 1


def test_no_token_is_an_internal_error(make_request, ctx) -> None:
    with pytest.raises(StepFailed) as failure:
        CallbackRunner().run(request_for(make_request), ctx)
    assert failure.value.error_code == "InternalServerError"


def test_registered_and_notifies_stop() -> None:
    runner = default_registry().get("Callback")
    assert isinstance(runner, CallbackRunner)
    assert isinstance(runner, NotifiesStop)
