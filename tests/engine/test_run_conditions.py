"""DependsOn run conditions (SDK v3 ``StepDependency``): a step may run on its upstream step's
failure, stop or any outcome; an execution whose failures were all handled that way ends
CompletedWithFailures."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pipelines.config import Config
from pipelines.definition import DefinitionError
from pipelines.engine import Engine, StartRequest, UnsupportedRunConditions
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepFailed, StepResult
from pipelines.runners.registry import RunnerRegistry
from pipelines.store import PipelineRecord, PipelineVersionRecord

from .fakes import Block, Fail, ScriptedRunner, SyncDriver, definition, processing_step, wait_until

SDK_V3 = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:f"


def sample(name: str) -> str:
    return (SDK_V3 / f"{name}.json").read_text()


def lambda_step(name: str, depends_on: list) -> dict:
    return {"Name": name, "Type": "Lambda", "FunctionArn": FUNCTION, "Arguments": {}, "DependsOn": depends_on}


@pytest.fixture
def trainings() -> ScriptedRunner:
    return ScriptedRunner("Training")


@pytest.fixture
def cleanups() -> ScriptedRunner:
    return ScriptedRunner("Cleanup")


@pytest.fixture
def registry(jobs, lambdas, callbacks, trainings, cleanups) -> RunnerRegistry:
    return RunnerRegistry([jobs, lambdas, callbacks, trainings, cleanups])


@pytest.fixture
def driver(engine: Engine, registry: RunnerRegistry, config: Config, objects: LocalObjectStore) -> SyncDriver:
    return SyncDriver(engine, registry, RunContext(config=config, objects=objects))


def statuses(state) -> dict[str, str]:
    return {name: record.status for name, record in state.steps.items()}


def test_on_success_only_plain_and_any_dependents_run(engine, driver, pipeline) -> None:
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(sample("run_conditions")))))
    assert statuses(state) == {"Work": "Succeeded", "FollowUp": "Succeeded", "Finally": "Succeeded"}
    assert state.execution.status == "Succeeded"


def test_a_failure_runs_its_failed_trigger_and_ends_completed_with_failures(
    engine, driver, jobs, lambdas, pipeline
) -> None:
    jobs.scripts = {"Work": [Fail(reason="bad input")]}
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(sample("run_conditions")))))
    # FollowUp needs Work's success; Finally needs it too (plain "Work" entry); NotifyOnStop a stop
    assert statuses(state) == {"Work": "Failed", "NotifyOnFailure": "Succeeded"}
    assert lambdas.runs_of("NotifyOnFailure") == 1
    assert state.execution.status == "CompletedWithFailures"
    assert state.execution.failure_reason == "Step failure: One or multiple steps failed. Failed steps: Work."


def test_an_any_trigger_runs_after_a_failure_and_handles_it(engine, driver, jobs, pipeline) -> None:
    jobs.scripts = {"FollowUp": [Fail(reason="flaky")]}
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(sample("run_conditions")))))
    assert statuses(state) == {"Work": "Succeeded", "FollowUp": "Failed", "Finally": "Succeeded"}
    assert state.execution.status == "CompletedWithFailures"


def test_a_stop_runs_the_stopped_triggers_while_stopping(engine, pipeline) -> None:
    outcome = engine.start(StartRequest(pipeline_name=pipeline(sample("run_conditions"))))
    execution_id = outcome.execution.execution_id
    engine.step_started(execution_id, "Work", 1)
    stopping = engine.stop(execution_id)
    assert stopping.execution.status == "Stopping"
    handled = engine.step_failed(execution_id, "Work", 1, StepFailed("stopped"))
    assert handled.steps["Work"].status == "Stopped"
    # the stop handler starts although the execution is stopping; nothing else does
    assert [a.step_name for a in handled.actions] == ["NotifyOnStop"]
    engine.step_started(execution_id, "NotifyOnStop", 1)
    done = engine.step_succeeded(execution_id, "NotifyOnStop", 1, StepResult(properties={}))
    assert statuses(done) == {"Work": "Stopped", "NotifyOnStop": "Succeeded"}
    assert done.execution.status == "Stopped"


def test_cleanup_runs_after_any_outcome_of_its_sources(engine, driver, jobs, cleanups, pipeline) -> None:
    jobs.scripts = {"MakeScratch": [Fail(reason="disk full")]}
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(sample("cleanup")))))
    assert statuses(state) == {
        "MakeScratch": "Failed",
        "UseScratch": "Succeeded",
        "TrainModel": "Succeeded",
        "DeleteScratch": "Succeeded",
    }
    assert cleanups.runs_of("DeleteScratch") == 1
    assert state.execution.status == "CompletedWithFailures"


def test_a_caught_failure_whose_handler_cannot_run_fails_the_execution(
    engine, driver, jobs, trainings, cleanups, pipeline
) -> None:
    jobs.scripts = {"MakeScratch": [Fail(reason="disk full")]}
    trainings.scripts = {"TrainModel": [Fail(reason="diverged")]}  # DeleteScratch needs its success
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(sample("cleanup")))))
    assert "DeleteScratch" not in state.steps
    assert state.execution.status == "Failed"
    assert state.execution.failure_reason == (
        "Step failure: One or multiple steps failed. Failed steps: MakeScratch, TrainModel."
    )


def test_an_uncaught_failure_still_stops_new_starts(engine, pipeline) -> None:
    text = definition(
        processing_step("A"),
        processing_step("B"),
        lambda_step("OnA", [{"Step": "A", "Trigger": "Failed"}]),
        processing_step("AfterB", DependsOn=["B"]),
    )
    outcome = engine.start(StartRequest(pipeline_name=pipeline(text)))
    execution_id = outcome.execution.execution_id
    engine.steps_started(execution_id, [("A", 1), ("B", 1)])
    caught = engine.step_failed(execution_id, "A", 1, StepFailed("caught"))
    assert [a.step_name for a in caught.actions] == ["OnA"]  # a handled failure blocks nothing
    engine.step_started(execution_id, "OnA", 1)
    engine.step_failed(execution_id, "OnA", 1, StepFailed("handler broke"))  # nothing handles this
    done = engine.step_succeeded(execution_id, "B", 1, StepResult(properties={}))
    assert "AfterB" not in done.steps
    assert done.execution.status == "Failed"
    assert done.execution.failure_reason.endswith("Failed steps: OnA.")


def test_an_unknown_trigger_is_refused_when_the_pipeline_is_created(pipeline) -> None:
    text = definition(processing_step("A"), lambda_step("B", [{"Step": "A", "Trigger": "Succeeded"}]))
    with pytest.raises(DefinitionError) as refused:
        pipeline(text)
    assert "Steps[1].DependsOn[0].Trigger: unknown DependsOn trigger 'Succeeded' for step 'A'" in str(
        refused.value
    )


def test_an_unknown_trigger_stored_before_the_rule_is_refused_at_start(engine, store, clock) -> None:
    # a pipeline created before the validator checked triggers: the engine still refuses to run it
    text = definition(processing_step("A"), lambda_step("B", [{"Step": "A", "Trigger": "Succeeded"}]))
    now = clock.now()
    store.create_pipeline(
        PipelineRecord(
            name="old",
            arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/old",
            definition=text,
            created_at=now,
            modified_at=now,
        ),
        PipelineVersionRecord(
            pipeline_name="old",
            pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/old",
            version_id=1,
            definition=text,
            created_at=now,
        ),
    )
    with pytest.raises(UnsupportedRunConditions) as refused:
        engine.start(StartRequest(pipeline_name="old"))
    assert "step B: DependsOn trigger 'Succeeded' is not supported by this runtime" in str(refused.value)


def test_the_embedded_driver_runs_the_stop_handler(runtime, jobs, lambdas) -> None:
    release = threading.Event()
    jobs.scripts = {"Work": [Block(release)]}
    execution = runtime.start(definition=sample("run_conditions"))
    wait_until(lambda: jobs.active == 1)
    runtime.stop(execution.execution_id)
    final = runtime.wait(execution.execution_id, timeout=10)
    assert final.status == "Stopped"
    assert lambdas.runs_of("NotifyOnStop") == 1 and lambdas.runs_of("NotifyOnFailure") == 0
    assert jobs.cancelled == ["Work"]
