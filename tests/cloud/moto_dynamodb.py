"""DynamoDB stores on moto for the shared store and engine suites (and the cloud tests).

moto's DynamoDB is not thread-safe: concurrent requests lose increments, grant a conditional
claim twice, and a cancelled transaction can wipe other threads' writes. Real DynamoDB
serialises each item's writes, so the test-only fix is one global RLock around
``DynamoHandler.call_action`` (verified in the prototype: without it racing reports were both
recorded in up to 82 of 200 trials).

moto also deep-copies a whole table for every item of a transaction, to roll a cancelled one
back, so a transaction cost grows with the table (a 500-step execution's decisions took seconds
each). Under the lock, keeping the pre-images of the items the transaction touches is the same
rollback: :func:`item_scoped_rollback` does that instead (DynamoDB's own cost does not grow with
the table either).
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

import moto.dynamodb.models as dynamodb_models
from moto import mock_aws
from moto.core import models as moto_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
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


class _TablesNotCopied:
    """moto.dynamodb.models' ``copy`` module, except that a Table is not deep-copied (its
    transaction "backup" is then the live table, and :func:`item_scoped_rollback` restores)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def item_scoped_rollback(real: Callable[..., Any]) -> Callable[..., Any]:
    """``transact_write_items`` that keeps the pre-image of each item it touches and puts those
    back if the transaction fails, instead of moto's copy of every touched table."""

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        saved: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        for entry in transact_items:
            operation = next(iter(entry.values()))
            table = self.tables.get(operation.get("TableName"))
            key = operation.get("Key") or operation.get("Item") or {}
            if table is None or table.hash_key_attr not in key:
                continue  # moto refuses the request itself
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in key:
                    continue
                range_value = DynamoType(key[table.range_key_attr])
            saved.append(
                (table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value)))
            )
        try:
            return real(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(saved):
                _restore(table, hash_value, range_value, item)
            raise

    return transact_write_items


def _restore(table: Table, hash_value: DynamoType, range_value: DynamoType | None, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
    elif item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
    else:
        table.items[hash_value][range_value] = item


def fast_transactions(patch: Callable[[Any, str, Any], Any]) -> None:
    """Apply :func:`item_scoped_rollback` with ``patch(owner, name, value)`` (a monkeypatch's
    setattr, or an ExitStack entering ``mock.patch.object``)."""
    patch(dynamodb_models, "copy", _TablesNotCopied())
    patch(DynamoDBBackend, "transact_write_items", item_scoped_rollback(DynamoDBBackend.transact_write_items))


@contextmanager
def serialised_dynamodb() -> Iterator[None]:
    """The lock and the item-scoped transactions as patches (a context manager)."""
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(DynamoHandler, "call_action", locked_call_action(DynamoHandler.call_action))
        )
        fast_transactions(
            lambda owner, name, value: stack.enter_context(mock.patch.object(owner, name, value))
        )
        yield


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
