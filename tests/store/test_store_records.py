"""The Store protocol, run against every backend: pipelines and versions, conditional
transitions, listings with NextToken, cache look-ups, callbacks, idempotency, leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pipelines.store.backends import open_backend
from pipelines.store.base import (
    CacheEntry,
    CallbackTokenRecord,
    ExecutionRecord,
    ExecutionState,
    IdempotencyRecord,
    InvalidNextToken,
    LeaseRecord,
    ListQuery,
    PipelineRecord,
    PipelineVersionRecord,
    RecordExists,
    RecordNotFound,
    StaleWrite,
    StepRecord,
    StepWrite,
    Store,
    TrackingWarningRecord,
    Transition,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def arn_of(name: str, account: str = "0") -> str:
    return f"arn:aws:sagemaker:us-east-1:{account}:pipeline/{name}"


def pipeline_record(name: str, at: datetime = T0, account: str = "0", **extra) -> PipelineRecord:
    return PipelineRecord(
        name=name,
        arn=arn_of(name, account),
        definition="{}",
        created_at=at,
        modified_at=at,
        **extra,
    )


def version(name: str, number: int, text: str = "{}", account: str = "0") -> PipelineVersionRecord:
    return PipelineVersionRecord(
        pipeline_name=name,
        pipeline_arn=arn_of(name, account),
        version_id=number,
        definition=text,
        created_at=T0 + timedelta(minutes=number),
    )


def execution_record(execution_id: str, pipeline: str = "p", at: datetime = T0, **extra) -> ExecutionRecord:
    return ExecutionRecord(
        execution_id=execution_id,
        execution_arn=f"arn:aws:sagemaker:us-east-1:0:pipeline/{pipeline}/execution/{execution_id}",
        pipeline_name=pipeline,
        pipeline_arn=f"arn:aws:sagemaker:us-east-1:0:pipeline/{pipeline}",
        definition='{"Version": "2020-12-01", "Steps": []}',
        created_at=at,
        modified_at=at,
        **extra,
    )


def step_record(execution_id: str, name: str, at: datetime = T0, **extra) -> StepRecord:
    return StepRecord(
        execution_id=execution_id, step_name=name, step_type="Processing", started_at=at, **extra
    )


def create_execution(store: Store, execution: ExecutionRecord, *steps: StepRecord) -> None:
    store.apply(
        Transition(execution=execution, expected_version=None, steps=[StepWrite(s, None) for s in steps])
    )


def test_pipeline_crud_and_versions(store: Store) -> None:
    store.create_pipeline(pipeline_record("Churn"), version("Churn", 1, "v1"))
    with pytest.raises(RecordExists):
        store.create_pipeline(pipeline_record("Churn"), version("Churn", 1))
    current = store.get_pipeline(arn_of("Churn"))
    assert current is not None and current.version == 1
    updated = current.model_copy(
        update={"definition": "v2", "latest_version_id": 2, "version": 2, "description": "d"}
    )
    store.update_pipeline(updated, expected_version=1, new_version=version("Churn", 2, "v2"))
    with pytest.raises(StaleWrite):
        store.update_pipeline(updated, expected_version=1)
    assert store.get_pipeline(arn_of("Churn")).description == "d"
    assert store.get_pipeline_version(arn_of("Churn"), 1).definition == "v1"
    assert [v.version_id for v in store.list_pipeline_versions(arn_of("Churn"), ListQuery()).items] == [2, 1]
    store.delete_pipeline(arn_of("Churn"))
    assert (
        store.get_pipeline(arn_of("Churn")) is None and store.get_pipeline_version(arn_of("Churn"), 2) is None
    )
    with pytest.raises(RecordNotFound):
        store.delete_pipeline(arn_of("Churn"))


def test_a_lost_pipeline_write_says_what_it_lost_and_writes_nothing(store: Store) -> None:
    store.create_pipeline(pipeline_record("Churn"), version("Churn", 1, "v1"))
    current = store.get_pipeline(arn_of("Churn"))
    changed = current.model_copy(update={"description": "changed", "version": 2})
    with pytest.raises(StaleWrite):  # version 1 exists: the pipeline row is not written either
        store.update_pipeline(changed, expected_version=1, new_version=version("Churn", 1, "again"))
    with pytest.raises(RecordNotFound, match="has no version 7"):
        store.update_pipeline(changed, expected_version=1, changed_version=version("Churn", 7, "v7"))
    assert store.get_pipeline(arn_of("Churn")) == current
    assert store.get_pipeline_version(arn_of("Churn"), 1).definition == "v1"
    assert store.get_pipeline_version(arn_of("Churn"), 7) is None
    store.update_pipeline(changed, expected_version=1, changed_version=version("Churn", 1, "v1 moved"))
    assert store.get_pipeline_version(arn_of("Churn"), 1).definition == "v1 moved"
    store.delete_pipeline(arn_of("Churn"))
    with pytest.raises(RecordNotFound, match="does not exist"):
        store.update_pipeline(changed.model_copy(update={"version": 3}), expected_version=2)


def test_pipeline_names_are_per_account_and_case_insensitive(store: Store) -> None:
    store.create_pipeline(pipeline_record("Churn"), version("Churn", 1, "mine"))
    store.create_pipeline(pipeline_record("Churn", account="1"), version("Churn", 1, "theirs", account="1"))
    with pytest.raises(RecordExists):  # the same ARN: names differing only in case collide
        store.create_pipeline(pipeline_record("CHURN"), version("CHURN", 1))
    assert store.get_pipeline(arn_of("Churn")).arn == arn_of("Churn")
    assert store.get_pipeline(arn_of("Churn", "1")).arn == arn_of("Churn", "1")
    assert store.get_pipeline(arn_of("CHURN")).arn == arn_of("Churn")  # ARNs compare regardless of case
    assert store.get_pipeline_version(arn_of("Churn", "1"), 1).definition == "theirs"
    store.delete_pipeline(arn_of("Churn", "1"))
    assert store.get_pipeline_version(arn_of("Churn"), 1).definition == "mine"
    assert [p.arn for p in store.list_pipelines(ListQuery()).items] == [arn_of("Churn")]


def test_pipeline_listing_pages_sorts_and_filters(store: Store) -> None:
    names = [f"pipe-{i:02d}" for i in range(7)] + ["Other"]
    for i, name in enumerate(names):
        store.create_pipeline(pipeline_record(name, T0 + timedelta(seconds=i)), version(name, 1))
    seen, token = [], None
    while True:
        page = store.list_pipelines(ListQuery(limit=3, next_token=token))
        seen.extend(p.name for p in page.items)
        token = page.next_token
        if token is None:
            break
    assert seen == list(reversed(names))  # newest first by default
    ascending = store.list_pipelines(
        ListQuery(sort_by="Name", ascending=True, name_prefix="PIPE-0", limit=100)
    )
    assert [p.name for p in ascending.items] == names[:7]
    window = store.list_pipelines(
        ListQuery(created_after=T0 + timedelta(seconds=2), created_before=T0 + timedelta(seconds=5))
    )
    assert [p.name for p in window.items] == ["pipe-04", "pipe-03"]
    with pytest.raises(InvalidNextToken):
        store.list_pipelines(ListQuery(next_token="garbage"))
    foreign = store.list_executions(None, ListQuery(limit=1))
    assert foreign.next_token is None


def test_transitions_are_conditional_and_all_or_nothing(store: Store) -> None:
    execution = execution_record("aaaaaaaaaaaa")
    create_execution(store, execution, step_record(execution.execution_id, "A"))
    with pytest.raises(StaleWrite):
        create_execution(store, execution)  # the execution exists already
    state = store.load_state(execution.execution_id)
    assert isinstance(state, ExecutionState) and set(state.steps) == {"A"}
    done = state.steps["A"].model_copy(update={"status": "Succeeded", "version": 2})
    next_execution = state.execution.model_copy(update={"version": 2})
    store.apply(Transition(execution=next_execution, expected_version=1, steps=[StepWrite(done, 1)]))
    # a second writer that read version 1 loses, and none of its writes land
    loser = Transition(
        execution=state.execution.model_copy(update={"version": 2, "status": "Failed"}),
        expected_version=1,
        steps=[StepWrite(step_record(execution.execution_id, "B"), None)],
    )
    with pytest.raises(StaleWrite):
        store.apply(loser)
    # a stale step version fails the whole transition even with the right execution version
    stale_step = Transition(
        execution=next_execution.model_copy(update={"version": 3, "status": "Failed"}),
        expected_version=2,
        steps=[
            StepWrite(step_record(execution.execution_id, "B"), None),
            StepWrite(done.model_copy(update={"version": 3}), 1),
        ],
    )
    with pytest.raises(StaleWrite):
        store.apply(stale_step)
    after = store.load_state(execution.execution_id)
    assert after.execution.status == "Executing" and after.execution.version == 2
    assert set(after.steps) == {"A"} and after.steps["A"].status == "Succeeded"


def test_two_handles_see_each_others_writes(store: Store, store_kind: str, tmp_path: Path) -> None:
    other = open_backend(store_kind, tmp_path)
    execution = execution_record("bbbbbbbbbbbb")
    create_execution(store, execution, step_record(execution.execution_id, "A"))
    assert other.load_state(execution.execution_id).steps["A"].status == "Starting"
    state = store.load_state(execution.execution_id)
    store.apply(
        Transition(
            execution=state.execution.model_copy(update={"version": 2}),
            expected_version=1,
            steps=[StepWrite(state.steps["A"].model_copy(update={"status": "Executing", "version": 2}), 1)],
        )
    )
    assert other.load_state(execution.execution_id).steps["A"].status == "Executing"
    other.close()


def test_execution_and_step_listings(store: Store) -> None:
    for i in range(5):
        create_execution(
            store,
            execution_record(
                f"exec{i:08d}", at=T0 + timedelta(seconds=i), status="Executing" if i % 2 else "Succeeded"
            ),
        )
    create_execution(store, execution_record("otherpipe000", pipeline="q"))
    page = store.list_executions(arn_of("p"), ListQuery(limit=2))
    second = store.list_executions(arn_of("p"), ListQuery(limit=2, next_token=page.next_token))
    assert [e.execution_id for e in page.items + second.items] == [
        "exec00000004",
        "exec00000003",
        "exec00000002",
        "exec00000001",
    ]
    assert [e.execution_id for e in store.list_unfinished_executions()] == [
        "otherpipe000",
        "exec00000001",
        "exec00000003",
    ]
    assert len(store.list_executions(None, ListQuery()).items) == 6
    execution = execution_record("stepsexec000")
    create_execution(
        store,
        execution,
        *[step_record(execution.execution_id, n, T0 + timedelta(seconds=i)) for i, n in enumerate("CAB")],
    )
    assert [
        s.step_name for s in store.list_steps(execution.execution_id, ListQuery(ascending=True)).items
    ] == ["C", "A", "B"]
    assert [s.step_name for s in store.list_steps(execution.execution_id, ListQuery(limit=1)).items] == ["B"]


def test_cache_lookup_newest_within_window(store: Store) -> None:
    execution = execution_record("cacheexec000")

    def entry(at: datetime, run: str) -> CacheEntry:
        return CacheEntry(
            pipeline_name="p",
            pipeline_arn=arn_of("p"),
            cache_key="k",
            step_type="Processing",
            step_name="S",
            execution_id=run,
            execution_arn=f"arn:{run}",
            completed_at=at,
            properties={"run": run},
        )

    store.apply(
        Transition(
            execution=execution,
            expected_version=None,
            cache_entries=[entry(T0, "old"), entry(T0 + timedelta(hours=1), "new")],
        )
    )
    assert store.find_cache_entry(arn_of("p"), "k", T0 - timedelta(days=1)).properties == {"run": "new"}
    assert store.find_cache_entry(arn_of("p"), "k", T0 + timedelta(hours=2)) is None
    assert store.find_cache_entry(arn_of("q"), "k", T0 - timedelta(days=1)) is None
    assert store.find_cache_entry(arn_of("p", "1"), "k", T0 - timedelta(days=1)) is None  # another account's
    assert store.find_cache_entry(arn_of("p"), "other", T0 - timedelta(days=1)) is None


def test_callback_tokens_are_inserted_and_released(store: Store) -> None:
    execution = execution_record("callbackexec")
    token = CallbackTokenRecord(
        token="AbCdEfGhIj", execution_id=execution.execution_id, step_name="S", attempt=1, created_at=T0
    )
    store.apply(Transition(execution=execution, expected_version=None, callback_tokens=[token]))
    assert store.get_callback("AbCdEfGhIj") == token
    store.apply(
        Transition(
            execution=execution.model_copy(update={"version": 2}),
            expected_version=1,
            release_callback_tokens=["AbCdEfGhIj"],
        )
    )
    assert store.get_callback("AbCdEfGhIj") is None


def test_idempotency_records(store: Store) -> None:
    record = IdempotencyRecord(
        token="t", operation="CreatePipeline", fingerprint="f", result={"PipelineArn": "a"}, created_at=T0
    )
    assert store.put_idempotency(record)
    assert not store.put_idempotency(record.model_copy(update={"fingerprint": "g"}))
    assert store.get_idempotency("t", "CreatePipeline").fingerprint == "f"
    assert store.get_idempotency("t", "StartPipelineExecution") is None


def test_leases(store: Store) -> None:
    assert store.acquire_lease("e", "one", T0, T0 - timedelta(seconds=15))
    assert not store.acquire_lease("e", "two", T0 + timedelta(seconds=5), T0 - timedelta(seconds=10))
    assert store.renew_lease("e", "one", T0 + timedelta(seconds=10))
    assert not store.renew_lease("e", "two", T0 + timedelta(seconds=10))
    assert store.acquire_lease(
        "e", "two", T0 + timedelta(seconds=40), T0 + timedelta(seconds=25)
    )  # heartbeat went stale
    assert not store.force_lease("e", "three", T0, expected_owner="one")
    assert store.force_lease("e", "three", T0, expected_owner="two")
    assert store.get_lease("e").owner == "three"
    store.release_lease("e", "three")
    assert store.get_lease("e") is None
    assert store.force_lease("e", "four", T0, expected_owner="gone")  # a free lease is taken
    assert store.get_lease("e") == LeaseRecord(execution_id="e", owner="four", heartbeat_at=T0)


def test_tracking_warnings_are_kept_per_execution_in_order_and_never_in_its_state(store: Store) -> None:
    """Dropped MLflow writes (pipelines.tracking.notices): every add is kept, even two alike at
    the same instant; the execution's own reads are not affected."""
    execution = execution_record("exec00000001")
    create_execution(store, execution, step_record(execution.execution_id, "Train"))
    first = TrackingWarningRecord(execution_id="exec00000001", step_name=None, message="down", at=T0)
    second = first.model_copy(update={"step_name": "Train", "message": "no run for its job"})
    for warning in (first, second, second):
        store.add_tracking_warning(warning)
    store.add_tracking_warning(first.model_copy(update={"execution_id": "other0000001"}))
    assert store.list_tracking_warnings("exec00000001") == [first, second, second]
    assert store.list_tracking_warnings("nothing00001") == []
    state = store.load_state("exec00000001")
    assert state is not None and state.execution == execution and set(state.steps) == {"Train"}


