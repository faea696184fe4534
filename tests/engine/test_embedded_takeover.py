"""A stop or an update recorded while no driver is alive (``pipelines run`` exited, or crashed)
is carried out by the caller, as a callback answer is: nothing waits for ``pipelines resume``."""

from __future__ import annotations

import threading

from pipelines.engine import StartRequest
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.backends import open_backend

from .fakes import Block, definition, processing_step, wait_until
from .test_embedded_events import CALLBACK, end_driver_as_if_its_process_exited


def other_process(config, store_kind, tmp_path, registry, clock) -> EmbeddedRuntime:
    return EmbeddedRuntime(
        config, store=open_backend(store_kind, tmp_path), registry=registry, clock=clock, poll_interval=0.05
    )


def test_stop_without_a_driver_sends_stopping_and_ends_stopped_after_the_answer(
    runtime, callbacks, config, store_kind, tmp_path, registry, clock
) -> None:
    execution = runtime.start(
        definition=definition(CALLBACK, processing_step("After", DependsOn=["Approve"]))
    )
    execution_id = execution.execution_id
    wait_until(lambda: runtime.engine.state(execution_id).steps["Approve"].waiting_for_callback)
    end_driver_as_if_its_process_exited(runtime, execution_id)

    other = other_process(config, store_kind, tmp_path, registry, clock)
    assert other.stop(execution_id).status == "Stopping"  # returns at once; carried out here
    assert other.drives(execution_id)
    wait_until(lambda: len(callbacks.stop_notices) == 1)
    assert callbacks.stop_notices[0].step_name == "Approve"
    token = other.engine.state(execution_id).steps["Approve"].callback_token
    other.callback_failure(token, "cleaned up")  # the consumer's answer ends the stop
    final = other.wait(execution_id, timeout=10)
    assert final.status == "Stopped"
    assert "After" not in other.engine.state(execution_id).steps
    other.close()


def test_stop_after_a_crash_stops_the_orphaned_step_and_ends_in_the_caller(
    runtime, jobs, config, store_kind, tmp_path, registry, clock
) -> None:
    never = threading.Event()
    jobs.scripts = {"Long": [Block(never)]}
    text = definition(processing_step("Long"), processing_step("Later", DependsOn=["Long"]))
    execution = runtime.start(definition=text)
    wait_until(lambda: jobs.active == 1)
    end_driver_as_if_its_process_exited(runtime, execution.execution_id)  # its job is lost with it
    assert runtime.store.get_execution(execution.execution_id).status == "Executing"

    other = other_process(config, store_kind, tmp_path, registry, clock)
    final = other.stop(execution.execution_id, background=False)
    assert final.status == "Stopped"
    steps = other.engine.state(execution.execution_id).steps
    assert steps["Long"].status == "Stopped" and "Later" not in steps
    assert jobs.runs_of("Later") == 0 and jobs.runs_of("Long") == 1
    other.close()


def test_repeating_a_stop_whose_driver_died_finishes_it(
    runtime, jobs, config, store_kind, tmp_path, registry, clock
) -> None:
    never = threading.Event()
    jobs.scripts = {"Long": [Block(never)]}
    execution = runtime.start(definition=definition(processing_step("Long")))
    wait_until(lambda: jobs.active == 1)
    end_driver_as_if_its_process_exited(runtime, execution.execution_id)
    runtime.engine.stop(execution.execution_id)  # recorded by a process that then went away
    assert runtime.store.get_execution(execution.execution_id).status == "Stopping"

    other = other_process(config, store_kind, tmp_path, registry, clock)
    assert other.stop(execution.execution_id, background=False).status == "Stopped"
    other.close()


def test_raising_parallelism_without_a_driver_starts_the_waiting_step(
    runtime, jobs, callbacks, config, store_kind, tmp_path, registry, clock
) -> None:
    text = definition(CALLBACK, processing_step("Other"))
    execution = runtime.start(StartRequest(pipeline_name="p", parallelism=1), definition=text)
    execution_id = execution.execution_id
    wait_until(lambda: runtime.engine.state(execution_id).steps.get("Approve") is not None)
    wait_until(lambda: runtime.engine.state(execution_id).steps["Approve"].waiting_for_callback)
    assert "Other" not in runtime.engine.state(execution_id).steps  # parallelism 1: the callback holds it
    end_driver_as_if_its_process_exited(runtime, execution_id)

    other = other_process(config, store_kind, tmp_path, registry, clock)
    other.update_execution(execution_id, display_name="renamed")  # calls for no work: only recorded
    assert not other.drives(execution_id)
    other.update_execution(execution_id, parallelism=2)
    wait_until(lambda: jobs.runs_of("Other") == 1)
    wait_until(lambda: other.engine.state(execution_id).steps["Other"].status == "Succeeded")
    token = other.engine.state(execution_id).steps["Approve"].callback_token
    other.callback_success(token, {})
    assert other.wait(execution_id, timeout=10).status == "Succeeded"
    other.close()
