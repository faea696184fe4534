"""The embedded driver: threads, parallelism, backoff on the injected clock, stop and callbacks
from other threads and other store handles (other processes)."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from pipelines.engine import ExecutionStateConflict, StartRequest
from pipelines.runtime.embedded import DriverBusy, EmbeddedRuntime
from pipelines.store.backends import open_backend

from .fakes import Block, Fail, Sleep, definition, processing_step, wait_until

CALLBACK = {
    "Name": "Approve",
    "Type": "Callback",
    "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/0/q",
    "Arguments": {},
}


def test_parallel_branches_respect_the_parallelism_limit(runtime, jobs) -> None:
    release = threading.Event()
    jobs.scripts = {f"S{i}": [Block(release)] for i in range(8)}
    text = definition(
        *[processing_step(f"S{i}") for i in range(8)],
        processing_step("End", DependsOn=[f"S{i}" for i in range(8)]),
    )
    seen: list[int] = []
    execution = runtime.start(
        StartRequest(pipeline_name="p", parallelism=3),
        definition=text,
        progress=lambda e, steps: seen.append(len(steps)),
    )
    wait_until(lambda: jobs.active == 3)
    release.set()
    final = runtime.wait(execution.execution_id, timeout=30)
    assert final.status == "Succeeded"
    assert jobs.max_active == 3  # never more than the limit, at any time
    assert seen and seen[-1] == 9


def test_unlimited_parallelism_runs_every_ready_step_at_once(runtime, jobs) -> None:
    release = threading.Event()
    jobs.scripts = {f"S{i}": [Block(release)] for i in range(6)}
    execution = runtime.start(definition=definition(*[processing_step(f"S{i}") for i in range(6)]))
    wait_until(lambda: jobs.active == 6)
    release.set()
    assert runtime.wait(execution.execution_id, timeout=10).status == "Succeeded"


def test_retry_backoff_waits_on_the_injected_clock(runtime, jobs, clock) -> None:
    policy = [
        {
            "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
            "IntervalSeconds": 600,
            "BackoffRate": 2.0,
            "MaxAttempts": 3,
        }
    ]
    jobs.scripts = {
        "Train": [Fail("InsufficientInstanceCapacity"), Fail("InsufficientInstanceCapacity"), Sleep(0)]
    }
    started = clock.now()
    real = time.monotonic()
    execution = runtime.run(definition(processing_step("Train", RetryPolicies=policy)))
    assert execution.status == "Succeeded"
    assert jobs.runs_of("Train") == 3
    assert (clock.now() - started).total_seconds() >= 1800  # 600 s + 1200 s of (fake) backoff
    assert time.monotonic() - real < 5


def test_a_runner_crash_fails_the_step_with_the_error(runtime, jobs) -> None:
    def explode(request):
        raise RuntimeError("boom")

    jobs.properties = explode
    execution = runtime.run(definition(processing_step("A")))
    assert execution.status == "Failed"
    assert runtime.engine.state(execution.execution_id).steps["A"].failure_reason == "RuntimeError: boom"


@pytest.mark.parametrize("from_other_process", [False, True])
def test_stop_mid_run(
    runtime, jobs, store_kind, tmp_path, config, registry, clock, from_other_process
) -> None:
    never = threading.Event()
    jobs.scripts = {"Long": [Block(never)], "Later": []}
    text = definition(processing_step("Long"), processing_step("Later", DependsOn=["Long"]))
    execution = runtime.start(definition=text)
    wait_until(lambda: jobs.active == 1)
    if from_other_process:
        other = EmbeddedRuntime(
            config, store=open_backend(store_kind, tmp_path), registry=registry, clock=clock
        )
        other.stop(execution.execution_id)
    else:
        runtime.stop(execution.execution_arn)
    final = runtime.wait(execution.execution_id, timeout=10)
    assert final.status == "Stopped"
    assert jobs.cancelled == ["Long"]
    steps = runtime.engine.state(execution.execution_id).steps
    assert steps["Long"].status == "Stopped" and "Later" not in steps
    assert jobs.runs_of("Later") == 0


def test_a_callback_completed_elsewhere_wakes_the_waiting_driver(
    runtime, jobs, callbacks, store_kind, tmp_path, config, registry, clock
) -> None:
    text = definition(CALLBACK, processing_step("After", DependsOn=["Approve"]))
    execution = runtime.start(definition=text)
    wait_until(lambda: runtime.engine.state(execution.execution_id).steps["Approve"].waiting_for_callback)
    token = runtime.engine.state(execution.execution_id).steps["Approve"].callback_token
    other = EmbeddedRuntime(config, store=open_backend(store_kind, tmp_path), registry=registry, clock=clock)
    assert other.driver_alive(execution.execution_id)
    other.callback_success(token, {})  # returns at once: the live driver carries on
    final = runtime.wait(execution.execution_id, timeout=10)
    assert final.status == "Succeeded"
    assert jobs.runs_of("After") == 1


def test_a_callback_with_no_live_driver_resumes_the_run_in_the_caller(
    runtime, jobs, store_kind, tmp_path, config, registry, clock
) -> None:
    text = definition(CALLBACK, processing_step("After", DependsOn=["Approve"]))
    execution = runtime.start(definition=text)
    wait_until(lambda: runtime.engine.state(execution.execution_id).steps["Approve"].waiting_for_callback)
    # simulate `pipelines run` having exited: its driver is gone and its lease released
    driver = runtime._drivers[execution.execution_id]
    token = runtime.engine.state(execution.execution_id).steps["Approve"].callback_token
    runtime.store.release_lease(execution.execution_id, driver.owner)
    driver.final = runtime.store.get_execution(execution.execution_id)  # end that driver loop
    driver.wake.set()
    runtime._threads[execution.execution_id].join(5)
    other = EmbeddedRuntime(config, store=open_backend(store_kind, tmp_path), registry=registry, clock=clock)
    assert not other.driver_alive(execution.execution_id)
    final = other.callback_success(token, {})
    assert final.status == "Succeeded"
    assert jobs.runs_of("After") == 1


def test_stopping_a_waiting_callback_sends_the_stopping_message(runtime, callbacks) -> None:
    execution = runtime.start(definition=definition(CALLBACK))
    wait_until(lambda: runtime.engine.state(execution.execution_id).steps["Approve"].waiting_for_callback)
    runtime.stop(execution.execution_id)
    wait_until(lambda: len(callbacks.stop_notices) == 1)
    assert runtime.store.get_execution(execution.execution_id).status == "Stopping"  # still waiting
    token = runtime.engine.state(execution.execution_id).steps["Approve"].callback_token
    runtime.callback_failure(token, "cleaned up")
    assert runtime.wait(execution.execution_id, timeout=10).status == "Stopped"


def test_retry_of_a_failed_execution_through_the_runtime(runtime, jobs) -> None:
    jobs.scripts = {"B": [Fail(reason="bad data")]}
    text = definition(
        processing_step("A"), processing_step("B", DependsOn=["A"]), processing_step("C", DependsOn=["B"])
    )
    failed = runtime.run(text)
    assert failed.status == "Failed"
    final = runtime.retry(failed.execution_id, background=False)
    assert final.status == "Succeeded" and final.execution_id == failed.execution_id
    assert (jobs.runs_of("A"), jobs.runs_of("B"), jobs.runs_of("C")) == (1, 2, 1)
    assert runtime.engine.state(failed.execution_id).steps["B"].attempt == 2


def test_a_retry_sent_as_soon_as_failed_shows_waits_for_the_finishing_driver(runtime, jobs) -> None:
    """The API engineer's race: the driver has written Failed but still holds its lease."""
    jobs.scripts = {"A": [Fail(reason="first try")]}
    failed_seen, let_go = threading.Event(), threading.Event()

    def linger_when_failed(execution, steps) -> None:
        if execution.status == "Failed":
            failed_seen.set()
            let_go.wait(10)  # the finishing driver, still holding the lease

    execution = runtime.start(definition=definition(processing_step("A")), progress=linger_when_failed)
    assert failed_seen.wait(10)
    assert runtime.driver_alive(execution.execution_id)
    threading.Timer(0.2, let_go.set).start()
    final = runtime.retry(execution.execution_arn, background=False)
    assert final.status == "Succeeded"
    assert jobs.runs_of("A") == 2
    assert runtime.engine.state(execution.execution_id).execution.run == 2


