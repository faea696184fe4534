"""ClientRequestToken: a request recorded in the same transaction as the decision it made.

Every AWS SDK fills an operation's ClientRequestToken once per call and resends it on each
retry of that call, and it retries a 5xx by itself. So the token must be written with what
the request changed, never after: a request whose process died after its decision was written
(the API answered 500) is retried with the same token, and the repeat must answer as the first
call did, not be refused because the first one already changed the execution (a retried
RetryPipelineExecution finding it Executing, a repeated callback finding its token spent).

A :class:`RequestToken` is the token with a digest of what the request asked for; the engine
puts it into the decision's :class:`~pipelines.store.Transition` (``Transition.idempotency``),
keyed (token, operation). A repeat (the same token, the same request) is answered with the
execution as it is now and changes nothing; the same token with a different request is a
ConflictError; a different token is decided afresh (and gets the real refusal, if any).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.errors import ConflictError
from pipelines.store.base import IdempotencyRecord, Store

START = "StartPipelineExecution"
STOP = "StopPipelineExecution"
RETRY = "RetryPipelineExecution"
CALLBACK_SUCCESS = "SendPipelineExecutionStepSuccess"
CALLBACK_FAILURE = "SendPipelineExecutionStepFailure"
DELETE_PIPELINE = "DeletePipeline"


@dataclass(frozen=True)
class RequestToken:
    """A request's ClientRequestToken, its operation, and a digest of what it asked for
    (the token and the caller left out: a retry of the same request must replay)."""

    operation: str
    token: str
    fingerprint: str

    def record(self, execution_id: str, now: datetime) -> IdempotencyRecord:
        """What the decision's transaction stores: the execution the request changed."""
        return self.answered({"execution_id": execution_id}, now)

    def answered(self, result: Mapping[str, Any], now: datetime) -> IdempotencyRecord:
        """What the write that carries out the request stores with it: ``result``, which a
        repeat gets back (DeletePipeline's answer; an execution's id for the engine's)."""
        return IdempotencyRecord(
            token=self.token,
            operation=self.operation,
            fingerprint=self.fingerprint,
            result=dict(result),
            created_at=now,
        )

    def replayed_answer(self, store: Store) -> dict[str, Any] | None:
        """What the first request with this token stored; None when the token is new.
        ConflictError when it was used for a different request."""
        previous = store.get_idempotency(self.token, self.operation)
        if previous is None:
            return None
        if previous.fingerprint != self.fingerprint:
            raise ConflictError(
                f"ClientRequestToken {self.token} was already used for a different {self.operation} request."
            )
        return dict(previous.result)

    def replayed(self, store: Store) -> str | None:
        """The id of the execution the first request with this token changed; None when the
        token is new. ConflictError when it was used for a different request."""
        answer = self.replayed_answer(store)
        return None if answer is None else str(answer["execution_id"])


def fingerprint(*parts: Any) -> str:
    """A digest of a request's parts (pydantic models by their fields)."""

    def default(value: Any) -> Any:
        return value.model_dump() if hasattr(value, "model_dump") else str(value)

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=default).encode()).hexdigest()


def request_token(operation: str, token: str | None, *request: Any) -> RequestToken | None:
    """The RequestToken of a request made with ``token`` (None without one)."""
    if not token:
        return None
    return RequestToken(operation, token, fingerprint(operation, *request))


def stop_request(execution_id: str, token: str | None) -> RequestToken | None:
    return request_token(STOP, token, execution_id)


def retry_request(execution_id: str, parallelism: int | None, token: str | None) -> RequestToken | None:
    return request_token(RETRY, token, execution_id, parallelism)


def callback_request(
    callback_token: str, outputs: Mapping[str, Any] | None, reason: str | None, token: str | None
) -> RequestToken | None:
    """SendPipelineExecutionStepSuccess (``outputs``) or SendPipelineExecutionStepFailure."""
    operation = CALLBACK_FAILURE if outputs is None else CALLBACK_SUCCESS
    return request_token(operation, token, callback_token, dict(outputs or {}), reason)


def replayed_execution(store: Store, operation: str, token: str | None) -> str | None:
    """The execution a request of ``operation`` made with ``token`` changed, if one was recorded
    (the API authorizes a repeated callback by it: the callback token itself is spent)."""
    if not token:
        return None
    previous = store.get_idempotency(token, operation)
    return None if previous is None else str(previous.result.get("execution_id", "")) or None
