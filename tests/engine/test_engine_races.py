"""Racing writers: separate engines on separate store handles (as separate processes or Lambda
invocations would be) never start a step twice and never lose a result."""

from __future__ import annotations

import threading

from pipelines.engine import Engine, RunStep, StartRequest
from pipelines.runners.base import StepResult
from pipelines.store.backends import open_backend

from .fakes import definition, processing_step

PARENTS = 8


def race(workers: list) -> list:
    barrier = threading.Barrier(len(workers))
    results: list = [None] * len(workers)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = workers[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_completions_start_the_join_exactly_once(
    store_kind, tmp_path, engine, pipeline, clock
) -> None:
    text = definition(
        *[processing_step(f"P{i}") for i in range(PARENTS)],
        processing_step("Join", DependsOn=[f"P{i}" for i in range(PARENTS)]),
    )
    outcome = engine.start(StartRequest(pipeline_name=pipeline(text)))
    execution_id = outcome.execution.execution_id
    engines = [Engine(open_backend(store_kind, tmp_path), clock=clock) for _ in range(PARENTS)]

    def complete(i: int):
        return lambda: engines[i].step_succeeded(execution_id, f"P{i}", 1, StepResult(properties={"i": i}))

    outcomes = race([complete(i) for i in range(PARENTS)])
    joins = [a for o in outcomes for a in o.actions if isinstance(a, RunStep) and a.step_name == "Join"]
    assert len(joins) == 1
    state = engine.state(execution_id)
    assert all(state.steps[f"P{i}"].properties == {"i": i} for i in range(PARENTS))  # no result lost
    assert state.steps["Join"].status == "Starting"
    for other in engines:
        other.store.close()


def test_duplicate_reports_racing_are_accepted_once(store_kind, tmp_path, engine, pipeline, clock) -> None:
    outcome = engine.start(
        StartRequest(
            pipeline_name=pipeline(definition(processing_step("A"), processing_step("B", DependsOn=["A"])))
        )
    )
    execution_id = outcome.execution.execution_id
    engines = [Engine(open_backend(store_kind, tmp_path), clock=clock) for _ in range(6)]
    claims = race([lambda e=e: e.step_started(execution_id, "A", 1) for e in engines])
    assert sum(1 for c in claims if c.accepted) == 1
    reports = race(
        [lambda e=e: e.step_succeeded(execution_id, "A", 1, StepResult(properties={})) for e in engines]
    )
    assert sum(1 for r in reports if r.accepted) == 1
    assert sum(1 for r in reports for a in r.actions if isinstance(a, RunStep)) == 1
    for other in engines:
        other.store.close()
