"""DAG order, condition branches, the failure policy, Fail steps and parallelism, decided by the
engine and carried out by a synchronous driver."""

from __future__ import annotations

import pytest
from pipelines.config import Config
from pipelines.engine import Engine, ExecutionFinished, RunStep, StartRequest
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepResult
from pipelines.runners.registry import RunnerRegistry
from pipelines.store.base import ListQuery

from .fakes import Fail, ScriptedRunner, SyncDriver, definition, processing_step


@pytest.fixture
def driver(engine: Engine, registry: RunnerRegistry, config: Config, objects: LocalObjectStore) -> SyncDriver:
    return SyncDriver(engine, registry, RunContext(config=config, objects=objects))


def condition(
    name: str, left: object, right: object, if_steps: list, else_steps: list, kind: str = "GreaterThan"
) -> dict:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [{"Type": kind, "LeftValue": left, "RightValue": right}],
            "IfSteps": if_steps,
            "ElseSteps": else_steps,
        },
    }


def started_order(jobs: ScriptedRunner) -> list[str]:
    return [request.step_name for request in jobs.calls]


def test_diamond_runs_in_dependency_order(engine, driver, jobs, pipeline) -> None:
    name = pipeline(
        definition(
            processing_step("A"),
            processing_step("B", DependsOn=["A"]),
            processing_step("C", arguments={"Environment": {"X": {"Get": "Steps.A.ProcessingJobName"}}}),
            processing_step("D", DependsOn=["B", "C"]),
        )
    )
    outcome = engine.start(StartRequest(pipeline_name=name))
    assert [a.step_name for a in outcome.actions] == ["A"]
    state = driver.run(outcome)
    order = started_order(jobs)
    assert order[0] == "A" and order[-1] == "D" and set(order[1:3]) == {"B", "C"}
    assert state.execution.status == "Succeeded"
    assert state.steps["C"].arguments["Environment"]["X"] == state.steps["A"].job_name


@pytest.mark.parametrize(
    ("threshold", "ran", "never"),
    [
        (1, {"Pre", "Check", "IfJob", "AfterIf"}, {"ElseJob", "AfterElse"}),
        (10, {"Pre", "Check", "ElseJob", "AfterElse"}, {"IfJob", "AfterIf"}),
    ],
)
def test_condition_takes_one_branch_and_skips_everything_downstream_of_the_other(
    engine, driver, pipeline, store, threshold, ran, never
) -> None:
    text = definition(
        processing_step("Pre"),
        condition(
            "Check",
            {"Get": "Parameters.Value"},
            threshold,
            [processing_step("IfJob")],
            [processing_step("ElseJob")],
        ),
        processing_step("AfterIf", DependsOn=["IfJob"]),
        processing_step(
            "AfterElse", arguments={"Environment": {"E": {"Get": "Steps.ElseJob.ProcessingJobName"}}}
        ),
        parameters=[{"Name": "Value", "Type": "Integer", "DefaultValue": 5}],
    )
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(text))))
    assert state.execution.status == "Succeeded"
    assert set(state.steps) == ran  # no record at all for steps that never ran: there is no Skipped
    assert not never & set(state.steps)
    outcome = "True" if threshold == 1 else "False"
    assert state.steps["Check"].properties == {"Outcome": threshold == 1}  # a JSON boolean
    assert state.steps["Check"].metadata == {"Condition": {"Outcome": outcome}}
    listed = store.list_steps(state.execution.execution_id, ListQuery()).items
    assert {s.step_name for s in listed} == ran


def test_condition_outcome_is_readable_downstream(engine, driver, lambdas, pipeline) -> None:
    text = definition(
        condition("Check", 2, 1, [], []),
        {
            "Name": "Report",
            "Type": "Lambda",
            "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
            "Arguments": {
                "outcome": {"Get": "Steps.Check.Outcome"},
                "text": {"Std:Join": {"On": " ", "Values": ["is", {"Get": "Steps.Check.Outcome"}]}},
            },
        },
    )
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(text))))
    # a JSON boolean, joined as JSON text (sagemaker-python-sdk
    # tests/integ/sagemaker/workflow/test_pipeline_var_behaviors.py::test_ppl_var_to_string_and_add)
    assert state.steps["Report"].arguments == {"outcome": True, "text": "is true"}