def test_an_execution_completed_with_failures_is_finished(store: Store) -> None:
    running = execution_record("cwfexec00000")
    create_execution(store, running)
    ended = running.model_copy(update={"status": "CompletedWithFailures", "version": 2, "ended_at": T0})
    store.apply(Transition(execution=ended, expected_version=1))
    assert store.get_execution("cwfexec00000").status == "CompletedWithFailures"
    assert store.load_state("cwfexec00000").execution.status == "CompletedWithFailures"
    assert "cwfexec00000" not in [e.execution_id for e in store.list_unfinished_executions()]


def test_the_last_run_time_only_moves_forward_and_shows_in_reads_and_listings(store: Store) -> None:
    store.create_pipeline(pipeline_record("runs"), version("runs", 1))
    store.record_last_run(arn_of("runs"), T0 + timedelta(minutes=5))
    store.record_last_run(arn_of("runs"), T0 + timedelta(minutes=2))  # a slower, earlier start
    store.record_last_run(arn_of("missing"), T0)  # no pipeline: nothing happens
    assert store.get_pipeline(arn_of("runs")).last_run_at == T0 + timedelta(minutes=5)
    assert store.get_pipeline(arn_of("missing")) is None
    [listed] = store.list_pipelines(ListQuery()).items
    assert listed.last_run_at == T0 + timedelta(minutes=5)
    # an update of the pipeline made from a read before the start does not move it back
    current = store.get_pipeline(arn_of("runs"))
    store.update_pipeline(
        current.model_copy(update={"description": "d", "version": current.version + 1}), current.version
    )
    assert store.get_pipeline(arn_of("runs")).last_run_at == T0 + timedelta(minutes=5)
    store.delete_pipeline(arn_of("runs"))
    assert store.get_pipeline(arn_of("runs")) is None


def test_executions_are_listed_once_each_as_they_change(store: Store) -> None:
    first, second = execution_record("ffffffffffff"), execution_record("gggggggggggg", at=T0 + timedelta(1))
    create_execution(store, first)
    create_execution(store, second)
    store.apply(
        Transition(
            execution=first.model_copy(update={"status": "Succeeded", "version": 2}), expected_version=1
        )
    )
    listed = store.list_executions(first.pipeline_arn, ListQuery()).items
    assert [(e.execution_id, e.status) for e in listed] == [
        ("gggggggggggg", "Executing"),
        ("ffffffffffff", "Succeeded"),
    ]
    assert [e.execution_id for e in store.list_executions(None, ListQuery(ascending=True)).items] == [
        "ffffffffffff",
        "gggggggggggg",
    ]
    page = store.list_executions(None, ListQuery(limit=1))
    rest = store.list_executions(None, ListQuery(limit=1, next_token=page.next_token))
    assert [e.execution_id for e in page.items + rest.items] == ["gggggggggggg", "ffffffffffff"]
