"""What only the DynamoDB store has to get right (the shared store and engine suites cover the
Store protocol on both stores): transaction limits, TTLs, offloading, task tokens, the memo."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from pipelines import aws
from pipelines.engine import Engine, FakeClock, RunStep, StartRequest, upsert_pipeline
from pipelines.errors import ValidationError
from pipelines.objects.s3 import S3ObjectStore
from pipelines.runners.base import StepResult
from pipelines.store.base import ListQuery, StepWrite, Transition
from pipelines.store.dynamodb import DynamoDBStore, ItemTooLarge, TableNames, task_token_key

from tests.cloud.moto_dynamodb import REGION, new_tables, serialised_dynamodb
from tests.cloud.scenarios import pipeline, processing


class CountingClient:
    """The DynamoDB client, counting calls by operation."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return call


@pytest.fixture
def tables() -> Iterator[TableNames]:
    with mock_aws(), serialised_dynamodb():
        yield new_tables()


@pytest.fixture
def counting() -> CountingClient:
    return CountingClient(aws.client("dynamodb", REGION))


@pytest.fixture
def store(tables: TableNames, counting: CountingClient) -> DynamoDBStore:
    return DynamoDBStore(tables, client=counting)


def fan_out(width: int, **top: Any) -> str:
    return json.dumps(pipeline(*(processing(f"S{i}") for i in range(width)), **top))


def test_a_decision_too_big_for_one_transaction_moves_the_side_records_after_it(store: DynamoDBStore) -> None:
    engine = Engine(store, clock=FakeClock(), claim_on_launch=True)
    cached = {"CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"}}
    upsert_pipeline(
        store,
        "wide",
        json.dumps(
            pipeline(
                *(processing(f"S{i}", arguments={"Environment": {"I": str(i)}}, **cached) for i in range(60))
            )
        ),
    )
    started = engine.start(StartRequest(pipeline_name="wide"))
    assert started.execution is not None and len(started.actions) == 60
    execution_id = started.execution.execution_id

    # 60 steps succeed in one report: the execution and 60 steps fill the transaction, and the
    # 60 cache entries are written right after it
    results = [
        (a.step_name, a.attempt, StepResult(properties={"ProcessingJobStatus": "Completed"}))
        for a in started.actions
    ]
    done = engine.report(execution_id, results)

    assert done.execution is not None and done.execution.status == "Succeeded"
    state = store.load_state(execution_id)
    assert state is not None and len(state.steps) == 60
    pipeline_arn = done.execution.pipeline_arn
    for record in state.steps.values():
        assert record.cache_key is not None
        entry = store.find_cache_entry(pipeline_arn, record.cache_key, datetime.min.replace(tzinfo=UTC))
        assert entry is not None and entry.step_name == record.step_name
    assert [t.name for t in store.list_trials("wide", ListQuery()).items] == [execution_id]


def test_a_start_wider_than_a_transaction_is_decided_in_several_and_the_store_refuses_one_too_big(
    store: DynamoDBStore,
) -> None:
    engine = Engine(store, clock=FakeClock())
    upsert_pipeline(store, "wider", fan_out(250, PipelineExperimentConfig=None))
    outcome = engine.start(StartRequest(pipeline_name="wider"))

    assert outcome.execution is not None and not outcome.more
    launched = [a.step_name for a in outcome.actions if isinstance(a, RunStep)]
    assert sorted(launched) == sorted(f"S{i}" for i in range(250))  # each exactly once
    state = engine.state(outcome.execution.execution_id)
    assert len(state.steps) == 250 and {r.status for r in state.steps.values()} == {"Starting"}
    assert state.execution.version == 3  # 90 + 90 + 70 launches, one transaction each

    record = state.steps["S0"]
    too_big = Transition(
        execution=state.execution.model_copy(update={"version": state.execution.version + 1}),
        expected_version=state.execution.version,
        steps=[
            StepWrite(record.model_copy(update={"step_name": f"X{i}", "version": 1}), None)
            for i in range(101)
        ],
    )
    with pytest.raises(ValidationError, match="more than a DynamoDB transaction holds"):
        store.apply(too_big)


