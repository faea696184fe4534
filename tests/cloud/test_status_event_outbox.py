"""Status events of the cloud engine survive an invocation that dies between its DynamoDB
transaction and PutEvents (the transactional outbox, pipelines.events.outbox).

The engine Lambda's final decision (the last step Succeeded, the execution Succeeded) is written,
then the invocation fails before it publishes: its SQS batch comes back, and the redelivery
publishes what the dead invocation committed. A failed PutEvents (the invocation itself goes on)
is published by the scheduled sweep, though the execution gets no further event. A decision
that never committed publishes nothing. Each change is published once, under its stable id.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from pipelines.engine import Outcome
from pipelines.events import PublishFailed, StatusEvent
from pipelines.store import Transition

from tests.cloud.harness import Cloud, wait_until
from tests.cloud.scenarios import pipeline, processing

EXPECTED = [
    (None, None, "Executing"),
    *[
        (step, old, new)
        for step in "AB"
        for old, new in [(None, "Starting"), ("Starting", "Executing"), ("Executing", "Succeeded")]
    ],
    (None, "Executing", "Succeeded"),
]
"""The run's changes."""
CLAIM_TIMEOUT = timedelta(seconds=0.5)
"""Events another invocation committed are taken over after this (deployed: 60 s); the failed
batch comes back after 1 s (tests.cloud.harness.RETRY_VISIBILITY_SECONDS)."""


def change(event: StatusEvent) -> tuple[str | None, str | None, str]:
    detail = event.detail
    if "stepName" in detail:
        return detail["stepName"], detail.get("previousStepStatus"), detail["currentStepStatus"]
    return None, detail.get("previousPipelineExecutionStatus"), detail["currentPipelineExecutionStatus"]


def ends_execution(outcome: Outcome) -> bool:
    return any(c.step_name is None and c.new_status == "Succeeded" for c in outcome.changes)


def published_once(cloud: Cloud) -> None:
    """Every change of the run published, none twice, each under its own stable id."""
    events = list(cloud.publisher.events)
    assert Counter(change(e) for e in events) == Counter(EXPECTED)
    ids = [e.detail["eventId"] for e in events]
    assert len(set(ids)) == len(ids) and all(e.event_id == e.detail["eventId"] for e in events)
    assert cloud.store.list_outbox(None) == []  # nothing left behind


