"""Status-change events from the embedded runtime: every change the engine reports is published
once, in SageMaker's detail shapes, by whichever process makes it (a driver, a callback, a resume)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from pipelines.events import (
    EXECUTION_STATUS_CHANGE,
    SOURCE,
    STEP_STATUS_CHANGE,
    StatusEvent,
    events_path,
    read_events,
)
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.backends import open_backend

from .fakes import definition, processing_step, wait_until

CALLBACK = {
    "Name": "Approve",
    "Type": "Callback",
    "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/0/q",
    "Arguments": {},
}


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[StatusEvent] = []
        self._lock = threading.Lock()

    def publish(self, events: Sequence[StatusEvent]) -> None:
        with self._lock:
            self.events.extend(events)


def change(detail: dict) -> tuple[str | None, str | None, str]:
    """(step name or None for the execution, previous status, current status)."""
    if "stepName" in detail:
        return detail["stepName"], detail.get("previousStepStatus"), detail["currentStepStatus"]
    return None, detail.get("previousPipelineExecutionStatus"), detail["currentPipelineExecutionStatus"]


def ran(*names: str) -> list[tuple[str | None, str | None, str]]:
    return [
        change
        for name in names
        for change in (
            (name, None, "Starting"),
            (name, "Starting", "Executing"),
            (name, "Executing", "Succeeded"),
        )
    ]


def end_driver_as_if_its_process_exited(runtime: EmbeddedRuntime, execution_id: str) -> None:
    driver = runtime._drivers[execution_id]
    runtime.store.release_lease(execution_id, driver.owner)
    driver.final = runtime.store.get_execution(execution_id)  # end that driver loop
    driver.wake.set()
    runtime._threads[execution_id].join(5)
    assert not runtime.driver_alive(execution_id)


def test_a_run_writes_each_change_once_to_the_state_dirs_events_file(runtime, config) -> None:
    final = runtime.run(definition(processing_step("A"), processing_step("B", DependsOn=["A"])))
    assert final.status == "Succeeded"
    events = read_events(events_path(config))
    assert events_path(config).is_relative_to(config.state_dir)
    changes = [change(e["detail"]) for e in events]
    expected = [(None, None, "Executing"), *ran("A", "B"), (None, "Executing", "Succeeded")]
    assert Counter(changes) == Counter(expected)  # every change, none twice
    assert changes[0] == (None, None, "Executing") and changes[-1] == (None, "Executing", "Succeeded")
    assert changes.index(("A", "Executing", "Succeeded")) < changes.index(("B", None, "Starting"))

    last = events[-1]
    assert (last["detail-type"], last["source"]) == (EXECUTION_STATUS_CHANGE, SOURCE)
    assert last["resources"] == [final.pipeline_arn, final.execution_arn]
    assert last["detail"]["pipelineExecutionArn"] == final.execution_arn
    assert "executionEndTime" in last["detail"]
    step_done = next(e for e in events if change(e["detail"]) == ("B", "Executing", "Succeeded"))
    assert step_done["detail-type"] == STEP_STATUS_CHANGE
    assert step_done["detail"]["stepType"] == "Processing"
    assert step_done["detail"]["metadata"]["processingJob"]["arn"].startswith("arn:aws:sagemaker:")


def test_an_injected_publisher_gets_every_change_once_across_a_resume(
    config, store, store_kind, tmp_path, registry, clock, objects
) -> None:
    publisher = RecordingPublisher()
    first = EmbeddedRuntime(
        config,
        store=store,
        registry=registry,
        objects=objects,
        clock=clock,
        poll_interval=0.05,
        publisher=publisher,
    )
    execution = first.start(definition=definition(CALLBACK, processing_step("After", DependsOn=["Approve"])))
    wait_until(lambda: first.engine.state(execution.execution_id).steps["Approve"].waiting_for_callback)
    token = first.engine.state(execution.execution_id).steps["Approve"].callback_token
    end_driver_as_if_its_process_exited(first, execution.execution_id)
    before = len(publisher.events)

    second = EmbeddedRuntime(
        config, store=open_backend(store_kind, tmp_path), registry=registry, clock=clock, publisher=publisher
    )
    final = second.callback_success(token, {})  # no driver alive: the run resumes in this caller
    assert final.status == "Succeeded"

    changes = [change(e.detail) for e in publisher.events]
    expected = [
        (None, None, "Executing"),
        ("Approve", None, "Starting"),
        ("Approve", "Starting", "Executing"),
        ("Approve", "Executing", "Succeeded"),
        *ran("After"),
        (None, "Executing", "Succeeded"),
    ]
    assert Counter(changes) == Counter(expected)
    assert ("Approve", "Executing", "Succeeded") in changes[before:]  # published by the resuming caller
    assert not events_path(config).exists()  # the injected publisher replaces the default file


def test_a_failing_publisher_does_not_stop_the_run(runtime, caplog) -> None:
    class Broken:
        def publish(self, events: Sequence[StatusEvent]) -> None:
            raise OSError("disk full")

    runtime.publisher = Broken()
    final = runtime.run(definition(processing_step("A")))
    assert final.status == "Succeeded"
    assert "could not publish the status events" in caplog.text
