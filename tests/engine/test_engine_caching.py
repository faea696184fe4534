"""Step caching: keys per step type after resolution, the ExpireAfter window, successes only,
newest wins, one pipeline's scope, runs in progress."""

from __future__ import annotations

import pytest
from pipelines.engine import RunStep, StartRequest
from pipelines.engine.caching import cache_key
from pipelines.runners.base import StepFailed, StepResult

from .fakes import definition, processing_step

CACHED = {"CacheConfig": {"Enabled": True, "ExpireAfter": "PT1H"}}
PARAMETERS = [
    {"Name": "Script", "Type": "String", "DefaultValue": "s3://code/a.py"},
    {"Name": "Out", "Type": "String", "DefaultValue": "x"},
]


def cached_step(name: str = "Prep", **extra) -> dict:
    return processing_step(
        name,
        arguments={
            "AppSpecification": {
                "ImageUri": "img",
                "ContainerEntrypoint": ["python3", {"Get": "Parameters.Script"}],
            },
            # not a cache-key attribute of Processing: changing it must not defeat the cache
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "o",
                        "S3Output": {
                            "S3Uri": {"Get": "Parameters.Out"},
                            "LocalPath": "/opt/ml/processing/o",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        **CACHED,
        **extra,
    )


def run_once(engine, name: str, properties: dict | None = None, **start):
    outcome = engine.start(StartRequest(pipeline_name=name, **start))
    runs = [a for a in outcome.actions if isinstance(a, RunStep)]
    for action in runs:
        engine.step_succeeded(
            action.execution_id,
            action.step_name,
            action.attempt,
            StepResult(properties=properties or {"P": 1}),
        )
    return outcome, engine.state(outcome.execution.execution_id)


def test_a_matching_success_is_reused_with_its_source(engine, pipeline) -> None:
    name = pipeline(definition(cached_step(), parameters=PARAMETERS))
    first, first_state = run_once(engine, name, {"ProcessingJobName": "job-1"})
    second, state = run_once(engine, name, parameters={"Out": "changed-output"})
    assert [a for a in second.actions if isinstance(a, RunStep)] == []
    record = state.steps["Prep"]
    assert record.status == "Succeeded"
    assert record.cache_hit_source_arn == first.execution.execution_arn
    assert record.properties == {"ProcessingJobName": "job-1"}
    assert state.execution.status == "Succeeded"
    assert first_state.steps["Prep"].cache_hit_source_arn is None


def test_a_changed_key_attribute_misses(engine, pipeline) -> None:
    name = pipeline(definition(cached_step(), parameters=PARAMETERS))
    run_once(engine, name)
    second, _ = run_once(engine, name, parameters={"Script": "s3://code/b.py"})
    assert [a.step_name for a in second.actions if isinstance(a, RunStep)] == ["Prep"]


def test_entries_expire(engine, pipeline, clock) -> None:
    name = pipeline(definition(cached_step(), parameters=PARAMETERS))
    run_once(engine, name)
    clock.advance(3599)
    assert run_once(engine, name)[1].steps["Prep"].cache_hit_source_arn is not None
    clock.advance(2)  # a reuse is not a new run: the window still counts from the original success
    later, _ = run_once(engine, name)
    assert [a.step_name for a in later.actions] == ["Prep"]


def test_the_newest_success_wins_and_failures_are_never_reused(engine, pipeline, clock) -> None:
    name = pipeline(definition(cached_step(), parameters=PARAMETERS))
    older, _ = run_once(engine, name, {"Run": "older"})
    clock.advance(10)
    # a second execution that runs the step itself (different key), then a matching one that fails
    newer = engine.start(StartRequest(pipeline_name=name, parameters={"Script": "s3://code/other.py"}))
    engine.step_succeeded(newer.execution.execution_id, "Prep", 1, StepResult(properties={"Run": "other"}))
    clock.advance(10)
    failed = engine.start(StartRequest(pipeline_name=name, parameters={"Script": "s3://code/c.py"}))
    engine.step_failed(failed.execution.execution_id, "Prep", 1, StepFailed("bad"))
    again = engine.start(StartRequest(pipeline_name=name, parameters={"Script": "s3://code/c.py"}))
    assert [a.step_name for a in again.actions] == ["Prep"]  # the failure was not cached
    engine.step_succeeded(again.execution.execution_id, "Prep", 1, StepResult(properties={"Run": "newest"}))
    clock.advance(10)
    _, reused = run_once(engine, name, parameters={"Script": "s3://code/c.py"})
    assert reused.steps["Prep"].properties == {"Run": "newest"}
    assert older.execution.execution_id != again.execution.execution_id


def test_cache_is_scoped_to_one_pipeline(engine, pipeline) -> None:
    text = definition(cached_step(), parameters=PARAMETERS)
    run_once(engine, pipeline(text, name="one"))
    other, _ = run_once(engine, pipeline(text, name="two"))
    assert [a.step_name for a in other.actions] == ["Prep"]


def test_without_cache_config_nothing_is_reused(engine, pipeline) -> None:
    name = pipeline(definition(processing_step("Prep")))
    run_once(engine, name)
    second, _ = run_once(engine, name)
    assert [a.step_name for a in second.actions] == ["Prep"]


def test_a_matching_run_in_progress_does_not_stop_a_second_run(engine, pipeline, clock) -> None:
    name = pipeline(definition(cached_step(), parameters=PARAMETERS))
    first = engine.start(StartRequest(pipeline_name=name))
    second = engine.start(StartRequest(pipeline_name=name))
    assert [a.step_name for a in first.actions] == [a.step_name for a in second.actions] == ["Prep"]
    engine.step_succeeded(second.execution.execution_id, "Prep", 1, StepResult(properties={"Run": 2}))
    clock.advance(1)
    engine.step_succeeded(first.execution.execution_id, "Prep", 1, StepResult(properties={"Run": 1}))
    _, third = run_once(engine, name)
    assert third.steps["Prep"].cache_hit_source_arn == first.execution.execution_arn  # both updated it


@pytest.mark.parametrize(
    ("step_type", "arguments", "fields", "changed", "hit"),
    [
        (
            "Training",
            {"HyperParameters": {"a": "1"}, "OutputDataConfig": {"S3OutputPath": "x"}},
            {},
            {"OutputDataConfig": {"S3OutputPath": "y"}},
            True,
        ),
        ("Training", {"HyperParameters": {"a": "1"}}, {}, {"HyperParameters": {"a": "2"}}, False),
        (
            "Transform",
            {"ModelName": "m", "TransformOutput": {"S3OutputPath": "x"}},
            {},
            {"TransformOutput": {"S3OutputPath": "y"}},
            True,
        ),
        ("Transform", {"ModelName": "m"}, {}, {"ModelName": "n"}, False),
        (
            "Tuning",
            {
                "TrainingJobDefinition": {
                    "StaticHyperParameters": {"a": "1"},
                    "ResourceConfig": {"InstanceCount": 1},
                }
            },
            {},
            {
                "TrainingJobDefinition": {
                    "StaticHyperParameters": {"a": "1"},
                    "ResourceConfig": {"InstanceCount": 2},
                }
            },
            True,
        ),
        (
            "AutoML",
            {"AutoMLJobConfig": {"Mode": "ENSEMBLING", "SecurityConfig": {"VolumeKmsKeyId": "k"}}},
            {},
            {"AutoMLJobConfig": {"Mode": "ENSEMBLING"}},
            True,
        ),
        ("AutoML", {"ProblemType": "Regression"}, {}, {"ProblemType": "BinaryClassification"}, False),
        (
            "EMR",
            {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "a"}}},
            {},
            {"ClusterId": "j-2"},
            False,
        ),
        (
            "QualityCheck",
            {"AppSpecification": {"ImageUri": "i"}},
            {"SkipCheck": False, "CheckType": "DATA_QUALITY"},
            {},
            True,
        ),
    ],
)
def test_cache_key_attributes_per_type(step_type, arguments, fields, changed, hit) -> None:
    assert (
        cache_key(step_type, arguments, fields) == cache_key(step_type, {**arguments, **changed}, fields)
    ) is hit


def test_check_steps_key_on_their_step_level_fields() -> None:
    args = {"AppSpecification": {"ImageUri": "i"}}
    base = {"CheckType": "DATA_QUALITY", "SkipCheck": False, "SuppliedBaselineStatistics": "s3://a"}
    assert cache_key("QualityCheck", args, base) != cache_key(
        "QualityCheck", args, {**base, "SuppliedBaselineStatistics": "s3://b"}
    )
    assert cache_key("ClarifyCheck", args, base) == cache_key(
        "ClarifyCheck", args, {**base, "SuppliedBaselineStatistics": "s3://b"}
    )
