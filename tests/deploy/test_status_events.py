"""Status-change events of a full run, in SageMaker's detail shapes, through EventBridge (moto:
custom bus -> rule -> SQS) and through the embedded JSON-lines publisher.

The run is driven step by step through the engine, so every status change it records is
published exactly as a runtime publishes it: the engine writes each decision's events into its
transaction (``Engine(outbox=Outbox.record)``) and ``Outbox.publish`` sends them after each call.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipelines.engine import Engine, Outcome, StartRequest, upsert_pipeline
from pipelines.events import (
    EXECUTION_STATUS_CHANGE,
    SOURCE,
    STEP_STATUS_CHANGE,
    EventBridgePublisher,
    JsonLinesPublisher,
    Outbox,
    PublishFailed,
    StatusEvent,
    StatusPublisher,
    read_events,
)
from pipelines.events.details import uuid5_text
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import StepFailed, StepResult
from pipelines.store.sqlite import SQLiteStore

from tests.deploy.conftest import REGION

ROLE = "arn:aws:iam::123456789012:role/pipelines/r"
JOB_ARN = "arn:aws:sagemaker:us-east-1:000000000000:processing-job/pipelines-prepare"
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BUS = "smp-dev-events"


PREPARE: dict[str, Any] = {
    "Name": "Prepare",
    "Type": "Processing",
    "Arguments": {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"},
        "RoleArn": ROLE,
    },
}


def pipeline(fail: bool = False) -> str:
    checked: list[dict[str, Any]] = (
        [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "no good"}}] if fail else []
    )
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [{"Name": "Threshold", "Type": "Float", "DefaultValue": 0.5}],
            "Steps": [
                PREPARE,
                {
                    "Name": "Check",
                    "Type": "Condition",
                    "Arguments": {
                        "Conditions": [
                            {
                                "Type": "Equals",
                                "LeftValue": {"Get": "Steps.Prepare.ProcessingJobStatus"},
                                "RightValue": "Completed",
                            }
                        ],
                        "IfSteps": checked,
                        "ElseSteps": [],
                    },
                },
            ],
        }
    )


def outboxed_engine(tmp_path: Path, publisher: StatusPublisher) -> tuple[Engine, Outbox]:
    """An engine recording its decisions' events in its SQLite transactions, and the outbox
    that publishes them, as the runtimes wire them."""
    store = SQLiteStore(tmp_path / "state.sqlite")
    outbox = Outbox(store, publisher, claimant="test")
    return Engine(store, objects=LocalObjectStore(tmp_path / "objects"), outbox=outbox.record), outbox


class Discarding:
    def publish(self, events: Any) -> None:
        pass


def run(tmp_path: Path, publisher: StatusPublisher | None = None, *, fail: bool = False) -> list[Outcome]:
    """One execution, step by step, each call's events published after it; returns the
    outcome of every engine call in order."""
    engine, outbox = outboxed_engine(tmp_path, publisher or Discarding())
    upsert_pipeline(engine.store, "events-demo", pipeline(fail))
    started = outbox_published(
        outbox, engine.start(StartRequest(pipeline_name="events-demo", display_name="nightly"))
    )
    assert started.execution is not None
    execution = started.execution.execution_id
    claimed = outbox_published(outbox, engine.step_started(execution, "Prepare", 1))
    result = StepResult(
        properties={"ProcessingJobName": "pipelines-prepare", "ProcessingJobStatus": "Completed"},
        metadata={"ProcessingJob": {"Arn": JOB_ARN}},
    )
    finished = outbox_published(outbox, engine.step_succeeded(execution, "Prepare", 1, result))
    assert engine.store.list_outbox(None) == []  # every record deleted once published
    return [started, claimed, finished]


def outbox_published(outbox: Outbox, outcome: Outcome) -> Outcome:
    outbox.publish(outcome)
    return outcome


def summary(event: dict[str, Any]) -> tuple[str, str | None, str | None, str]:
    detail = event["detail"]
    if event["detail-type"] == EXECUTION_STATUS_CHANGE:
        return (
            "execution",
            None,
            detail.get("previousPipelineExecutionStatus"),
            detail["currentPipelineExecutionStatus"],
        )
    return ("step", detail["stepName"], detail.get("previousStepStatus"), detail["currentStepStatus"])


EXPECTED_RUN = [
    ("execution", None, None, "Executing"),
    ("step", "Prepare", None, "Starting"),
    ("step", "Prepare", "Starting", "Executing"),
    ("step", "Prepare", "Executing", "Succeeded"),
    ("step", "Check", None, "Succeeded"),
    ("execution", None, "Executing", "Succeeded"),
]


@pytest.fixture
def bus_to_queue(moto: None) -> Iterator[tuple[Any, Any, str]]:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="status-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def route(name: str, pattern: dict[str, Any]) -> None:
        events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])

    yield events, route, queue_url


def received(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return messages
        messages += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_a_full_run_emits_sagemakers_events_in_order(
    tmp_path: Path, bus_to_queue: tuple[Any, Any, str]
) -> None:
    events, route, queue_url = bus_to_queue
    route(
        "all-pipeline-events",
        {"source": [SOURCE], "detail-type": [EXECUTION_STATUS_CHANGE, STEP_STATUS_CHANGE]},
    )
    outcomes = run(tmp_path, EventBridgePublisher(BUS, events))

    delivered = received(queue_url)
    assert [summary(e) for e in delivered] == EXPECTED_RUN
    execution = outcomes[-1].execution
    assert execution is not None
    for event in delivered:
        assert event["source"] == SOURCE
        assert event["resources"] == [execution.pipeline_arn, execution.execution_arn]
        assert event["detail"]["pipelineArn"] == execution.pipeline_arn
        assert event["detail"]["pipelineExecutionArn"] == execution.execution_arn

    # each change's stable id rides in the detail (EventBridge gives every delivery its own id)
    recorded = [e["id"] for o in outcomes for r in o.outbox for e in r.events]
    assert [e["detail"]["eventId"] for e in delivered] == recorded
    assert len(set(recorded)) == len(recorded) and all(e["id"] not in recorded for e in delivered)

    first, last = delivered[0]["detail"], delivered[-1]["detail"]
    assert set(first) == {
        "eventId",
        "pipelineExecutionDisplayName",
        "currentPipelineExecutionStatus",
        "executionStartTime",
        "pipelineArn",
        "pipelineExecutionArn",
    }
    assert set(last) == set(first) | {"previousPipelineExecutionStatus", "executionEndTime"}
    assert last["pipelineExecutionDisplayName"] == "nightly"
    assert TIME.match(last["executionStartTime"]) and TIME.match(last["executionEndTime"])

    prepared = delivered[3]["detail"]
    assert set(prepared) == {
        "eventId",
        "metadata",
        "stepStartTime",
        "stepEndTime",
        "stepName",
        "stepType",
        "previousStepStatus",
        "currentStepStatus",
        "pipelineArn",
        "pipelineExecutionArn",
    }
    assert prepared["metadata"] == {"processingJob": {"arn": JOB_ARN}}
    assert prepared["stepType"] == "Processing"
    assert "stepEndTime" not in delivered[2]["detail"]  # not ended while Executing


def test_rules_written_for_sagemaker_select_failed_steps(
    tmp_path: Path, bus_to_queue: tuple[Any, Any, str]
) -> None:
    events, route, queue_url = bus_to_queue
    route(
        "failed-steps",
        {
            "source": [SOURCE],
            "detail-type": [STEP_STATUS_CHANGE],
            "detail": {"currentStepStatus": ["Failed"]},
        },
    )
    run(tmp_path, EventBridgePublisher(BUS, events), fail=True)
    [failed] = received(queue_url)
    assert failed["detail"]["stepName"] == "Stop"
    assert failed["detail"]["stepType"] == "Fail"
    assert failed["detail"]["failureReason"] == "no good"


def test_the_embedded_publisher_writes_the_same_events_as_delivered_json(tmp_path: Path) -> None:
    path = tmp_path / "events" / "status-changes.jsonl"
    run(tmp_path, JsonLinesPublisher(path))
    written = read_events(path)
    assert [summary(e) for e in written] == EXPECTED_RUN
    assert {e["version"] for e in written} == {"0"}
    assert len({e["id"] for e in written}) == len(written)
    assert all(e["id"] == e["detail"]["eventId"] for e in written)  # the change's stable id
    assert all(TIME.match(str(e["time"])) for e in written)
    assert written[0]["account"] == "000000000000" and written[0]["region"] == "us-east-1"


def handled_failure_pipeline() -> str:
    """Prepare fails; Cleanup runs on that failure (a v3 SDK run condition), so the execution
    ends CompletedWithFailures."""
    cleanup = {
        "Name": "Cleanup",
        "Type": "Condition",
        "DependsOn": [{"Step": "Prepare", "Trigger": "Failed"}],
        "Arguments": {"Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 1}], "IfSteps": []},
    }
    return json.dumps({"Version": "2020-12-01", "Steps": [PREPARE, cleanup]})


def test_an_execution_completed_with_failures_has_ended(tmp_path: Path) -> None:
    path = tmp_path / "status-changes.jsonl"
    engine, outbox = outboxed_engine(tmp_path, JsonLinesPublisher(path))
    upsert_pipeline(engine.store, "handled", handled_failure_pipeline())
    started = outbox_published(outbox, engine.start(StartRequest(pipeline_name="handled")))
    assert started.execution is not None
    execution = started.execution.execution_id
    outbox_published(outbox, engine.step_started(execution, "Prepare", 1))
    failure = StepFailed("bad input", error_code="ValidationException")
    outbox_published(outbox, engine.step_failed(execution, "Prepare", 1, failure))

    changes = [e["detail"] for e in read_events(path) if e["detail-type"] == EXECUTION_STATUS_CHANGE]
    assert [c["currentPipelineExecutionStatus"] for c in changes] == ["Executing", "CompletedWithFailures"]
    assert "executionEndTime" not in changes[0]
    assert TIME.match(changes[-1]["executionEndTime"])


class RecordingEvents:
    """A PutEvents client double answering from a script of per-entry error codes."""

    def __init__(self, failures: list[list[str | None]]) -> None:
        self.failures = failures
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        codes = self.failures.pop(0) if self.failures else [None] * len(Entries)
        results = [{"ErrorCode": c, "ErrorMessage": "slow down"} if c else {"EventId": "e"} for c in codes]
        return {"FailedEntryCount": sum(1 for c in codes if c), "Entries": results}


def events_of_a_run(tmp_path: Path) -> list[StatusEvent]:
    return [
        StatusEvent.from_envelope(envelope)
        for outcome in run(tmp_path)
        for record in outcome.outbox
        for envelope in record.events
    ]


def test_put_events_batches_of_ten_and_resends_failed_entries(tmp_path: Path) -> None:
    many = events_of_a_run(tmp_path) * 2  # 12 events
    client = RecordingEvents([[None] * 9 + ["ThrottlingException"], [None], [None, None]])
    EventBridgePublisher(BUS, client).publish(many)
    assert [len(c) for c in client.calls] == [10, 1, 2]
    assert client.calls[1][0] == client.calls[0][9]  # the throttled entry, sent again


def test_entries_that_keep_failing_raise(tmp_path: Path) -> None:
    client = RecordingEvents([["InternalFailure", None], ["InternalFailure"]])
    with pytest.raises(PublishFailed, match="InternalFailure"):
        EventBridgePublisher(BUS, client).publish(events_of_a_run(tmp_path)[:2])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_event_ids_are_the_uuid5_the_uuid_module_makes(name: str) -> None:
    """Each change's id (a UUID5 of its execution, version and index) is made without the uuid
    module's object, for speed: the text must be the module's, for any name."""
    assert uuid5_text(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def test_an_envelope_read_back_keeps_its_time_in_utc() -> None:
    event = StatusEvent(
        detail_type=STEP_STATUS_CHANGE,
        detail={"a": 1},
        resources=["arn"],
        account="123456789012",
        region="us-east-1",
        time=datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC),
    )
    again = StatusEvent.from_envelope(event.envelope("id-1"))
    assert again.time == event.time and again.time.utcoffset() == timedelta(0)
    assert again.envelope() == event.envelope("id-1")
