"""DeletePipeline is all or nothing, whatever dies in it: a pipeline deleted by a process that
died half-way can be created again by name, and the new one sees nothing of the old one.

SQLite deletes in one transaction; a failure injected into its second statement (a trigger, the
database's own fault) must leave everything as it was. DynamoDB deletes in one transaction
when the pipeline's items fit one, else the pipeline item first and the rest after: a crash is
injected into the DynamoDB client right before a chosen write, as a process dying there would
never send it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from pipelines import aws
from pipelines.store.base import IdempotencyRecord, ListQuery, RecordNotFound, StaleWrite, Store, pipeline_key
from pipelines.store.dynamodb import MAX_TRANSACTION_ACTIONS, DynamoDBStore
from pipelines.store.sqlite import SQLiteStore

from tests.cloud.moto_dynamodb import REGION, new_tables, serialised_dynamodb
from tests.store.test_store_records import T0, arn_of, pipeline_record, version

ARN = arn_of("Churn")


class Crash(BaseException):
    """The process died here (a BaseException, as SIGKILL is no error the code could handle)."""


def with_versions(store: Store, count: int, last_run: bool = True) -> None:
    """Pipeline ``Churn`` with versions 1..``count``, and a last run."""
    store.create_pipeline(pipeline_record("Churn"), version("Churn", 1, "old v1"))
    for number in range(2, count + 1):
        current = store.get_pipeline(ARN)
        assert current is not None
        changed = current.model_copy(
            update={
                "definition": f"old v{number}",
                "latest_version_id": number,
                "version": current.version + 1,
            }
        )
        store.update_pipeline(
            changed, current.version, new_version=version("Churn", number, f"old v{number}")
        )
    if last_run:
        store.record_last_run(ARN, T0 + timedelta(days=1))


def versions(store: Store) -> list[tuple[int, str]]:
    page = store.list_pipeline_versions(ARN, ListQuery(limit=1000, ascending=True))
    return [(v.version_id, v.definition) for v in page.items]


def assert_created_anew(store: Store) -> None:
    """CreatePipeline of the deleted name works and shows nothing of the deleted pipeline."""
    store.create_pipeline(pipeline_record("Churn"), version("Churn", 1, "new v1"))
    created = store.get_pipeline(ARN)
    assert created is not None and created.last_run_at is None
    assert versions(store) == [(1, "new v1")]
    assert store.get_pipeline_version(ARN, 2) is None


# -- both stores ---------------------------------------------------------------------------------


def test_a_deleted_pipeline_leaves_nothing_to_the_next_of_its_name(store: Store) -> None:
    with_versions(store, 3)
    store.delete_pipeline(ARN)

    assert store.get_pipeline(ARN) is None and versions(store) == []
    with pytest.raises(RecordNotFound):
        store.delete_pipeline(ARN)
    assert_created_anew(store)


# -- SQLite ----------------------------------------------------------------------------------------


def test_sqlite_deletes_the_pipeline_and_its_versions_in_one_transaction(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    try:
        with_versions(store, 3)
        with sqlite3.connect(tmp_path / "state.db") as db:  # the versions' delete fails
            db.execute(
                "CREATE TRIGGER crash BEFORE DELETE ON pipeline_versions "
                "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        with pytest.raises(sqlite3.IntegrityError, match="disk I/O error"):
            store.delete_pipeline(ARN)

        kept = store.get_pipeline(ARN)
        assert kept is not None and kept.latest_version_id == 3  # the pipeline's delete rolled back
        assert [number for number, _ in versions(store)] == [1, 2, 3]
        with sqlite3.connect(tmp_path / "state.db") as db:
            db.execute("DROP TRIGGER crash")
        store.delete_pipeline(ARN)
        assert_created_anew(store)
    finally:
        store.close()


# -- DynamoDB --------------------------------------------------------------------------------------


class DynamoDB:
    """A DynamoDB store on moto whose client can be made to die before its n-th write."""

    def __init__(self) -> None:
        self.client = aws.client("dynamodb", REGION)
        self.store = DynamoDBStore(new_tables(self.client), client=self.client)
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.crash_at: int | None = None
        self.before_write: Callable[[], None] | None = None
        for operation in ("TransactWriteItems", "DeleteItem", "BatchWriteItem", "PutItem", "UpdateItem"):
            self.client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", self._write)

    def _write(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.writes.append((model.name, params))
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook()
        if self.crash_at is not None and len(self.writes) == self.crash_at:
            raise Crash(f"the process died before {model.name}")

    def partition(self) -> list[str]:
        """The sort keys the pipeline's partition still holds."""
        items = self.client.query(
            TableName=self.store.tables.state,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PIPELINE#{pipeline_key(ARN)}"}},
            ConsistentRead=True,
        )["Items"]
        return [i["sk"]["S"] for i in items]


