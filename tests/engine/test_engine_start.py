"""Starting an execution: snapshot, parameters, unsupported steps, ids, execution variables,
experiments, idempotency."""

from __future__ import annotations

import re

import pytest
from pipelines.definition import DefinitionError
from pipelines.engine import (
    Engine,
    PipelineNotFound,
    PipelineVersionNotFound,
    RunStep,
    StartRequest,
    UnsupportedSteps,
    upsert_pipeline,
)
from pipelines.errors import ConflictError, ValidationError
from pipelines.runners.registry import RunnerRegistry
from pipelines.store.base import ListQuery

from .fakes import ScriptedRunner, definition, processing_step

PARAMETERS = [
    {"Name": "Count", "Type": "Integer", "DefaultValue": 1},
    {"Name": "Rate", "Type": "Float", "DefaultValue": 0.5},
    {"Name": "Flag", "Type": "Boolean", "DefaultValue": False},
    {"Name": "Input", "Type": "String"},
]


def test_parameters_arrive_as_strings_and_are_coerced_and_recorded(engine, pipeline) -> None:
    name = pipeline(definition(processing_step("A"), parameters=PARAMETERS))
    outcome = engine.start(
        StartRequest(pipeline_name=name, parameters={"Count": "3", "Flag": "True", "Input": "s3://b/k"})
    )
    assert outcome.execution.parameters == {"Count": 3, "Rate": 0.5, "Flag": True, "Input": "s3://b/k"}


@pytest.mark.parametrize(
    ("given", "message"),
    [({"Input": "x", "Nope": "1"}, "Nope"), ({}, "Input"), ({"Input": "x", "Count": "three"}, "Count")],
)
def test_bad_parameters_are_rejected_before_anything_starts(engine, pipeline, store, given, message) -> None:
    name = pipeline(definition(processing_step("A"), parameters=PARAMETERS))
    with pytest.raises(ValidationError, match=message):
        engine.start(StartRequest(pipeline_name=name, parameters=given))
    assert store.list_executions(engine.pipeline_key(name), ListQuery()).items == []


def test_unsupported_step_types_fail_the_start_with_one_error_naming_every_step(
    engine, pipeline, store
) -> None:
    text = definition(
        processing_step("Prep"),
        {
            "Name": "Spark",
            "Type": "EMR",
            "Arguments": {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "x.jar"}}},
        },
        {
            "Name": "Spark2",
            "Type": "EMR",
            "Arguments": {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "y.jar"}}},
        },
    )
    name = pipeline(text)
    with pytest.raises(UnsupportedSteps) as caught:
        engine.start(StartRequest(pipeline_name=name))
    message = str(caught.value)
    assert (
        "step Spark: type EMR is not run by the embedded runtime: no runner is registered for it; "
        "the cloud runtime runs it"
    ) in message
    assert "step Spark2: type EMR is not run by the embedded runtime" in message
    assert "Prep" not in message
    assert store.list_executions(engine.pipeline_key(name), ListQuery()).items == []


def test_a_runner_check_can_refuse_a_step(store, clock, config, pipeline) -> None:
    refusing = ScriptedRunner(
        "Processing", unsupported="image example.com/image:latest has no local interpreter"
    )
    registry = RunnerRegistry([refusing])
    engine = Engine(
        store, clock=clock, unsupported_steps=lambda d, names: registry.unsupported_steps(d, config, names)
    )
    with pytest.raises(
        UnsupportedSteps, match="step A: image example.com/image:latest has no local interpreter"
    ):
        engine.start(StartRequest(pipeline_name=pipeline(definition(processing_step("A")))))


def test_ids_arns_and_execution_variables(engine, pipeline) -> None:
    step = processing_step(
        "Prep_Data",
        arguments={
            "Environment": {
                "ID": {"Get": "Execution.PipelineExecutionId"},
                "ARN": {"Get": "Execution.PipelineExecutionArn"},
                "JOB": {"Get": "Execution.ProcessingJobName"},
                "NAME": {"Get": "Execution.PipelineName"},
                "START": {"Get": "Execution.StartDateTime"},
            }
        },
    )
    outcome = engine.start(StartRequest(pipeline_name=pipeline(definition(step), name="My-Pipeline")))
    execution = outcome.execution
    assert re.fullmatch(r"[a-z0-9]{12}", execution.execution_id)
    assert execution.execution_arn == (
        f"arn:aws:sagemaker:us-east-1:000000000000:pipeline/My-Pipeline/execution/{execution.execution_id}"
    )
    (run,) = [a for a in outcome.actions if isinstance(a, RunStep)]
    env = run.request.arguments["Environment"]
    assert env["ID"] == execution.execution_id
    assert env["ARN"] == execution.execution_arn
    assert env["JOB"] == run.request.job_name == run.request.arguments["ProcessingJobName"]
    assert run.request.job_name.startswith(f"pipelines-{execution.execution_id}-Prep-Data-")
    assert env["NAME"] == "My-Pipeline"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", env["START"])


