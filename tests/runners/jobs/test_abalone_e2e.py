"""examples/abalone end to end through the embedded runtime: every job step runs as a local
process, a rerun hits the cache, and a strict threshold takes the Fail branch."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

import pytest
from pipelines.config import Config
from pipelines.engine import StartRequest
from pipelines.objects import LocalObjectStore
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store.base import ListQuery, StepRecord

from tests.project_files import ABALONE_GOOD_MODEL_STEPS, EXAMPLES

EXAMPLE = EXAMPLES / "abalone"
JOB_STEPS = ("PreprocessAbaloneData", "TrainAbaloneModel", "EvaluateAbaloneModel")


def _prepare_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_abalone_prepare", EXAMPLE / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steps(runtime: EmbeddedRuntime, execution_id: str) -> dict[str, StepRecord]:
    page = runtime.store.list_steps(execution_id, ListQuery(limit=100))
    return {record.step_name: record for record in page.items}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedRuntime:
    root = tmp_path_factory.mktemp("abalone")
    config = Config(
        state_dir=root / "state", object_root=root / "objects", account_id="123456789012", base_dir=EXAMPLE
    )
    _prepare_module().prepare(config)
    return EmbeddedRuntime(config, poll_interval=0.05)


@pytest.fixture(scope="module")
def first_run(runtime: EmbeddedRuntime) -> str:
    record = runtime.run(
        (EXAMPLE / "pipeline.json").read_text(), StartRequest(pipeline_name="AbalonePipeline")
    )
    assert record.status == "Succeeded", record.failure_reason
    return record.execution_id


def test_the_example_runs_every_job_step_locally(runtime: EmbeddedRuntime, first_run: str) -> None:
    steps = _steps(runtime, first_run)
    assert {name: s.status for name, s in steps.items()} == {
        name: "Succeeded" for name in ABALONE_GOOD_MODEL_STEPS
    }
    train = steps["TrainAbaloneModel"].properties or {}
    metrics = {m["MetricName"]: m["Value"] for m in train["FinalMetricDataList"]}
    assert (
        set(metrics) == {"train:mse", "validation:mse"}
        and 0 < metrics["train:mse"] < metrics["validation:mse"]
    )
    assert steps["TrainAbaloneModel"].metadata == {"TrainingJob": {"Arn": train["TrainingJobArn"]}}
    report = steps["EvaluateAbaloneModel"].property_files["EvaluationReport"]
    assert 1000 < report["regression_metrics"]["mse"]["value"] < 4000

    objects = LocalObjectStore(runtime.config.object_root)
    predictions = objects.get("s3://abalone-example/transform/batch.csv.out").decode().splitlines()
    assert len(predictions) == 66  # the test split: 15 % of 442 rows
    assert all(25 < float(p) < 350 for p in predictions)  # the data set's target range


def test_a_rerun_reuses_the_cached_jobs(runtime: EmbeddedRuntime, first_run: str) -> None:
    record = runtime.run(
        (EXAMPLE / "pipeline.json").read_text(), StartRequest(pipeline_name="AbalonePipeline")
    )
    assert record.status == "Succeeded", record.failure_reason
    steps = _steps(runtime, record.execution_id)
    for name in JOB_STEPS:
        assert steps[name].cache_hit_source_arn is not None and first_run in steps[name].cache_hit_source_arn
        assert steps[name].attempt == 0


def test_a_strict_threshold_takes_the_fail_branch(runtime: EmbeddedRuntime, first_run: str) -> None:
    record = runtime.run(
        (EXAMPLE / "pipeline.json").read_text(),
        StartRequest(pipeline_name="AbalonePipeline", parameters={"MseThreshold": "100"}),
    )
    assert record.status == "Failed"
    assert (
        record.failure_reason == "Step failure: One or multiple steps failed. Failed steps: AbaloneMSEFail."
    )
    steps = _steps(runtime, record.execution_id)
    assert steps["CheckMSEAbaloneEvaluation"].properties == {"Outcome": False}
    assert "TransformAbaloneBatch" not in steps and steps["AbaloneMSEFail"].status == "Failed"
    assert steps["AbaloneMSEFail"].failure_reason == "Execution failed due to MSE > 100.0"


def test_the_committed_definition_is_what_the_sdk_generates() -> None:
    definition = json.loads((EXAMPLE / "pipeline.json").read_text())
    names = [s["Name"] for s in definition["Steps"]]
    assert names == [*JOB_STEPS, "CheckMSEAbaloneEvaluation"]
    spec = importlib.util.spec_from_file_location("_abalone_generate", EXAMPLE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(module.generate()) == definition