def test_a_retry_that_cannot_get_the_lease_leaves_the_execution_failed(
    runtime, jobs, store_kind, tmp_path
) -> None:
    jobs.scripts = {"A": [Fail(reason="first try")]}
    failed = runtime.run(definition(processing_step("A")))
    runtime.lease_ttl = 0.3
    stuck = f"{socket.gethostname()}:{os.getpid()}:stuck"
    done = threading.Event()

    def hold() -> None:  # a driver that never lets go, heartbeat and all
        while not done.is_set():
            now = datetime.now(UTC)
            runtime.store.acquire_lease(failed.execution_id, stuck, now, now - timedelta(hours=1))
            done.wait(0.02)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        wait_until(lambda: runtime.driver_alive(failed.execution_id))
        with pytest.raises(DriverBusy):
            runtime.retry(failed.execution_id, background=False)
    finally:
        done.set()
        holder.join()
    after = runtime.store.get_execution(failed.execution_id)
    assert (after.status, after.run) == ("Failed", 1)  # the retry was not half-recorded
    assert jobs.runs_of("A") == 1


def test_retrying_a_running_execution_is_a_conflict_at_once(runtime, jobs) -> None:
    never = threading.Event()
    jobs.scripts = {"A": [Block(never)]}
    execution = runtime.start(definition=definition(processing_step("A")))
    wait_until(lambda: jobs.active == 1)
    started = time.monotonic()
    with pytest.raises(ExecutionStateConflict, match="only a Failed execution can be retried"):
        runtime.retry(execution.execution_id)
    assert time.monotonic() - started < runtime.lease_ttl / 2  # refused, not waited for
    runtime.stop(execution.execution_id)
    assert runtime.wait(execution.execution_id, timeout=10).status == "Stopped"


def test_a_start_whose_execution_another_driver_took_over_is_not_an_error(runtime, jobs) -> None:
    """``resume`` in a server that just started may lease a new execution before its starter."""
    other = f"{socket.gethostname()}:{os.getpid()}:resumer"
    start = runtime.engine.start

    def start_then_taken_over(*args, **kwargs):
        outcome = start(*args, **kwargs)
        now = datetime.now(UTC)
        runtime.store.acquire_lease(outcome.execution.execution_id, other, now, now)
        return outcome

    runtime.engine.start = start_then_taken_over  # type: ignore[method-assign]
    execution = runtime.start(definition=definition(processing_step("A")))
    assert execution.status == "Executing" and jobs.runs_of("A") == 0
    runtime.store.release_lease(execution.execution_id, other)  # the other driver ends
    (final,) = runtime.resume(execution.execution_id)
    assert final.status == "Succeeded"
