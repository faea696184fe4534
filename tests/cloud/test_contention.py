"""Lost conditional writes: the engine backs off (jittered, on its clock) before re-reading."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from pipelines.engine import Engine, FakeClock, StartRequest, upsert_pipeline
from pipelines.engine.lifecycle import ConflictBackoff
from pipelines.runners.base import StepResult
from pipelines.store.base import Transition
from pipelines.store.dynamodb import DynamoDBStore

from tests.cloud.moto_dynamodb import REGION, new_tables, serialised_dynamodb
from tests.cloud.scenarios import pipeline, processing


class RecordingClock(FakeClock):
    """A FakeClock that remembers every wait asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def sleep(
        self, seconds: float | None, interrupt: threading.Event | None = None, real_limit: float | None = None
    ) -> bool:
        self.waits.append(seconds)
        return super().sleep(seconds, interrupt, real_limit)


class RivalStore(DynamoDBStore):
    """Before each of the first ``rivals`` writes, another writer changes the execution first,
    so the write's condition fails in DynamoDB itself."""

    rivals = 0
    rival: Engine | None = None

    def apply(self, transition: Transition) -> Any:
        if self.rivals and self.rival is not None:
            self.rivals -= 1
            self.rival.update_execution(transition.execution.execution_id, description=f"rival {self.rivals}")
        return super().apply(transition)


@pytest.fixture
def store() -> Iterator[RivalStore]:
    from pipelines import aws

    with mock_aws(), serialised_dynamodb():
        yield RivalStore(new_tables(), client=aws.client("dynamodb", REGION))


def test_each_lost_write_waits_a_jittered_backoff_before_reading_again(store: RivalStore) -> None:
    clock = RecordingClock()
    backoff = ConflictBackoff(base_seconds=0.02, cap_seconds=0.05, rng=random.Random(7))
    engine = Engine(store, clock=clock, conflict_backoff=backoff)
    store.rival = Engine(DynamoDBStore(store.tables, client=store.client), clock=FakeClock())
    upsert_pipeline(store, "p", _two_steps())
    execution = engine.start(StartRequest(pipeline_name="p")).execution
    assert execution is not None
    engine.step_started(execution.execution_id, "A", 1)
    assert clock.waits == []  # no contention, no wait

    store.rivals = 3
    fake_before, real_before = clock.now(), time.monotonic()
    outcome = engine.step_succeeded(
        execution.execution_id, "A", 1, StepResult(properties={"ProcessingJobName": "a"})
    )

    assert outcome.accepted and store.rivals == 0
    assert [a.step_name for a in outcome.actions] == ["B"]
    assert outcome.execution is not None and outcome.execution.description == "rival 0"
    assert len(clock.waits) == 3  # one wait per lost write, none before the first try
    assert all(w is not None and 0.0 <= w < 0.05 for w in clock.waits)
    # the FakeClock skipped the waits: its time moved by them, real time barely did
    waited = sum(w for w in clock.waits if w is not None)
    assert abs((clock.now() - fake_before).total_seconds() - waited) < 1e-6
    assert time.monotonic() - real_before < 5.0


def test_the_backoff_ceiling_doubles_from_the_lost_attempts_duration_up_to_the_cap() -> None:
    class Highest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    backoff = ConflictBackoff(base_seconds=0.01, cap_seconds=0.5, rng=Highest())
    assert [backoff.delay(n) for n in (1, 2, 3)] == [0.01, 0.02, 0.04]
    assert [backoff.delay(n, attempt_seconds=0.1) for n in (1, 2, 3, 4)] == [0.1, 0.2, 0.4, 0.5]
    assert backoff.delay(500, attempt_seconds=0.1) == 0.5
    jittered = ConflictBackoff(rng=random.Random(1))
    draws = [jittered.delay(2, attempt_seconds=0.1) for _ in range(200)]
    assert all(0.0 <= d < 0.2 for d in draws) and len(set(draws)) == 200


def _two_steps() -> str:
    import json

    return json.dumps(pipeline(processing("A"), processing("B", DependsOn=["A"])))
