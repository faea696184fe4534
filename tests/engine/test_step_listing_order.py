"""Steps that start in the same tick (a batch the driver claims at once, or cache hits decided at
the start) list in the order the engine started them, not by name."""

from __future__ import annotations

from pipelines.engine import StartRequest
from pipelines.store.base import ListQuery

from .fakes import definition, processing_step

CACHED = {"CacheConfig": {"Enabled": True, "ExpireAfter": "PT1H"}}
# independent steps start in definition order; the names sort the other way round
NAMES = ["Zeta", "Mid", "Alpha"]


def _listed(runtime, execution_id: str) -> list[str]:
    return [s.step_name for s in runtime.store.list_steps(execution_id, ListQuery(ascending=True)).items]


def test_steps_started_in_one_tick_list_in_start_order(runtime) -> None:
    final = runtime.run(definition(*(processing_step(n) for n in NAMES)))
    assert final.status == "Succeeded"
    steps = runtime.engine.state(final.execution_id).steps
    assert len({steps[n].started_at for n in NAMES}) == 1  # one tick of the fake clock: a real tie
    assert _listed(runtime, final.execution_id) == NAMES
    assert [s.start_sequence for s in (steps[n] for n in NAMES)] == sorted(
        s.start_sequence for s in steps.values()
    )


def test_cache_hits_decided_together_list_in_definition_order(runtime, jobs) -> None:
    text = definition(*(processing_step(n, **CACHED) for n in NAMES))
    runtime.run(text, StartRequest(pipeline_name="cached"))
    second = runtime.run(text, StartRequest(pipeline_name="cached"))
    assert jobs.runs_of("Zeta") == 1  # the second execution was all cache hits
    assert _listed(runtime, second.execution_id) == NAMES
    descending = runtime.store.list_steps(second.execution_id, ListQuery(ascending=False)).items
    assert [s.step_name for s in descending] == NAMES[::-1]
