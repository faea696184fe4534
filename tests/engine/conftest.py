from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import Config
from pipelines.engine import Engine, FakeClock, upsert_pipeline
from pipelines.objects import LocalObjectStore
from pipelines.runners.registry import RunnerRegistry
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.base import Store

from .fakes import ScriptedRunner, processing_properties


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(state_dir=tmp_path / "state", object_root=tmp_path / "objects", base_dir=tmp_path)


@pytest.fixture
def objects(config: Config) -> LocalObjectStore:
    return LocalObjectStore(config.object_root)


@pytest.fixture
def jobs() -> ScriptedRunner:
    """The Processing runner of the test (scripts are set per test)."""
    return ScriptedRunner("Processing", properties=processing_properties)


@pytest.fixture
def lambdas() -> ScriptedRunner:
    return ScriptedRunner("Lambda", properties=lambda request: {"OutputParameters": {}})


@pytest.fixture
def callbacks() -> ScriptedRunner:
    from .fakes import Wait

    class AlwaysWait(ScriptedRunner):
        def run(self, request, ctx):  # type: ignore[no-untyped-def]
            self.scripts.setdefault(request.step_name, [Wait()] * 10)
            return super().run(request, ctx)

    return AlwaysWait("Callback")


@pytest.fixture
def registry(jobs: ScriptedRunner, lambdas: ScriptedRunner, callbacks: ScriptedRunner) -> RunnerRegistry:
    return RunnerRegistry([jobs, lambdas, callbacks])


@pytest.fixture
def engine(
    store: Store, objects: LocalObjectStore, clock: FakeClock, registry: RunnerRegistry, config: Config
) -> Engine:
    return Engine(
        store,
        objects=objects,
        clock=clock,
        unsupported_steps=lambda d, names: registry.unsupported_steps(d, config, names),
    )


@pytest.fixture
def runtime(
    config: Config, store: Store, registry: RunnerRegistry, objects: LocalObjectStore, clock: FakeClock
) -> Iterator[EmbeddedRuntime]:
    rt = EmbeddedRuntime(
        config, store=store, registry=registry, objects=objects, clock=clock, poll_interval=0.05
    )
    yield rt
    for thread in list(rt._threads.values()):
        thread.join(timeout=10)


@pytest.fixture
def pipeline(store: Store, clock: FakeClock) -> Callable[..., str]:
    """Register a definition under a name (default "p") and return the name."""

    def register(text: str, name: str = "p", **options: Any) -> str:
        upsert_pipeline(store, name, text, clock=clock, **options)
        return name

    return register
