"""DynamoDB stores on moto for the shared store and engine suites (and the cloud tests).

moto's DynamoDB is not thread-safe: concurrent requests lose increments, grant a conditional
claim twice, and a cancelled transaction can wipe other threads' writes. Real DynamoDB
serialises each item's writes, so the test-only fix is one global RLock around
``DynamoHandler.call_action`` (verified in the prototype: without it racing reports were both
recorded in up to 82 of 200 trials). Each test gets fresh tables: moto copies a whole table on
every transaction, so small tables keep transactions fast.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

from moto import mock_aws
from moto.core import models as moto_models
from moto.dynamodb.responses import DynamoHandler
from pipelines import aws
from pipelines.store.backends import DYNAMODB_LOCATION_FILE
from pipelines.store.dynamodb import TableNames, create_tables

REGION = "us-east-1"
_DYNAMO_LOCK = threading.RLock()


def locked_call_action(real: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    """Every DynamoDB request runs alone, as DynamoDB serialises item writes."""

    def call_action(self: DynamoHandler) -> Any:
        with _DYNAMO_LOCK:
            return real(self)

    return call_action


def serialised_dynamodb() -> Any:
    """The lock as a patch (a context manager)."""
    return mock.patch.object(DynamoHandler, "call_action", locked_call_action(DynamoHandler.call_action))


def new_tables(client: Any | None = None) -> TableNames:
    """Fresh, uniquely named state and cache tables."""
    suffix = uuid.uuid4().hex[:8]
    tables = TableNames(state=f"state-{suffix}", cache=f"cache-{suffix}")
    create_tables(client or aws.client("dynamodb", REGION), tables)
    return tables


def _moto_active() -> bool:
    return bool(moto_models.botocore_stubber.enabled)


@contextmanager
def dynamodb_location(location: Path, *, payload_uri: str | None = None) -> Iterator[TableNames]:
    """moto (unless a test already runs one), the lock patch, fresh tables, and the
    ``dynamodb.json`` that ``open_backend("dynamodb", location)`` reads."""
    with ExitStack() as stack:
        if not _moto_active():
            stack.enter_context(mock_aws())
        stack.enter_context(serialised_dynamodb())
        tables = new_tables()
        location.mkdir(parents=True, exist_ok=True)
        (location / DYNAMODB_LOCATION_FILE).write_text(
            json.dumps(
                {"state": tables.state, "cache": tables.cache, "region": REGION, "payload_uri": payload_uri}
            )
        )
        yield tables


def prepared_backend(kind: str, location: Path) -> Any:
    """What a store kind needs before ``open_backend(kind, location)``: nothing for SQLite."""
    preparers: dict[str, Callable[[Path], Any]] = {"dynamodb": dynamodb_location}
    prepare = preparers.get(kind)
    return prepare(location) if prepare is not None else nullcontext()
