from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pipelines.store.backends import STORE_KINDS, open_backend
from pipelines.store.base import Store

from tests.cloud.moto_dynamodb import prepared_backend


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(store_kind: str, tmp_path: Path) -> Iterator[Store]:
    with prepared_backend(store_kind, tmp_path):  # DynamoDB: moto, fresh tables
        backend = open_backend(store_kind, tmp_path)
        yield backend
        backend.close()