def test_after_a_failure_running_steps_finish_and_nothing_new_starts(engine, jobs, pipeline) -> None:
    jobs.scripts = {"Bad": [Fail(reason="exit code 1")]}
    text = definition(
        processing_step("Bad"),
        processing_step("Slow"),
        processing_step("AfterSlow", DependsOn=["Slow"]),
        processing_step("AfterBad", DependsOn=["Bad"]),
    )
    started = engine.start(StartRequest(pipeline_name=pipeline(text)))
    runs = {a.step_name: a for a in started.actions}
    assert set(runs) == {"Bad", "Slow"}
    for action in runs.values():
        engine.step_started(action.execution_id, action.step_name, action.attempt)
    failed = engine.step_failed(runs["Bad"].execution_id, "Bad", 1, _failure("exit code 1"))
    assert failed.execution.status == "Executing"  # Slow is still running
    assert failed.actions == []
    finished = engine.step_succeeded(runs["Slow"].execution_id, "Slow", 1, StepResult(properties={}))
    assert not any(isinstance(a, RunStep) for a in finished.actions)  # AfterSlow never starts
    assert finished.execution.status == "Failed"
    assert "Bad" in (finished.execution.failure_reason or "")
    assert finished.execution.failure_reason.startswith("Step failure")
    assert set(finished.steps) == {"Bad", "Slow"}
    assert finished.steps["Bad"].failure_reason == "exit code 1"
    assert isinstance(finished.actions[-1], ExecutionFinished)


def test_fail_step_fails_the_execution_with_its_evaluated_message_after_concurrent_steps(
    engine, pipeline
) -> None:
    text = definition(
        processing_step("Slow"),
        condition(
            "Check",
            {"Get": "Parameters.Mse"},
            5.0,
            [
                {
                    "Name": "Stop",
                    "Type": "Fail",
                    "Arguments": {
                        "ErrorMessage": {
                            "Std:Join": {"On": " ", "Values": ["MSE", {"Get": "Parameters.Mse"}, "too high"]}
                        }
                    },
                }
            ],
            [],
        ),
        parameters=[{"Name": "Mse", "Type": "Float", "DefaultValue": 7.5}],
    )
    started = engine.start(StartRequest(pipeline_name=pipeline(text)))
    assert [a.step_name for a in started.actions] == ["Slow"]
    assert started.steps["Stop"].status == "Failed"
    assert started.steps["Stop"].metadata == {"Fail": {"ErrorMessage": "MSE 7.5 too high"}}
    assert started.execution.status == "Executing"  # waits for Slow
    done = engine.step_succeeded(started.execution.execution_id, "Slow", 1, StepResult(properties={}))
    assert done.execution.status == "Failed"
    assert done.execution.failure_reason == "Step failure: One or multiple steps failed. Failed steps: Stop."
    assert done.steps["Stop"].failure_reason == "MSE 7.5 too high"
    assert done.execution.ended_at_fail_step


@pytest.mark.parametrize(
    ("execution_limit", "pipeline_limit", "expected"),
    [(None, None, 6), (None, 4, 4), (2, 4, 2), (3, None, 3)],
)
def test_parallelism_limit_execution_level_wins(
    engine, pipeline, execution_limit, pipeline_limit, expected
) -> None:
    name = pipeline(definition(*[processing_step(f"S{i}") for i in range(6)]), parallelism=pipeline_limit)
    outcome = engine.start(StartRequest(pipeline_name=name, parallelism=execution_limit))
    assert outcome.execution.parallelism == (execution_limit or pipeline_limit)
    assert len([a for a in outcome.actions if isinstance(a, RunStep)]) == expected


def test_a_finished_step_frees_its_slot(engine, pipeline) -> None:
    outcome = engine.start(
        StartRequest(
            pipeline_name=pipeline(definition(*[processing_step(f"S{i}") for i in range(3)])), parallelism=1
        )
    )
    assert [a.step_name for a in outcome.actions] == ["S0"]
    following = engine.step_succeeded(outcome.execution.execution_id, "S0", 1, StepResult(properties={}))
    assert [a.step_name for a in following.actions if isinstance(a, RunStep)] == ["S1"]


def _failure(reason: str, code: str | None = None):
    from pipelines.runners.base import StepFailed

    return StepFailed(reason, error_code=code)
