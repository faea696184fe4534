"""ForEach steps (v3 SDK ``ForEachStep``) in the engine, on both stores, with the SDK's own
definition (tests/fixtures/sdk_v3/for_each.json): iterations as ``<Body>-<i>`` steps with
``ForEach.CurrentItem`` bound, MaxConcurrency, the Selector, per-iteration caching, retry
policies, RetryPipelineExecution, stop and selective execution, and bad IterableItems."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import Config
from pipelines.engine import Engine, InvalidSelection, RunStep, StartRequest
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepRequest
from pipelines.runners.registry import RunnerRegistry
from pipelines.store.base import SelectiveExecutionConfig

from .fakes import Fail, ScriptedRunner, SyncDriver

SDK_V3 = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
REGIONS = [{"region": "eu", "rows": 10}, {"region": "us", "rows": 20}, {"region": "ap", "rows": 5}]


def for_each_definition(**body_envelope: Any) -> dict[str, Any]:
    """The SDK's ForEach sample; ``body_envelope`` is merged into its ProcessRegion body step."""
    definition = json.loads((SDK_V3 / "for_each.json").read_text())
    body = definition["Steps"][0]["Arguments"]["ForEachBody"]
    body[0].update(body_envelope)
    return definition


def score(request: StepRequest) -> dict[str, Any]:
    """ScoreRegion: rows x 10, plus 1 for "us" (so "us" wins MaxBy); ReportBest echoes nothing."""
    arguments = request.arguments
    if "region" not in arguments:
        return {"OutputParameters": []}
    rows = next(r["rows"] for r in REGIONS if r["region"] == arguments["region"])
    return {"OutputParameters": [{"Name": "score", "Value": rows * 10 + (arguments["region"] == "us")}]}


@pytest.fixture
def lambdas() -> ScriptedRunner:
    return ScriptedRunner("Lambda", properties=score)


@pytest.fixture
def driver(engine: Engine, registry: RunnerRegistry, config: Config, objects: LocalObjectStore) -> SyncDriver:
    return SyncDriver(engine, registry, RunContext(config=config, objects=objects))


def start(engine: Engine, name: str, regions: Any = REGIONS, **fields: Any):  # type: ignore[no-untyped-def]
    value = regions if isinstance(regions, str) else json.dumps(regions)
    return engine.start(StartRequest(pipeline_name=name, parameters={"Regions": value}, **fields))


def test_every_item_runs_the_body_with_its_item_and_the_selector_picks(
    engine, driver, pipeline, jobs, lambdas
) -> None:
    name = pipeline(json.dumps(for_each_definition()))
    state = driver.run(start(engine, name))
    assert state.execution.status == "Succeeded", state.execution.failure_reason
    steps = state.steps
    for index, item in enumerate(REGIONS):
        for body in ("ProcessRegion", "ScoreRegion"):
            record = steps[f"{body}-{index}"]
            assert record.status == "Succeeded"
            assert record.iteration is not None
            assert (record.iteration.parent_step_name, record.iteration.index) == ("PerRegion", index)
            assert json.loads(record.iteration.item) == item
        process = next(c for c in jobs.calls if c.step_name == f"ProcessRegion-{index}")
        assert process.arguments["AppSpecification"]["ContainerArguments"] == [
            "--region",
            item["region"],
            "--rows",
            item["rows"],
        ]
        uri = process.arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        assert uri == f"s3://sdk-fixtures-bucket/regions/{state.execution.execution_id}/{item['region']}"
        scored = next(c for c in lambdas.calls if c.step_name == f"ScoreRegion-{index}")
        assert scored.arguments == {"region": item["region"], "data": uri}  # its own iteration's output
    per_region = steps["PerRegion"]
    assert per_region.metadata["ForEach"] == {
        "Status": "Succeeded",
        "InputItemCount": 3,
        "TotalStepCount": 6,
        "SucceededStepCount": 6,
        "FailedStepCount": 0,
        "StoppedStepCount": 0,
        "Selector": {"StepName": "ScoreRegion-1", "Index": 1},
    }
    report = next(c for c in lambdas.calls if c.step_name == "ReportBest")
    assert report.arguments == {
        "best_score": 201,
        "first_score": 100,
        "items": 3,
        "failed": 0,
        "status": "Succeeded",
    }
    # the literal list: each element (one a parameter) is an item, one at a time
    echoed = [
        c.arguments["AppSpecification"]["ContainerArguments"]
        for c in jobs.calls
        if c.step_name.startswith("EchoItem-")
    ]
    assert echoed == [["--item", "a"], ["--item", 1], ["--item", 2.5], ["--item", True], ["--item", "ap"]]
    assert steps["PerLiteral"].status == "Succeeded"


def test_max_concurrency_and_parallelism_cap_the_iterations_started(engine, pipeline) -> None:
    name = pipeline(json.dumps(for_each_definition()))
    outcome = start(engine, name)
    started = sorted(a.step_name for a in outcome.actions if isinstance(a, RunStep))
    # PerRegion: MaxConcurrency 2 (ScoreRegion waits for its ProcessRegion); PerLiteral: 1
    assert started == ["EchoItem-0", "ProcessRegion-0", "ProcessRegion-1"]
    limited = pipeline(json.dumps(for_each_definition()), "limited", parallelism=1)
    outcome = start(engine, limited)
    assert [a.step_name for a in outcome.actions if isinstance(a, RunStep)] == ["ProcessRegion-0"]
    assert outcome.steps["PerRegion"].status == "Executing"


