"""The API Lambda's ExecutionRuntime in the cloud: each call invokes the engine Lambda.

The engine owns every write that can start work (it alone may start state machines), so the
API hands start, stop, retry, update and callbacks to it synchronously and raises the same
typed error the engine raised (ValidationException, ResourceNotFound, ConflictException, ...).

An engine invocation that fails outright (its Lambda crashed, timed out or answered nothing we
understand) is a server fault: :class:`EngineUnavailable`, answered as SageMaker answers its own
faults, ``InternalFailure`` with HTTP 500. Every AWS SDK retries a 5xx by itself (boto3: 4 more
attempts in legacy mode, 2 in standard), and a repeat never starts work twice: botocore fills
StartPipelineExecution's ClientRequestToken once per call and resends it on every attempt, the
engine writes it in the same transaction as the execution, and a replay returns that execution
and launches what the first attempt owed. A repeated stop finds the execution Stopping and a
repeated update sets the same values; a repeated retry or callback whose first attempt was
written is refused (the execution is Executing again, the token is spent), never applied twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipelines.api.errors import InternalFailure
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


class EngineUnavailable(InternalFailure):
    """The engine Lambda failed (an unhandled error, not a rejected request): a server fault,
    so HTTP 500 and the SDKs retry it (see the module docstring)."""


class EngineClient:
    """``ExecutionRuntime`` by Lambda invoke of ``function_name`` (ENGINE_FUNCTION_NAME)."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self.client = lambda_client
        self.function_name = function_name

    def start(self, request: StartRequest) -> ExecutionRecord:
        return self._call({"action": "StartExecution", "request": request.to_event()})

    def stop(self, execution: str) -> ExecutionRecord:
        return self._call({"action": "StopExecution", "pipelineExecutionArn": execution})

    def retry(self, execution: str, *, parallelism: int | None = None) -> ExecutionRecord:
        return self._call(
            {"action": "RetryExecution", "pipelineExecutionArn": execution, "parallelism": parallelism}
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
        self, token: str, outputs: Mapping[str, Any], *, background: bool = False
    ) -> ExecutionRecord:
        return self._call({"action": "CallbackSuccess", "callbackToken": token, "outputs": dict(outputs)})

    def callback_failure(self, token: str, reason: str, *, background: bool = False) -> ExecutionRecord:
        return self._call({"action": "CallbackFailure", "callbackToken": token, "failureReason": reason})

    def reconcile(self, execution: str) -> ExecutionRecord:
        return self._call({"action": "ReconcileExecution", "pipelineExecutionArn": execution})

    def _call(self, event: dict[str, Any]) -> ExecutionRecord:
        response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            message = payload.get("errorMessage") if isinstance(payload, dict) else payload
            raise EngineUnavailable(f"the engine failed on {event['action']}: {message}")
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            raise _ERRORS.get(error.get("code"), PipelinesError)(str(error.get("message")))
        if not isinstance(payload, dict) or "execution" not in payload:
            raise EngineUnavailable(f"unexpected engine answer to {event['action']}: {payload!r}")
        return ExecutionRecord.model_validate(payload["execution"])
