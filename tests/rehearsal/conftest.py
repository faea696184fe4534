"""Fixtures of the deploy rehearsal: one CLI synth per context variant and session, one
deployment of the runnable variant shared by this package's tests (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rehearsal.harness import Rehearsal, rehearse
from tests.rehearsal.invoker import find_python312, runtime_packages_dir
from tests.rehearsal.synth import RUNNABLE, SESSION, Assembly, synthesize


@pytest.fixture(scope="session")
def python312() -> str:
    return find_python312()


@pytest.fixture(scope="session")
def runnable() -> Assembly:
    """The x86_64 stack with the example pipeline: the one whose handlers run here."""
    return synthesize(RUNNABLE, session=SESSION)


@pytest.fixture(scope="package")
def rehearsal(
    runnable: Assembly, python312: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rehearsal]:
    root = tmp_path_factory.mktemp("rehearsal")
    with rehearse(
        runnable,
        python=python312,
        runtime_path=runtime_packages_dir(root / "runtime"),
        log_dir=root / "logs",
    ) as deployed:
        yield deployed


@pytest.fixture(scope="package")
def functions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("team-functions")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``-n auto --dist loadgroup`` the rehearsal runs on one worker: one deployment."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.xdist_group("rehearsal"))
