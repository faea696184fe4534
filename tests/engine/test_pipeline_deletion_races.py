"""A start racing DeletePipeline, on both stores: the execution may start (the service keeps a
deleted pipeline's executions), but nothing of the deleted pipeline comes back; and once the
delete has begun (the pipeline is Deleting) no new execution starts, while a repeat of a start
made before still answers as it did, and the pipeline is not changed either.

The race is made deterministic by a hook on the start's own store handle: the delete, through
another handle (another API process), lands exactly between the start's read of the pipeline and
its LastRunTime write.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from pipelines.engine import Engine, StartRequest
from pipelines.engine.pipelines import PipelineDeleting, delete_pipeline
from pipelines.store.backends import open_backend
from pipelines.store.base import ListQuery, Store
from pipelines.store.dynamodb import DynamoDBStore

from .fakes import definition, processing_step


def left_of(store: Store, arn: str) -> list[str]:
    """What the store still holds of the pipeline ``arn``: DynamoDB items of its partition (by
    sort key), or SQLite rows."""
    if isinstance(store, DynamoDBStore):
        items = store.client.query(
            TableName=store.tables.state,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PIPELINE#{arn.lower()}"}},
            ConsistentRead=True,
        )["Items"]
        return sorted(item["sk"]["S"] for item in items)
    pipeline = ["pipeline"] if store.get_pipeline(arn) is not None else []
    versions = store.list_pipeline_versions(arn, ListQuery(limit=1000)).items
    return pipeline + [f"version {v.version_id}" for v in versions]


def delete(store: Store, arn: str, now: datetime) -> None:
    record = store.get_pipeline(arn)
    assert record is not None
    delete_pipeline(store, record, [], None, now)


def test_a_start_racing_the_delete_brings_nothing_of_the_pipeline_back(
    store: Store,
    store_kind: str,
    tmp_path: Path,
    engine: Engine,
    pipeline: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = pipeline(definition(processing_step("A")))
    arn = engine.pipeline_key(name)
    api = open_backend(store_kind, tmp_path)  # the process serving DeletePipeline
    record_last_run = store.record_last_run

    def deleted_meanwhile(pipeline_arn: str, started_at: datetime) -> None:
        delete(api, pipeline_arn, started_at)
        record_last_run(pipeline_arn, started_at)

    monkeypatch.setattr(store, "record_last_run", deleted_meanwhile)
    outcome = engine.start(StartRequest(pipeline_name=name))

    assert store.get_execution(outcome.execution.execution_id) is not None
    assert store.get_pipeline(arn) is None
    assert left_of(store, arn) == []  # DynamoDB: no last-run item written back


def test_the_last_run_of_a_pipeline_created_before_last_run_items_is_written_only_while_it_exists(
    store: Store, engine: Engine, pipeline: Callable[..., str]
) -> None:
    """A pipeline whose CreatePipeline wrote no last-run item (older DynamoDB stores) gets one
    from its first start, on condition that the pipeline item exists."""
    name = pipeline(definition(processing_step("A")))
    arn = engine.pipeline_key(name)
    if isinstance(store, DynamoDBStore):  # as an older CreatePipeline left it
        store.client.delete_item(
            TableName=store.tables.state,
            Key={"pk": {"S": f"PIPELINE#{arn.lower()}"}, "sk": {"S": "#LAST_RUN"}},
        )
    started = engine.start(StartRequest(pipeline_name=name)).execution.created_at
    record = store.get_pipeline(arn)
    assert record is not None and record.last_run_at == started

    delete(store, arn, started)
    store.record_last_run(arn, started)  # a start that read the pipeline before the delete
    assert left_of(store, arn) == []


def test_no_execution_starts_once_the_delete_has_begun_but_a_repeat_still_answers(
    store: Store, engine: Engine, pipeline: Callable[..., str]
) -> None:
    name = pipeline(definition(processing_step("A")))
    arn = engine.pipeline_key(name)
    first = engine.start(StartRequest(pipeline_name=name, client_request_token="first")).execution
    record = store.get_pipeline(arn)
    assert record is not None
    # a DeletePipeline that died after its first write: the pipeline stays, Deleting
    store.update_pipeline(
        record.model_copy(update={"status": "Deleting", "version": record.version + 1}), record.version
    )

    with pytest.raises(PipelineDeleting, match=f"Pipeline {name} is being deleted"):
        engine.start(StartRequest(pipeline_name=name, client_request_token="second"))
    with pytest.raises(PipelineDeleting):  # nor is it changed (pipelines run <file>)
        pipeline(definition(processing_step("B")), name)
    repeat = engine.start(StartRequest(pipeline_name=name, client_request_token="first"))
    assert repeat.execution.execution_id == first.execution_id and not repeat.accepted
    assert [e.execution_id for e in store.list_executions(arn, ListQuery()).items] == [first.execution_id]
