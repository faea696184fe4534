"""Status-change events in the shapes SageMaker sends to EventBridge.

SageMaker emits "SageMaker Model Building Pipeline Execution Status Change" and "SageMaker
Model Building Pipeline Execution Step Status Change" events from ``aws.sagemaker``. We emit
the same detail-types and detail shapes, so rules and consumers written for the managed service
only need their ``source`` changed to ours (AWS reserves ``aws.*`` sources for AWS services).

Details follow the documented examples: camelCase members, ISO-8601 UTC times with a ``Z``,
``resources`` = [pipeline ARN, execution ARN]. Status events also carry ``eventId``, the stable id
of the change (:func:`change_id`; the envelope's ``id`` in the embedded runtime), since delivery is
at least once and EventBridge gives each delivery its own ``id``. Optional members (the previous status of a
first event, an end time before the end, a step's ``failureReason`` and ``cacheHitResult``) are
left out rather than sent as null, as in the examples. Execution events carry no failure reason
(SageMaker's do not either): DescribePipelineExecution has it. The step ``metadata`` is the step's
``PipelineExecutionStep.Metadata`` with its member names in camelCase
(``{"processingJob": {"arn": ...}}``), as the documented example shows.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from pipelines.store.base import (
    TERMINAL_EXECUTION_STATUSES,
    TERMINAL_STEP_STATUSES,
    ExecutionRecord,
    StepRecord,
)

SOURCE = "selfhosted.sagemaker.pipelines"
"""Our events' ``source``; SageMaker's own is ``aws.sagemaker``."""

EXECUTION_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"
STEP_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Step Status Change"
MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
DETAIL_TYPES = (EXECUTION_STATUS_CHANGE, STEP_STATUS_CHANGE)

_ARN = re.compile(r"^arn:[\w-]+:sagemaker:(?P<region>[\w-]*):(?P<account>\d*):pipeline/")
_LEADING_CAPITALS = re.compile(r"^[A-Z]+(?=[A-Z][a-z0-9])|^[A-Z]+$|^[A-Z]")


@dataclass(frozen=True)
class StatusEvent:
    """One event: what EventBridge needs to deliver it, and what consumers receive."""

    detail_type: str
    detail: dict[str, Any]
    resources: list[str]
    account: str
    region: str
    time: datetime
    source: str = SOURCE
    event_id: str | None = None
    """The change's stable id (:func:`change_id`); None for events that are not status changes."""

    def envelope(self, event_id: str | None = None) -> dict[str, Any]:
        """The event as a rule target receives it (EventBridge's delivered-event format); its
        ``id`` is ``event_id``, else the event's own, else a new random one."""
        return {
            "version": "0",
            "id": event_id or self.event_id or str(uuid.uuid4()),
            "detail-type": self.detail_type,
            "source": self.source,
            "account": self.account,
            "time": event_time(self.time),
            "region": self.region,
            "resources": list(self.resources),
            "detail": self.detail,
        }

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> StatusEvent:
        """The event :meth:`envelope` gave (how the outbox keeps events until they are sent)."""
        return cls(
            detail_type=envelope["detail-type"],
            detail=envelope["detail"],
            resources=list(envelope["resources"]),
            account=envelope["account"],
            region=envelope["region"],
            time=datetime.fromisoformat(envelope["time"]),  # "...Z": UTC (strptime costs 100x more)
            source=envelope["source"],
            event_id=envelope["id"],
        )


def change_id(execution: ExecutionRecord, index: int) -> str:
    """The stable id of the ``index``-th status change of the transition that wrote
    ``execution`` at its version: only one transition ever commits a version of an execution,
    so the id names one change whichever process publishes it, however often (a UUID, as
    EventBridge's own ids are)."""
    return uuid5_text(f"{execution.execution_arn}#{execution.version}#{index}")


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def uuid5_text(name: str) -> str:
    """``str(uuid.uuid5(uuid.NAMESPACE_URL, name))``, the same text without building a ``UUID``
    object (its constructor is most of the cost, and an id is made for every status change)."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@lru_cache(maxsize=1024)
def event_time(moment: datetime) -> str:
    """``2021-03-15T16:03:13Z``: the format of every time in SageMaker's events."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def lower_camel(name: str) -> str:
    """``ProcessingJob`` -> ``processingJob``, ``EMR`` -> ``emr``, ``AutoMLJob`` -> ``autoMLJob``."""
    return _LEADING_CAPITALS.sub(lambda m: m.group(0).lower(), name, count=1)


