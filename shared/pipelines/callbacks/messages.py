"""The bodies of the messages a Callback step sends, as the service documents them."""

from __future__ import annotations

from typing import Any

STOPPING = "Stopping"


def callback_message(
    token: str, execution_arn: str, arguments: Any, *, status: str | None = None
) -> dict[str, Any]:
    """``{"token", "pipelineExecutionArn", "arguments"}``, plus ``"status": "Stopping"`` when the
    execution is being stopped (the consumer should clean up, then still report success or failure)."""
    body: dict[str, Any] = {"token": token, "pipelineExecutionArn": execution_arn, "arguments": arguments}
    if status is not None:
        body["status"] = status
    return body


def dedupe_id(token: str, status: str | None) -> str:
    """One message per token and status: a repeated send (a resumed run) does not enqueue twice."""
    return f"{token}:{status or 'Executing'}"
