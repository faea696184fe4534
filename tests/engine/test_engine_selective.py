"""Selective execution: reference reuse, validation, downstream steps not run."""

from __future__ import annotations

import pytest
from pipelines.engine import ExecutionNotFound, InvalidSelection, RunStep, StartRequest
from pipelines.runners.base import StepFailed, StepResult
from pipelines.store.base import SelectiveExecutionConfig

from .fakes import definition, processing_step

# Process -> Train -> Evaluate -> Register ; Other is independent
TEXT = definition(
    processing_step("Process"),
    processing_step("Train", arguments={"Environment": {"DATA": {"Get": "Steps.Process.ProcessingJobName"}}}),
    processing_step("Evaluate", DependsOn=["Train"]),
    processing_step("Register", DependsOn=["Evaluate"]),
    processing_step("Other"),
)


def finish(engine, outcome, fail: set[str] = frozenset()):
    pending = [a for a in outcome.actions if isinstance(a, RunStep)]
    while pending:
        action = pending.pop(0)
        if action.step_name in fail:
            result = engine.step_failed(
                action.execution_id, action.step_name, action.attempt, StepFailed("no")
            )
        else:
            result = engine.step_succeeded(
                action.execution_id,
                action.step_name,
                action.attempt,
                StepResult(properties={"ProcessingJobName": action.request.job_name}),
            )
        pending.extend(a for a in result.actions if isinstance(a, RunStep))
    return engine.state(outcome.execution.execution_id)


def selective(steps: list[str], source: str | None) -> SelectiveExecutionConfig:
    return SelectiveExecutionConfig(source_execution_arn=source, selected_steps=steps)


def test_unselected_upstream_steps_reuse_the_reference_and_downstream_steps_do_not_run(
    engine, pipeline
) -> None:
    name = pipeline(TEXT)
    reference = finish(engine, engine.start(StartRequest(pipeline_name=name)))
    arn = reference.execution.execution_arn
    outcome = engine.start(StartRequest(pipeline_name=name, selective=selective(["Train", "Evaluate"], arn)))
    assert [a.step_name for a in outcome.actions] == ["Train"]
    train = outcome.actions[0]
    assert train.request.arguments["Environment"]["DATA"] == reference.steps["Process"].job_name
    state = finish(engine, outcome)
    assert state.execution.status == "Succeeded"
    assert set(state.steps) == {"Process", "Train", "Evaluate"}
    process = state.steps["Process"]
    assert process.selective_source_arn == arn and process.status == "Succeeded"
    assert process.properties == reference.steps["Process"].properties
    assert state.steps["Train"].selective_source_arn is None


def test_a_failed_reference_is_accepted(engine, pipeline) -> None:
    name = pipeline(TEXT)
    reference = finish(engine, engine.start(StartRequest(pipeline_name=name)), fail={"Evaluate"})
    assert reference.execution.status == "Failed"
    outcome = engine.start(
        StartRequest(pipeline_name=name, selective=selective(["Evaluate"], reference.execution.execution_arn))
    )
    assert [a.step_name for a in outcome.actions] == ["Evaluate"]


def test_without_a_reference_selected_steps_may_not_depend_on_unselected_ones(engine, pipeline) -> None:
    name = pipeline(TEXT)
    with pytest.raises(InvalidSelection) as caught:
        engine.start(StartRequest(pipeline_name=name, selective=selective(["Train", "Evaluate"], None)))
    assert str(caught.value) == (
        "Invalid SourcePipelineExecutionArn: null. The selected steps ['Evaluate', 'Train'] have dependencies on ['Process']"
    )
    outcome = engine.start(StartRequest(pipeline_name=name, selective=selective(["Process", "Train"], None)))
    assert [a.step_name for a in outcome.actions] == ["Process"]
    assert set(finish(engine, outcome).steps) == {"Process", "Train"}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (["Process", "Evaluate"], "lies on a path between selected steps"),
        (["Train", "Other"], "not connected"),
        (["Nope"], "Nope"),
    ],
)
def test_invalid_selections(engine, pipeline, steps, message) -> None:
    name = pipeline(TEXT)
    reference = finish(engine, engine.start(StartRequest(pipeline_name=name)))
    with pytest.raises(InvalidSelection, match=message):
        engine.start(
            StartRequest(pipeline_name=name, selective=selective(steps, reference.execution.execution_arn))
        )


def test_the_reference_must_exist_be_finished_and_belong_to_the_pipeline(engine, pipeline) -> None:
    name = pipeline(TEXT)
    running = engine.start(StartRequest(pipeline_name=name))
    with pytest.raises(InvalidSelection, match="Succeeded or Failed"):
        engine.start(
            StartRequest(pipeline_name=name, selective=selective(["Train"], running.execution.execution_arn))
        )
    other = pipeline(TEXT, name="other")
    foreign = finish(engine, engine.start(StartRequest(pipeline_name=other)))
    with pytest.raises(InvalidSelection, match="belongs to pipeline other"):
        engine.start(
            StartRequest(pipeline_name=name, selective=selective(["Train"], foreign.execution.execution_arn))
        )
    missing = running.execution.execution_arn[:-12] + "zzzzzzzzzzzz"
    with pytest.raises(ExecutionNotFound):
        engine.start(StartRequest(pipeline_name=name, selective=selective(["Train"], missing)))
