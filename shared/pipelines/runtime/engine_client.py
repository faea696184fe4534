"""The API Lambda's ExecutionRuntime in the cloud: each call invokes the engine Lambda.

The engine owns every write that can start work (it alone may start state machines), so the
API hands start, stop, retry, update and callbacks to it synchronously and raises the same
typed error the engine raised (ValidationException, ResourceNotFound, ConflictException, ...).

An engine invocation that fails outright (its Lambda crashed, timed out, could not be invoked,
answered nothing we understand, or failed with an error that is no fault of the caller's, such
as a status event it could not publish) is a server fault: :class:`EngineUnavailable`, answered
as SageMaker answers its own faults, ``InternalFailure`` with HTTP 500; a throttled invoke
(Lambda's TooManyRequestsException, after the Lambda client's own retries) is
:class:`EngineBusy`, ``ServiceUnavailable`` with HTTP 503. Every AWS SDK retries a 5xx by itself (boto3: 4 more
attempts in legacy mode, 2 in standard), and a repeat never starts work twice: botocore fills
ClientRequestToken of StartPipelineExecution, StopPipelineExecution, RetryPipelineExecution and
the two callback operations once per call and resends it on every attempt; the engine writes
it in the same transaction as the decision (``pipelines.engine.idempotency``), so a repeat
returns what the first attempt did (the same execution), changes nothing, and re-drives what
the first attempt owed. A repeated update sets the same values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipelines.api.errors import InternalFailure, ServiceUnavailable
from pipelines.engine.start_request import StartRequest
from pipelines.errors import (
    ConflictError,
    PipelinesError,
    ResourceLimitExceeded,
    ResourceNotFound,
    ValidationError,
)
from pipelines.store.base import ExecutionRecord

_ERRORS: dict[str, type[PipelinesError]] = {
    cls.code: cls for cls in (ValidationError, ResourceNotFound, ConflictError, ResourceLimitExceeded)
}


_THROTTLED = frozenset({"TooManyRequestsException"})
"""Lambda Invoke's throttling error (concurrency or request-rate limit; HTTP 429)."""


class EngineUnavailable(InternalFailure):
    """The engine Lambda failed (an unhandled error, not a rejected request): a server fault,
    so HTTP 500 and the SDKs retry it (see the module docstring)."""


class EngineBusy(ServiceUnavailable):
    """Lambda throttled the engine's invocation: HTTP 503, retried by the SDKs."""


class EngineClient:
    """``ExecutionRuntime`` by Lambda invoke of ``function_name`` (ENGINE_FUNCTION_NAME)."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self.client = lambda_client
        self.function_name = function_name

    def start(self, request: StartRequest) -> ExecutionRecord:
        return self._call({"action": "StartExecution", "request": request.to_event()})

    def stop(self, execution: str, *, client_request_token: str | None = None) -> ExecutionRecord:
        return self._call(
            {
                "action": "StopExecution",
                "pipelineExecutionArn": execution,
                "clientRequestToken": client_request_token,
            }
        )

    def retry(
        self, execution: str, *, parallelism: int | None = None, client_request_token: str | None = None
    ) -> ExecutionRecord:
        return self._call(
            {
                "action": "RetryExecution",
                "pipelineExecutionArn": execution,
                "parallelism": parallelism,
                "clientRequestToken": client_request_token,
            }
        )

    def update_execution(self, execution: str, **changes: Any) -> ExecutionRecord:
        return self._call(
            {
                "action": "UpdateExecution",
                "pipelineExecutionArn": execution,
                "parallelism": changes.get("parallelism"),
                "displayName": changes.get("display_name"),
                "description": changes.get("description"),
            }
        )

    def callback_success(
        self,
        token: str,
        outputs: Mapping[str, Any],
        *,
        background: bool = False,
        client_request_token: str | None = None,
    ) -> ExecutionRecord:
        return self._call(
            {
                "action": "CallbackSuccess",
                "callbackToken": token,
                "outputs": dict(outputs),
                "clientRequestToken": client_request_token,
            }
        )

    def callback_failure(
        self, token: str, reason: str, *, background: bool = False, client_request_token: str | None = None
    ) -> ExecutionRecord:
        return self._call(
            {
                "action": "CallbackFailure",
                "callbackToken": token,
                "failureReason": reason,
                "clientRequestToken": client_request_token,
            }
        )

    def reconcile(self, execution: str) -> ExecutionRecord:
        return self._call({"action": "ReconcileExecution", "pipelineExecutionArn": execution})

    def _call(self, event: dict[str, Any]) -> ExecutionRecord:
        action = event["action"]
        try:
            response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _THROTTLED:
                raise EngineBusy(f"the engine is throttled; {action} was not carried out: {exc}") from exc
            raise EngineUnavailable(f"could not invoke the engine for {action}: {exc}") from exc
        except BotoCoreError as exc:  # no answer: a connection or read timeout
            raise EngineUnavailable(f"could not invoke the engine for {action}: {exc}") from exc
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise EngineUnavailable(f"the engine failed on {action}: {message}")
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            rejected = _ERRORS.get(error.get("code"))
            if rejected is None:  # the engine's own trouble, e.g. PublishFailed: no fault of the caller's
                raise EngineUnavailable(
                    f"the engine failed on {action}: {error.get('code')}: {error.get('message')}"
                )
            raise rejected(str(error.get("message")))
        if not isinstance(payload, dict) or "execution" not in payload:
            raise EngineUnavailable(f"unexpected engine answer to {action}: {payload!r}")
        return ExecutionRecord.model_validate(payload["execution"])
