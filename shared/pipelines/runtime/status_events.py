"""Status-change events: every execution and step status change the engine reports.

Runtimes hand each engine outcome's :class:`~pipelines.engine.StatusChange` records to a
:class:`StatusPublisher`. The EventBridge publisher sends one event per change, shaped like
SageMaker's "SageMaker Model Building Pipeline Execution Status Change" and "... Execution
Step Status Change" events (``source`` is ours: ``aws.*`` sources are reserved). Delivery is
at least once per accepted engine decision: a Lambda that dies after the decision and before
publishing loses that event, a retried duplicate decision publishes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pipelines.engine import StatusChange
from pipelines.errors import PipelinesError
from pipelines.store.base import ExecutionRecord, StepRecord

EVENT_SOURCE = "pipelines.selfhosted"
EXECUTION_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"
STEP_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Step Status Change"
_PUT_EVENTS_BATCH = 10


class StatusPublisher(Protocol):
    def publish(
        self, execution: ExecutionRecord, steps: Mapping[str, StepRecord], changes: Sequence[StatusChange]
    ) -> None: ...


class NullPublisher:
    def publish(
        self, execution: ExecutionRecord, steps: Mapping[str, StepRecord], changes: Sequence[StatusChange]
    ) -> None:
        return None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def event_detail(
    execution: ExecutionRecord, steps: Mapping[str, StepRecord], change: StatusChange
) -> tuple[str, dict[str, Any]]:
    """(detail-type, detail) of one change."""
    common = {"pipelineArn": execution.pipeline_arn, "pipelineExecutionArn": execution.execution_arn}
    if change.step_name is None:
        detail = {
            **common,
            "pipelineExecutionDisplayName": execution.display_name or execution.execution_id,
            "currentPipelineExecutionStatus": change.new_status,
            "previousPipelineExecutionStatus": change.old_status,
            "executionStartTime": _time(execution.created_at),
            "executionEndTime": _time(execution.ended_at),
        }
        if execution.failure_reason:
            detail["failureReason"] = execution.failure_reason
        return EXECUTION_DETAIL_TYPE, detail
    record = steps.get(change.step_name)
    detail = {
        **common,
        "stepName": change.step_name,
        "currentStepStatus": change.new_status,
        "previousStepStatus": change.old_status,
    }
    if record is not None:
        detail.update(
            stepType=record.step_type,
            stepStartTime=_time(record.started_at),
            stepEndTime=_time(record.ended_at),
            attemptCount=record.attempt,
            metadata=record.metadata,
        )
        if record.failure_reason:
            detail["failureReason"] = record.failure_reason
    return STEP_DETAIL_TYPE, detail


class EventBridgePublisher:
    """PutEvents on the stack's event bus (``EVENT_BUS_NAME``), ten entries per call."""

    def __init__(self, client: Any, bus_name: str, source: str = EVENT_SOURCE) -> None:
        self.client = client
        self.bus_name = bus_name
        self.source = source

    def publish(
        self, execution: ExecutionRecord, steps: Mapping[str, StepRecord], changes: Sequence[StatusChange]
    ) -> None:
        entries = [self._entry(execution, steps, change) for change in changes]
        for batch in _batches(entries, _PUT_EVENTS_BATCH):
            response = self.client.put_events(Entries=batch)
            if response.get("FailedEntryCount"):
                failed = [e for e in response.get("Entries", []) if e.get("ErrorCode")]
                raise EventDeliveryFailed(f"{len(failed)} status event(s) were not accepted: {failed[:3]}")

    def _entry(
        self, execution: ExecutionRecord, steps: Mapping[str, StepRecord], change: StatusChange
    ) -> dict[str, Any]:
        detail_type, detail = event_detail(execution, steps, change)
        return {
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, default=str),
            "Resources": [execution.pipeline_arn, execution.execution_arn],
            "EventBusName": self.bus_name,
        }


class EventDeliveryFailed(PipelinesError):
    """EventBridge rejected some status events."""


def _batches(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