def finished_run(cloud: Cloud) -> str:
    cloud.register(json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"]))))
    arn = cloud.start().execution_arn
    assert cloud.wait(arn).status == "Succeeded"
    return arn


def test_events_an_invocation_committed_before_dying_are_published_by_the_redelivery(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cloud.runtime.outbox, "claim_timeout", CLAIM_TIMEOUT)
    real_carry_out = cloud.runtime.carry_out
    died: list[Outcome] = []

    def dies_after_the_final_write(outcome: Outcome) -> None:
        if ends_execution(outcome) and not died:
            died.append(outcome)  # written; the invocation dies before it publishes or acts
            raise MemoryError("the engine Lambda ran out of memory after its transaction")
        real_carry_out(outcome)

    monkeypatch.setattr(cloud.runtime, "carry_out", dies_after_the_final_write)
    finished_run(cloud)

    assert died, "the final decision's invocation was to die"
    wait_until(lambda: (None, "Executing", "Succeeded") in [change(e) for e in cloud.publisher.events])
    published_once(cloud)
    final = next(e for e in cloud.publisher.events if change(e) == (None, "Executing", "Succeeded"))
    assert [final.detail["eventId"]] == [e["id"] for r in died[0].outbox for e in r.events][-1:]


def test_events_whose_put_events_failed_are_published_by_the_sweep(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutEvents fails for the last decision; the invocation goes on (the run ends) and the
    execution gets no further event, so only the scheduled sweep can publish them."""
    monkeypatch.setattr(cloud.runtime.outbox, "claim_timeout", CLAIM_TIMEOUT)
    publisher = cloud.publisher
    failed: list[int] = []

    class FailingOnce:
        def publish(self, events: Any) -> None:
            if any(change(e) == (None, "Executing", "Succeeded") for e in events) and not failed:
                failed.append(len(events))
                raise PublishFailed("1 status event(s) could not be put: InternalFailure")
            publisher.publish(events)

    monkeypatch.setattr(cloud.runtime.outbox, "publisher", FailingOnce())
    finished_run(cloud)
    assert failed
    assert (None, "Executing", "Succeeded") not in [change(e) for e in publisher.events]

    assert len(cloud.store.list_outbox(None)) == 1  # kept for a later publish

    def swept() -> bool:  # the scheduled rule's invocation, until the claim is abandoned
        cloud.runtime.sweep()
        return (None, "Executing", "Succeeded") in [change(e) for e in publisher.events]

    wait_until(swept)
    published_once(cloud)


def test_a_decision_that_never_committed_publishes_nothing(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invocation dies in its final transaction (before it commits): no event of it; the
    redelivery decides again, and that decision's events are published once."""
    store = cloud.store
    real_apply = store.apply
    died: list[int] = []

    def dies_before_committing(transition: Transition) -> None:
        if transition.execution.status == "Succeeded" and not died:
            died.append(transition.execution.version)
            assert not store.list_outbox(transition.execution.execution_id)
            raise MemoryError("the engine Lambda ran out of memory in its transaction")
        real_apply(transition)

    monkeypatch.setattr(store, "apply", dies_before_committing)
    finished_run(cloud)
    assert died
    wait_until(lambda: (None, "Executing", "Succeeded") in [change(e) for e in cloud.publisher.events])
    published_once(cloud)


def launches_b(outcome: Outcome) -> bool:
    """The decision on A's report: A Succeeded, B launched (its record is held for B's report)."""
    return any(c.step_name == "B" and c.new_status == "Starting" for c in outcome.changes)


def test_a_launching_decision_whose_invocation_died_is_published_before_its_step_starts(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invocation dies after the transaction that launched B, before publishing or starting
    it. The redelivery starts B, and publishes that decision's events first (B's report then
    removes nothing unpublished): every change out once, nothing left."""
    real_carry_out = cloud.runtime.carry_out
    died: list[Outcome] = []

    def dies_after_launching(outcome: Outcome) -> None:
        if launches_b(outcome) and not died:
            died.append(outcome)
            assert [r.launched for r in outcome.outbox] == [[("B", 1)]]  # held for B's report
            raise MemoryError("the engine Lambda ran out of memory after its transaction")
        real_carry_out(outcome)

    monkeypatch.setattr(cloud.runtime, "carry_out", dies_after_launching)
    finished_run(cloud)
    assert died
    wait_until(lambda: cloud.store.list_outbox(None) == [])
    published_once(cloud)


def test_a_launching_decision_whose_put_events_failed_is_published_after_its_claim_timeout(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutEvents fails for the decision that launched B: its hold is dropped before B starts,
    so B's report does not remove it; the next call for the execution publishes it once its
    claim is abandoned."""
    monkeypatch.setattr(cloud.runtime.outbox, "claim_timeout", CLAIM_TIMEOUT)
    publisher = cloud.publisher
    failed: list[int] = []

    class FailingOnce:
        def publish(self, events: Any) -> None:
            if any(change(e) == ("B", None, "Starting") for e in events) and not failed:
                failed.append(len(events))
                raise PublishFailed("1 status event(s) could not be put: InternalFailure")
            publisher.publish(events)

    monkeypatch.setattr(cloud.runtime.outbox, "publisher", FailingOnce())
    finished_run(cloud)
    assert failed

    def swept() -> bool:
        cloud.runtime.sweep()
        return ("B", None, "Starting") in [change(e) for e in publisher.events]

    wait_until(swept)
    published_once(cloud)