def test_the_definition_is_snapshotted_and_the_version_bound(engine, store, pipeline, clock) -> None:
    first = definition(processing_step("A"))
    name = pipeline(first)
    execution = engine.start(StartRequest(pipeline_name=name)).execution
    upsert_pipeline(store, name, definition(processing_step("A"), processing_step("B")), clock=clock)
    later = engine.start(StartRequest(pipeline_name=name)).execution
    assert store.get_execution(execution.execution_id).definition == first
    assert (execution.pipeline_version_id, later.pipeline_version_id) == (1, 2)


def test_unknown_pipeline_and_invalid_definition(engine, pipeline) -> None:
    with pytest.raises(PipelineNotFound):
        engine.start(StartRequest(pipeline_name="missing"))
    name = pipeline(definition(processing_step("A")))
    with pytest.raises(DefinitionError):
        engine.start(
            StartRequest(pipeline_name=name), definition='{"Version": "2020-12-01", "Steps": [{"Name": "X"}]}'
        )


@pytest.mark.parametrize(
    ("top_level", "expected"),
    [
        ({}, ("p", "<id>")),  # absent: the SDK's defaults
        (
            {
                "PipelineExperimentConfig": {
                    "ExperimentName": "Custom",
                    "TrialName": {
                        "Std:Join": {"On": "-", "Values": ["Run", {"Get": "Execution.PipelineExecutionId"}]}
                    },
                }
            },
            ("Custom", "Run-<id>"),
        ),
        ({"PipelineExperimentConfig": None}, None),
    ],
)
def test_experiment_records(engine, store, pipeline, top_level, expected) -> None:
    outcome = engine.start(
        StartRequest(pipeline_name=pipeline(definition(processing_step("A"), **top_level)))
    )
    execution = outcome.execution
    (run,) = outcome.actions
    experiments = store.list_experiments(ListQuery()).items
    if expected is None:
        assert execution.experiment is None and experiments == [] and run.request.experiment_config is None
        assert store.list_trial_components(None, ListQuery()).items == []
        return
    experiment_name, trial = expected[0], expected[1].replace("<id>", execution.execution_id)
    assert [e.name for e in experiments] == [experiment_name]
    assert [t.name for t in store.list_trials(experiment_name, ListQuery()).items] == [trial]
    assert run.request.experiment_config == {"ExperimentName": experiment_name, "TrialName": trial}
    # the run is recorded when the runtime starts the job, not by the decision that launched it
    assert store.list_trial_components(trial, ListQuery()).items == []
    engine.record_run(run)
    engine.record_run(run)  # a start repeated after a crash records it once
    (component,) = store.list_trial_components(trial, ListQuery()).items
    assert component.name == run.request.job_name and component.step_name == "A"
    assert [c.name for c in store.list_trial_components(None, ListQuery()).items] == [component.name]


def test_client_request_token_makes_start_idempotent(engine, store, pipeline) -> None:
    name = pipeline(definition(processing_step("A")))
    first = engine.start(StartRequest(pipeline_name=name, client_request_token="token-1"))
    again = engine.start(StartRequest(pipeline_name=name, client_request_token="token-1"))
    assert again.execution.execution_id == first.execution.execution_id
    assert not again.accepted and again.actions == []
    assert len(store.list_executions(engine.pipeline_key(name), ListQuery()).items) == 1
    with pytest.raises(ConflictError, match="token-1"):
        engine.start(
            StartRequest(pipeline_name=name, client_request_token="token-1", display_name="different")
        )


def test_an_older_pipeline_version_can_be_started_and_binds_its_definition(
    engine, store, pipeline, clock
) -> None:
    first = definition(processing_step("A"))
    name = pipeline(first)
    upsert_pipeline(store, name, definition(processing_step("A"), processing_step("B")), clock=clock)
    old = engine.start(StartRequest(pipeline_name=name, pipeline_version_id=1))
    assert old.execution.pipeline_version_id == 1
    assert old.execution.definition == first
    assert [a.step_name for a in old.actions] == ["A"]
    latest = engine.start(StartRequest(pipeline_name=name, pipeline_version_id=2)).execution
    assert latest.pipeline_version_id == 2 and "B" in latest.definition
    with pytest.raises(PipelineVersionNotFound, match="Pipeline version 7 of .* does not exist"):
        engine.start(StartRequest(pipeline_name=name, pipeline_version_id=7))
    with pytest.raises(ValidationError, match="not both"):
        engine.start(StartRequest(pipeline_name=name, pipeline_version_id=1), definition=first)


def test_a_start_records_the_pipeline_last_run_time(engine, store, pipeline, clock) -> None:
    name = pipeline(definition(processing_step("A")))
    assert store.get_pipeline(engine.pipeline_key(name)).last_run_at is None
    clock.advance(60)
    first = engine.start(StartRequest(pipeline_name=name)).execution
    assert store.get_pipeline(engine.pipeline_key(name)).last_run_at == first.created_at
    clock.advance(60)
    second = engine.start(StartRequest(pipeline_name=name)).execution
    recorded = store.get_pipeline(engine.pipeline_key(name))
    assert recorded.last_run_at == second.created_at > first.created_at
    # LastRunTime is not a modification of the pipeline
    assert recorded.modified_at == recorded.created_at
    # updating the pipeline later keeps it
    assert upsert_pipeline(store, name, definition(processing_step("B")), clock=clock).latest_version_id == 2
    assert store.get_pipeline(engine.pipeline_key(name)).last_run_at == second.created_at