def test_callback_tokens_and_cache_entries_expire_by_ttl(store: DynamoDBStore) -> None:
    clock = FakeClock(datetime(2024, 1, 1, tzinfo=UTC))
    engine = Engine(store, clock=clock)
    callback = {"Name": "Ask", "Type": "Callback", "SqsQueueUrl": "https://sqs/q", "Arguments": {}}
    cached = processing("C", CacheConfig={"Enabled": True, "ExpireAfter": "P1D"})
    upsert_pipeline(store, "p", json.dumps(pipeline(callback, cached)))
    execution = engine.start(StartRequest(pipeline_name="p")).execution
    assert execution is not None
    engine.step_started(execution.execution_id, "C", 1)
    from pipelines.runners.base import StepResult

    engine.step_succeeded(execution.execution_id, "C", 1, StepResult(properties={"ProcessingJobName": "j"}))
    token = engine.state(execution.execution_id).steps["Ask"].callback_token
    client = store.client
    item = client.get_item(
        TableName=store.tables.state, Key={"pk": {"S": f"CALLBACK#{token}"}, "sk": {"S": "#META"}}
    )
    expected = int((clock.now() + timedelta(days=366)).timestamp())
    assert int(item["Item"]["expiresAt"]["N"]) == expected
    (entry,) = client.scan(TableName=store.tables.cache)["Items"]
    assert int(entry["expiresAt"]["N"]) == int((clock.now() + timedelta(days=400)).timestamp())


def test_an_unchanged_execution_is_read_with_one_small_get(
    store: DynamoDBStore, counting: CountingClient
) -> None:
    engine = Engine(store, clock=FakeClock())
    upsert_pipeline(store, "p", fan_out(3))
    execution = engine.start(StartRequest(pipeline_name="p")).execution
    assert execution is not None
    counting.calls.clear()
    engine.state(execution.execution_id)
    assert counting.calls == {"get_item": 1}
    other = DynamoDBStore(store.tables, client=aws.client("dynamodb", REGION))  # another Lambda container
    other.load_state(execution.execution_id)
    engine.step_started(execution.execution_id, "S0", 1)  # a write this store made: still memoised
    counting.calls.clear()
    engine.state(execution.execution_id)
    assert counting.calls == {"get_item": 1}


def test_task_tokens_round_trip(store: DynamoDBStore) -> None:
    key = task_token_key("finish", "abc", 2)
    assert store.get_task_token(key) is None
    store.put_task_token(key, "token-1", datetime(2030, 1, 1, tzinfo=UTC))
    assert store.get_task_token(key) == "token-1"
    store.delete_task_token(key)
    assert store.get_task_token(key) is None


def test_bodies_too_large_for_an_item_need_the_s3_offload(tables: TableNames, tmp_path: Path) -> None:
    padding = base64.b64encode(os.urandom(400_000)).decode()  # incompressible: compression cannot make it fit
    big = json.dumps(pipeline(processing("S0"), Metadata={"padding": padding}))
    plain = DynamoDBStore(tables, client=aws.client("dynamodb", REGION))
    with pytest.raises(ItemTooLarge, match="PAYLOAD_BUCKET"):
        upsert_pipeline(plain, "big", big)
    s3 = aws.client("s3", REGION)
    s3.create_bucket(Bucket="payloads")
    offloading = DynamoDBStore(
        tables,
        client=aws.client("dynamodb", REGION),
        objects=S3ObjectStore(s3),
        payload_uri="s3://payloads/p",
    )
    stored = upsert_pipeline(offloading, "big", big)
    record = offloading.get_pipeline(stored.arn)
    assert record is not None and record.definition == big
    assert len(s3.list_objects_v2(Bucket="payloads")["Contents"]) == 2  # the pipeline and its version 1


def test_idempotency_records_expire_by_ttl(store: DynamoDBStore) -> None:
    """One record per ClientRequestToken call: the TTL keeps the table from growing forever."""
    from pipelines.store import IdempotencyRecord

    created = datetime(2024, 1, 1, tzinfo=UTC)
    record = IdempotencyRecord(
        token="t-1", operation="StartPipelineExecution", fingerprint="f", result={"a": 1}, created_at=created
    )
    assert store.put_idempotency(record)
    item = store.client.get_item(
        TableName=store.tables.state,
        Key={"pk": {"S": "IDEMPOTENCY#StartPipelineExecution#t-1"}, "sk": {"S": "#META"}},
    )["Item"]
    assert int(item["expiresAt"]["N"]) == int((created + timedelta(days=30)).timestamp())
    assert store.get_idempotency("t-1", "StartPipelineExecution") == record


