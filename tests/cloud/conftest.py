"""Fixtures of the cloud suite: a whole deployment on moto per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cloud.harness import Cloud, moto_cloud


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with moto_cloud(monkeypatch) as deployment:
        yield deployment