@pytest.fixture
def dynamodb() -> Iterator[DynamoDB]:
    with mock_aws(), serialised_dynamodb():
        yield DynamoDB()


def test_a_pipeline_that_fits_one_transaction_is_deleted_in_one_write(dynamodb: DynamoDB) -> None:
    """No write before or after the transaction: a crash leaves all of it or none of it."""
    with_versions(dynamodb.store, 3)
    dynamodb.writes.clear()
    dynamodb.crash_at = 1
    with pytest.raises(Crash):
        dynamodb.store.delete_pipeline(ARN)
    assert dynamodb.store.get_pipeline(ARN) is not None
    assert [number for number, _ in versions(dynamodb.store)] == [1, 2, 3]

    dynamodb.writes.clear()
    dynamodb.crash_at = None
    dynamodb.store.delete_pipeline(ARN)

    ((operation, request),) = dynamodb.writes
    assert (
        operation == "TransactWriteItems" and len(request["TransactItems"]) == 5
    )  # meta, last run, 3 versions
    assert dynamodb.partition() == []
    assert_created_anew(dynamodb.store)


@pytest.mark.parametrize("dies_before_write", [2, 3], ids=["after the pipeline item", "after one sweep"])
def test_a_pipeline_whose_delete_died_half_way_can_be_created_again(
    dynamodb: DynamoDB, dies_before_write: int
) -> None:
    """More versions than a transaction holds: the pipeline item and its last run go first
    (write 1), then the rest in transactions of 99 (writes 2 and 3), its first version last.
    The process dies before write 2 or 3: the pipeline is gone for every reader, and
    CreatePipeline of its name clears what was left and starts over at version 1."""
    count = MAX_TRANSACTION_ACTIONS + 50
    with_versions(dynamodb.store, count)
    dynamodb.writes.clear()
    dynamodb.crash_at = dies_before_write
    with pytest.raises(Crash):
        dynamodb.store.delete_pipeline(ARN)

    assert dynamodb.store.get_pipeline(ARN) is None
    left = dynamodb.partition()
    assert "#META" not in left and "#LAST_RUN" not in left and "VERSION#0000000001" in left
    assert len(left) == (count if dies_before_write == 2 else count - (MAX_TRANSACTION_ACTIONS - 1))

    dynamodb.crash_at = None
    assert_created_anew(dynamodb.store)
    assert sorted(dynamodb.partition()) == ["#LAST_RUN", "#META", "VERSION#0000000001"]


def test_a_delete_that_died_is_finished_by_the_next_delete(dynamodb: DynamoDB) -> None:
    """DeletePipeline again (boto3 retries the 500 by itself) finds the pipeline gone, says so,
    and clears what the first one left."""
    with_versions(dynamodb.store, MAX_TRANSACTION_ACTIONS + 1, last_run=False)
    dynamodb.writes.clear()
    dynamodb.crash_at = 2
    with pytest.raises(Crash):
        dynamodb.store.delete_pipeline(ARN)
    dynamodb.crash_at = None

    with pytest.raises(RecordNotFound):
        dynamodb.store.delete_pipeline(ARN)
    assert dynamodb.partition() == []