@pytest.mark.parametrize(
    ("regions", "reason"),
    [
        ("not json", "must resolve to a JSON list; got the string 'not json', which is not JSON"),
        ('{"region": "eu"}', "must resolve to a JSON list; got an object"),
        ("[]", "resolved to an empty list"),
    ],
)
def test_bad_iterable_items_fail_the_for_each_with_the_reason(
    engine, driver, pipeline, jobs, regions, reason
) -> None:
    name = pipeline(json.dumps(for_each_definition()))
    state = driver.run(start(engine, name, regions))
    failed = state.steps["PerRegion"]
    assert failed.status == "Failed"
    assert (
        "IterableItems of ForEach step 'PerRegion'" in failed.failure_reason
        and reason in failed.failure_reason
    )
    assert not any(n.startswith(("ProcessRegion", "ScoreRegion")) for n in state.steps)
    assert "ReportBest" not in state.steps
    assert state.execution.status == "Failed"


def test_a_failed_iteration_fails_the_for_each_and_a_retry_reruns_only_it(
    engine, driver, pipeline, jobs, lambdas
) -> None:
    lambdas.scripts["ScoreRegion-1"] = [Fail(reason="scoring broke")]
    name = pipeline(json.dumps(for_each_definition()))
    state = driver.run(start(engine, name))
    assert state.steps["ScoreRegion-1"].status == "Failed"
    per_region = state.steps["PerRegion"]
    assert per_region.status == "Failed"
    assert per_region.failure_reason == "ForEach iteration steps failed: ScoreRegion-1"
    assert per_region.metadata["ForEach"]["FailedStepCount"] == 1
    assert state.execution.status == "Failed"
    assert "ReportBest" not in state.steps

    state = driver.run(engine.retry(state.execution.execution_arn))
    assert state.execution.status == "Succeeded", state.execution.failure_reason
    assert lambdas.runs_of("ScoreRegion-1") == 2
    assert lambdas.runs_of("ScoreRegion-0") == 1 and jobs.runs_of("ProcessRegion-1") == 1
    assert state.steps["PerRegion"].metadata["ForEach"]["SucceededStepCount"] == 6


def test_retry_policies_apply_per_iteration(engine, driver, pipeline, jobs) -> None:
    jobs.scripts["ProcessRegion-2"] = [Fail(error_code="CapacityError", reason="no capacity")]
    policy = {"ExceptionType": ["SageMaker.CAPACITY_ERROR"], "MaxAttempts": 2, "IntervalSeconds": 1}
    name = pipeline(json.dumps(for_each_definition(RetryPolicies=[policy])))
    state = driver.run(start(engine, name))
    assert state.execution.status == "Succeeded"
    assert state.steps["ProcessRegion-2"].attempt == 2
    assert state.steps["ProcessRegion-0"].attempt == 1


def test_caching_applies_per_iteration(engine, driver, pipeline, jobs) -> None:
    """Processing's cache key is its AppSpecification, Environment and inputs: the item "us"
    hits the cache whatever its index, a new item runs."""
    name = pipeline(json.dumps(for_each_definition(CacheConfig={"Enabled": True, "ExpireAfter": "P1D"})))
    first = driver.run(start(engine, name, REGIONS[:2]))
    assert first.execution.status == "Succeeded"
    second = driver.run(start(engine, name, [REGIONS[1], REGIONS[2]]))
    assert second.execution.status == "Succeeded"
    hit = second.steps["ProcessRegion-0"]
    assert hit.cache_hit_source_arn == first.execution.execution_arn and hit.attempt == 0
    assert hit.iteration is not None and json.loads(hit.iteration.item) == REGIONS[1]
    assert second.steps["ProcessRegion-1"].cache_hit_source_arn is None
    assert jobs.runs_of("ProcessRegion-0") == 1 and jobs.runs_of("ProcessRegion-1") == 2


def test_a_stop_stops_the_iterations_and_the_for_each(engine, driver, pipeline, jobs) -> None:
    name = pipeline(json.dumps(for_each_definition()))
    outcome = driver.feed(start(engine, name))
    stopped = engine.stop(outcome.execution.execution_arn)
    state = engine.state(outcome.execution.execution_id)
    assert state.execution.status == "Stopped", stopped
    assert state.steps["PerRegion"].status == "Stopped"
    assert state.steps["PerRegion"].metadata["ForEach"]["Status"] == "Stopped"
    assert {state.steps[n].status for n in ("ProcessRegion-0", "ProcessRegion-1")} == {"Stopped"}
    assert "ProcessRegion-2" not in state.steps
    assert jobs.calls == []


def test_selective_execution_reuses_a_for_each_and_its_iterations(engine, driver, pipeline, lambdas) -> None:
    name = pipeline(json.dumps(for_each_definition()))
    reference = driver.run(start(engine, name))
    selective = SelectiveExecutionConfig(
        source_execution_arn=reference.execution.execution_arn, selected_steps=["ReportBest"]
    )
    state = driver.run(start(engine, name, selective=selective))
    assert state.execution.status == "Succeeded"
    assert state.steps["PerRegion"].selective_source_arn == reference.execution.execution_arn
    assert state.steps["ScoreRegion-1"].selective_source_arn == reference.execution.execution_arn
    assert lambdas.runs_of("ReportBest") == 2 and lambdas.runs_of("ScoreRegion-1") == 1
    with pytest.raises(InvalidSelection, match="runs only as an iteration of ForEach step 'PerRegion'"):
        start(engine, name, selective=SelectiveExecutionConfig(selected_steps=["ScoreRegion"]))
