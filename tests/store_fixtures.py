"""The ``store`` fixture on every backend (``store_kind``: SQLite, and DynamoDB in moto), for
tests/store and tests/engine (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipelines.store.backends import STORE_KINDS, open_backend
from pipelines.store.base import Store


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(store_kind: str, tmp_path: Path) -> Iterator[Store]:
    from tests.cloud.moto_dynamodb import prepared_backend  # moto, only where a store is used

    with prepared_backend(store_kind, tmp_path):  # DynamoDB: moto, fresh tables
        backend = open_backend(store_kind, tmp_path)
        yield backend
        backend.close()
