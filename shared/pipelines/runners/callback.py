"""Callback steps: put the documented message on the local queue named by SqsQueueUrl and wait.

The step stays Executing until someone answers the token (``pipelines callback succeed|fail``
or the API's SendPipelineExecutionStep{Success,Failure}); the engine records that. On stop the
step gets a second message with ``"status": "Stopping"`` and keeps waiting, as the docs say.
The token comes from the engine (``request.step_fields["CallbackToken"]``), which owns it.
"""

from __future__ import annotations

from typing import ClassVar

from pipelines.callbacks import CallbackQueue, callback_message
from pipelines.callbacks.messages import STOPPING, dedupe_id
from pipelines.config import Config
from pipelines.definition.models import CallbackStep, Step
from pipelines.runners.base import RunContext, StepFailed, StepPending, StepRequest

TOKEN_FIELD = "CallbackToken"


class CallbackRunner:
    step_type: ClassVar[str] = "Callback"

    def check(self, step: Step, config: Config) -> str | None:
        assert isinstance(step, CallbackStep)
        if isinstance(step.sqs_queue_url, str) and not step.sqs_queue_url.strip():
            return "SqsQueueUrl is empty; name the queue the callback message goes to"
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepPending:
        token, queue_url = _token_and_queue(request)
        CallbackQueue.from_config(ctx.config).send(
            queue_url,
            callback_message(token, request.execution_arn, request.arguments),
            dedupe_id=dedupe_id(token, None),
        )
        ctx.log(f"sent callback token {token} to {queue_url}; waiting for success or failure")
        return StepPending(metadata={"Callback": {"CallbackToken": token, "SqsQueueUrl": queue_url}})

    def notify_stopping(self, request: StepRequest, ctx: RunContext) -> None:
        """The execution is stopping: tell the consumer, who should clean up and still answer."""
        token, queue_url = _token_and_queue(request)
        CallbackQueue.from_config(ctx.config).send(
            queue_url,
            callback_message(token, request.execution_arn, request.arguments, status=STOPPING),
            dedupe_id=dedupe_id(token, STOPPING),
        )
        ctx.log(f"sent Stopping message for callback token {token} to {queue_url}")


def _token_and_queue(request: StepRequest) -> tuple[str, str]:
    step = request.step
    assert isinstance(step, CallbackStep)
    token = request.step_fields.get(TOKEN_FIELD)
    if not isinstance(token, str) or not token:
        raise StepFailed(
            "the engine issued no callback token for this attempt", error_code="InternalServerError"
        )
    queue_url = request.step_fields.get("SqsQueueUrl", step.sqs_queue_url)
    if not isinstance(queue_url, str) or not queue_url.strip():
        raise StepFailed(
            f"SqsQueueUrl resolved to {queue_url!r}, not a queue URL", error_code="ValidationException"
        )
    return token, queue_url


RUNNERS = [CallbackRunner()]