def test_later_executions_do_not_rewrite_their_experiment_and_runs_are_listed_in_every_layout(
    tables: TableNames, counting: CountingClient
) -> None:
    written: list[tuple[str, str]] = []

    class Recording(CountingClient):
        def __getattr__(self, name: str) -> Any:
            method = super().__getattr__(name)
            if name != "transact_write_items":
                return method

            def transact(**kwargs: Any) -> Any:
                keys = [next(iter(a.values()))["Key"] for a in kwargs["TransactItems"] if "Update" in a]
                written.extend((key["pk"]["S"], key["sk"]["S"]) for key in keys)
                return method(**kwargs)

            return transact

    store = DynamoDBStore(tables, client=Recording(aws.client("dynamodb", REGION)))
    engine = Engine(store, clock=FakeClock())
    upsert_pipeline(store, "twice", fan_out(2))
    started = engine.start(StartRequest(pipeline_name="twice"))
    first = started.execution
    assert ("EXPERIMENT#twice", "#META") in written
    written.clear()
    again = engine.start(StartRequest(pipeline_name="twice"))
    second = again.execution
    assert first is not None and second is not None
    assert ("EXPERIMENT#twice", "#META") not in written
    assert (f"TRIAL#{second.execution_id}", "#META") in written
    assert not any(sk.startswith("COMPONENT#") for _, sk in written)  # runs are not in the decision
    for action in [*started.actions, *again.actions]:
        assert isinstance(action, RunStep)
        engine.record_run(action)  # as a runtime does when it starts the job
    # a run lives in its experiment's partition, without an index entry
    run = again.actions[0]
    assert isinstance(run, RunStep)
    item = counting.get_item(
        TableName=tables.state,
        Key={
            "pk": {"S": "EXPERIMENT#twice"},
            "sk": {"S": f"COMPONENT#{second.execution_id}#{run.request.job_name}"},
        },
    )["Item"]
    assert not any(name.startswith("gsi") for name in item)
    assert [e.name for e in DynamoDBStore(tables, client=counting).list_experiments(ListQuery()).items] == [
        "twice"
    ]
    # a run item of the layout before runs moved into their group's partition is still listed
    counting.put_item(
        TableName=tables.state,
        Item={
            "pk": {"S": "TRIAL_COMPONENT#old-job"},
            "sk": {"S": "#META"},
            "gsi1pk": {"S": f"TRIAL#{second.execution_id}#COMPONENTS"},
            "gsi1sk": {"S": "2024-01-01T00:00:00.000000Z#old-job"},
            "body": {
                "S": json.dumps(
                    {
                        "name": "old-job",
                        "trial_name": second.execution_id,
                        "experiment_name": "twice",
                        "execution_id": second.execution_id,
                        "step_name": "S0",
                        "step_type": "Processing",
                        "created_at": "2024-01-01T00:00:00Z",
                    }
                )
            },
        },
    )
    # and so is one of the layout before runs moved into their experiment's partition
    counting.put_item(
        TableName=tables.state,
        Item={
            "pk": {"S": f"TRIAL#{second.execution_id}"},
            "sk": {"S": "COMPONENT#older-job"},
            "gsi2pk": {"S": "TRIAL_COMPONENTS"},
            "gsi2sk": {"S": "2024-01-02T00:00:00.000000Z#older-job"},
            "body": {
                "S": json.dumps(
                    {
                        "name": "older-job",
                        "trial_name": second.execution_id,
                        "experiment_name": "twice",
                        "execution_id": second.execution_id,
                        "step_name": "S1",
                        "step_type": "Processing",
                        "created_at": "2024-01-02T00:00:00Z",
                    }
                )
            },
        },
    )
    runs = store.list_trial_components(second.execution_id, ListQuery(limit=100, ascending=True)).items
    assert len(runs) == 4 and {"old-job", "older-job"} <= {r.name for r in runs}
    assert sorted(r.step_name for r in runs) == ["S0", "S0", "S1", "S1"]
    every = store.list_trial_components(None, ListQuery(limit=100)).items
    assert len(every) == 5 and "older-job" in {r.name for r in every}  # the oldest item has no gsi2 entry
    first_runs = store.list_trial_components(first.execution_id, ListQuery(limit=1))
    assert len(first_runs.items) == 1 and first_runs.next_token is not None