def test_a_version_added_while_the_pipeline_is_deleted_is_deleted_too(dynamodb: DynamoDB) -> None:
    """An UpdatePipeline lands between the delete's read of the partition and its transaction:
    the transaction's condition on the pipeline item fails, and the delete reads again."""
    store = dynamodb.store
    with_versions(store, 2)
    other = DynamoDBStore(store.tables, client=aws.client("dynamodb", REGION))  # another API process

    def update_meanwhile() -> None:
        current = other.get_pipeline(ARN)
        assert current is not None
        changed = current.model_copy(
            update={"definition": "v3", "latest_version_id": 3, "version": current.version + 1}
        )
        other.update_pipeline(changed, current.version, new_version=version("Churn", 3, "v3"))

    dynamodb.writes.clear()
    dynamodb.before_write = update_meanwhile
    store.delete_pipeline(ARN)

    assert [operation for operation, _ in dynamodb.writes] == ["TransactWriteItems", "TransactWriteItems"]
    assert dynamodb.partition() == []
    assert_created_anew(store)


# -- the request's token rides in the delete ----------------------------------------------------------


def token_of(request: str) -> IdempotencyRecord:
    return IdempotencyRecord(
        token=request, operation="DeletePipeline", fingerprint="f", result={"PipelineArn": ARN}, created_at=T0
    )


def test_the_delete_records_its_token_in_the_same_write(store: Store) -> None:
    """The token is there exactly when the pipeline is gone; a delete whose token is already
    recorded (a racing repeat of the same request) writes nothing; a delete of a changed
    pipeline (``expected_version``) writes nothing either."""
    with_versions(store, 2)
    current = store.get_pipeline(ARN)
    assert current is not None
    with pytest.raises(StaleWrite):
        store.delete_pipeline(ARN, expected_version=current.version - 1, request=token_of("t1"))
    assert store.get_pipeline(ARN) is not None and store.get_idempotency("t1", "DeletePipeline") is None

    store.put_idempotency(token_of("taken"))
    with pytest.raises(StaleWrite):
        store.delete_pipeline(ARN, request=token_of("taken"))
    assert store.get_pipeline(ARN) is not None and versions(store) != []

    store.delete_pipeline(ARN, expected_version=current.version, request=token_of("t1"))
    recorded = store.get_idempotency("t1", "DeletePipeline")
    assert (
        store.get_pipeline(ARN) is None and recorded is not None and recorded.result == {"PipelineArn": ARN}
    )


def test_sqlite_rolls_the_token_back_with_the_delete(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    try:
        with_versions(store, 2)
        with sqlite3.connect(tmp_path / "state.db") as db:
            db.execute(
                "CREATE TRIGGER crash BEFORE INSERT ON idempotency BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        with pytest.raises(sqlite3.IntegrityError, match="disk I/O error"):
            store.delete_pipeline(ARN, request=token_of("t1"))
        assert store.get_pipeline(ARN) is not None and [n for n, _ in versions(store)] == [1, 2]
    finally:
        store.close()


def test_a_large_pipeline_records_the_token_with_its_pipeline_item(dynamodb: DynamoDB) -> None:
    """More versions than a transaction holds: the token goes in the first transaction, with the
    pipeline and last-run items, so a crash before the sweep still leaves it recorded."""
    with_versions(dynamodb.store, MAX_TRANSACTION_ACTIONS + 1)
    dynamodb.writes.clear()
    dynamodb.crash_at = 2
    with pytest.raises(Crash):
        dynamodb.store.delete_pipeline(ARN, request=token_of("t1"))
    assert dynamodb.store.get_pipeline(ARN) is None
    assert dynamodb.store.get_idempotency("t1", "DeletePipeline") is not None