def camel_keys(value: Any) -> Any:
    """Member names in camelCase at every level; values are kept as they are."""
    if isinstance(value, dict):
        return {lower_camel(str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    if isinstance(value, datetime):
        return event_time(value)
    return value


@lru_cache(maxsize=1024)
def _account_and_region(pipeline_arn: str) -> tuple[str, str]:
    match = _ARN.match(pipeline_arn)
    if match is None:
        raise ValueError(f"not a pipeline ARN: {pipeline_arn!r}")
    return match.group("account"), match.group("region")


def _without_none(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if v is not None}


def _ended(status: str, moment: datetime | None, terminal: frozenset[str]) -> str | None:
    """The end time, once ``status`` is one of the ``terminal`` statuses (the store's sets, so
    a new terminal status such as CompletedWithFailures carries its end time too)."""
    return event_time(moment) if moment is not None and status in terminal else None


def _status_event(
    detail_type: str, execution: ExecutionRecord, detail: dict[str, Any], event_id: str | None
) -> StatusEvent:
    """Both kinds of event name the pipeline and the execution, last in the detail (then the
    change's stable id, ``eventId``, when it has one) and as the ``resources``, and come from
    the pipeline's account and region."""
    account, region = _account_and_region(execution.pipeline_arn)
    return StatusEvent(
        detail_type=detail_type,
        detail=_without_none(
            {
                **detail,
                "pipelineArn": execution.pipeline_arn,
                "pipelineExecutionArn": execution.execution_arn,
                "eventId": event_id,
            }
        ),
        resources=[execution.pipeline_arn, execution.execution_arn],
        account=account,
        region=region,
        time=execution.modified_at,
        event_id=event_id,
    )


def execution_event(
    execution: ExecutionRecord, previous_status: str | None, status: str, event_id: str | None = None
) -> StatusEvent:
    """The change of ``execution`` from ``previous_status`` to ``status``; ``event_id``: the
    change's stable id (:func:`change_id`).

    ``execution`` is the record after the engine call; one call may change the status more
    than once, so the status is passed rather than read from the record.
    """
    return _status_event(
        EXECUTION_STATUS_CHANGE,
        execution,
        {
            "pipelineExecutionDisplayName": execution.display_name or execution.execution_id,
            "currentPipelineExecutionStatus": status,
            "previousPipelineExecutionStatus": previous_status,
            "executionStartTime": event_time(execution.created_at),
            "executionEndTime": _ended(status, execution.ended_at, TERMINAL_EXECUTION_STATUSES),
            "pipelineExecutionDescription": execution.description,
        },
        event_id,
    )


def step_event(
    execution: ExecutionRecord,
    step: StepRecord,
    previous_status: str | None,
    status: str,
    event_id: str | None = None,
) -> StatusEvent:
    """The change of ``step`` from ``previous_status`` to ``status`` (see :func:`execution_event`)."""
    started = step.first_started_at or step.started_at
    cache_hit = (
        {"sourcePipelineExecutionArn": step.cache_hit_source_arn} if step.cache_hit_source_arn else None
    )
    return _status_event(
        STEP_STATUS_CHANGE,
        execution,
        {
            "metadata": camel_keys(step.metadata) if step.metadata else {},
            "stepStartTime": event_time(started) if started else None,
            "stepEndTime": _ended(status, step.ended_at, TERMINAL_STEP_STATUSES),
            "stepName": step.step_name,
            "stepType": step.step_type,
            "previousStepStatus": previous_status,
            "currentStepStatus": status,
            "failureReason": step.failure_reason if status == "Failed" else None,
            "cacheHitResult": cache_hit,
        },
        event_id,
    )


def model_package_event(
    record: dict[str, Any], updated_fields: list[str], account: str, region: str, time: datetime
) -> StatusEvent:
    """SageMaker's "Model Package State Change" event: the model package's DescribeModelPackage
    members as the detail, plus ``UpdatedModelPackageFields`` naming what the update changed,
    so a rule on ``ModelApprovalStatus = Approved`` can deploy an approved model."""
    detail = {**record, "UpdatedModelPackageFields": list(updated_fields)}
    return StatusEvent(
        detail_type=MODEL_PACKAGE_STATE_CHANGE,
        detail=detail,
        resources=[str(record.get("ModelPackageArn", ""))],
        account=account,
        region=region,
        time=time,
    )
