"""Cleanup and Lineage steps (v3 SDK ``CleanupStep``, ``LineageStep``) in the engine with the
embedded runners, on both stores, with the SDK's own definitions (tests/fixtures/sdk_v3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import Config
from pipelines.engine import Engine, StartRequest
from pipelines.lineage.sqlite import SqliteLineageStore
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepRequest
from pipelines.runners.cleanup import CleanupRunner
from pipelines.runners.lineage import LineageRunner
from pipelines.runners.registry import RunnerRegistry

from .fakes import Fail, ScriptedRunner, SyncDriver, processing_properties

SDK_V3 = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
BUCKET = "s3://sdk-fixtures-bucket"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SDK_V3 / f"{name}.json").read_text())


@pytest.fixture
def objects(config: Config) -> LocalObjectStore:
    return LocalObjectStore(config.object_root)


@pytest.fixture
def trainings(objects: LocalObjectStore) -> ScriptedRunner:
    """Training writes its model under <S3OutputPath>/<job>/output/, as SageMaker does."""

    def trained(request: StepRequest) -> dict[str, Any]:
        path = request.arguments["OutputDataConfig"]["S3OutputPath"]
        objects.put(f"{path}/{request.job_name}/output/model.tar.gz", b"model")
        return {
            "TrainingJobName": request.job_name,
            "OutputDataConfig": request.arguments["OutputDataConfig"],
            "ModelArtifacts": {"S3ModelArtifacts": f"{path}/{request.job_name}/output/model.tar.gz"},
        }

    return ScriptedRunner("Training", properties=trained)


@pytest.fixture
def scratch_jobs(objects: LocalObjectStore) -> ScriptedRunner:
    """MakeScratch writes three parts into its output; the others write nothing."""

    def processed(request: StepRequest) -> dict[str, Any]:
        if request.step_name == "MakeScratch":
            for part in range(3):
                objects.put(f"{BUCKET}/scratch/part-{part}", b"x")
        return processing_properties(request)

    return ScriptedRunner("Processing", properties=processed)


@pytest.fixture
def deploys() -> list[ScriptedRunner]:
    return [
        ScriptedRunner(
            "EndpointConfig",
            properties=lambda r: {"EndpointConfigName": r.arguments["EndpointConfigName"]},
        ),
        ScriptedRunner(
            "Endpoint",
            properties=lambda r: {
                "EndpointName": r.arguments["EndpointName"],
                "EndpointArn": f"arn:aws:sagemaker:us-east-1:000000000000:endpoint/{r.arguments['EndpointName']}",
            },
        ),
    ]


@pytest.fixture
def registry(scratch_jobs, lambdas, trainings, deploys) -> RunnerRegistry:
    return RunnerRegistry([scratch_jobs, lambdas, trainings, *deploys, CleanupRunner(), LineageRunner()])


@pytest.fixture
def driver(engine: Engine, registry: RunnerRegistry, config: Config, objects: LocalObjectStore) -> SyncDriver:
    return SyncDriver(engine, registry, RunContext(config=config, objects=objects))


def test_cleanup_deletes_listed_objects_and_a_training_jobs_outputs(
    engine, driver, pipeline, objects
) -> None:
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(sample("cleanup"))))))
    assert state.execution.status == "Succeeded", state.execution.failure_reason
    cleanup = state.steps["DeleteScratch"]
    assert cleanup.status == "Succeeded"
    assert cleanup.metadata["Cleanup"] == {
        "CleanedSteps": ["MakeScratch", "TrainModel"],
        "FailedSteps": [],
        "SkippedSteps": [],
    }
    assert objects.list(f"{BUCKET}/scratch/") == [f"{BUCKET}/scratch/part-2"]  # only the listed parts
    assert objects.list(f"{BUCKET}/train-output/") == []  # the training job's prefix is gone


def test_cleanup_runs_on_an_upstream_failure_when_its_run_condition_says_any(
    engine, driver, pipeline, scratch_jobs, objects
) -> None:
    scratch_jobs.scripts["UseScratch"] = [Fail(reason="consumer broke")]
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(sample("cleanup"))))))
    assert state.steps["UseScratch"].status == "Failed"
    assert state.steps["DeleteScratch"].status == "Succeeded"
    assert state.execution.status == "CompletedWithFailures"
    assert objects.list(f"{BUCKET}/scratch/") == [f"{BUCKET}/scratch/part-2"]


def test_cleanup_naming_a_step_that_did_not_run_fails_with_the_reason(
    engine, driver, pipeline, objects
) -> None:
    definition = sample("cleanup")
    # a hand-written Cleanup that names a step of a branch not taken, without depending on it
    definition["Steps"].append(
        {
            "Name": "Gate",
            "Type": "Condition",
            "Arguments": {
                "Conditions": [{"Type": "Equals", "LeftValue": 1, "RightValue": 2}],
                "IfSteps": [dict(sample("cleanup")["Steps"][0], Name="NeverRuns")],
                "ElseSteps": [],
            },
        }
    )
    definition["Steps"].append(
        {
            "Name": "CleanNever",
            "Type": "Cleanup",
            "Arguments": {"Resources": {"S3": [{"StepName": "NeverRuns"}]}},
            "DependsOn": ["Gate"],
        }
    )
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(definition)))))
    failed = state.steps["CleanNever"]
    assert failed.status == "Failed"
    assert failed.failure_reason == (
        "Cleanup step 'CleanNever' names step 'NeverRuns', which did not run in this execution, "
        "so it has nothing to clean up"
    )
    assert state.execution.status == "Failed"


def test_cleanup_refuses_uris_outside_the_sources_outputs(engine, driver, pipeline, objects) -> None:
    definition = sample("cleanup")
    cleanup = definition["Steps"][3]
    cleanup["Arguments"]["Resources"]["S3"][0]["S3Uris"] = [f"{BUCKET}/final/keep-me"]
    objects.put(f"{BUCKET}/final/keep-me", b"x")
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(definition)))))
    failed = state.steps["DeleteScratch"]
    assert failed.status == "Failed"
    assert "not under an output location of step 'MakeScratch'" in failed.failure_reason
    assert failed.metadata["Cleanup"]["FailedSteps"][0]["StepName"] == "MakeScratch"
    assert failed.metadata["Cleanup"]["FailedSteps"][0]["ErrorCode"] == "ClientError"
    assert failed.metadata["Cleanup"]["CleanedSteps"] == ["TrainModel"]
    assert objects.exists(f"{BUCKET}/final/keep-me")


def test_cleanup_of_a_resource_kind_the_source_step_does_not_make_fails(
    engine, driver, pipeline, objects
) -> None:
    definition = sample("cleanup")
    definition["Steps"][3]["Arguments"]["Resources"]["Endpoint"] = [{"StepName": "UseScratch"}]
    definition["Steps"][3]["DependsOn"].append("UseScratch")
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(definition)))))
    failed = state.steps["DeleteScratch"]
    assert failed.status == "Failed"
    assert "Resources.Endpoint names step 'UseScratch', a Processing step" in failed.failure_reason
    assert failed.metadata["Cleanup"]["CleanedSteps"] == ["MakeScratch", "TrainModel"]  # the rest is done


def test_lineage_records_entities_then_associations(engine, driver, pipeline, lambdas, config) -> None:
    definition = sample("deployment")
    definition["Steps"].append(
        {
            "Name": "UseArn",
            "Type": "Lambda",
            "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:f",
            "Arguments": {"action": {"Get": "Steps.RecordLineage.ActionArns['deploy-abalone']"}},
        }
    )
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(definition)))))
    assert state.execution.status == "Succeeded", state.execution.failure_reason
    action = "arn:aws:sagemaker:us-east-1:000000000000:action/deploy-abalone"
    artifact = "arn:aws:sagemaker:us-east-1:000000000000:artifact/abalone-model-artifact"
    assert state.steps["RecordLineage"].metadata["Lineage"] == {
        "ActionArns": {"deploy-abalone": action},
        "ArtifactArns": {"abalone-model-artifact": artifact},
        "Associations": [{"SourceArn": artifact, "DestinationArn": action}],
    }
    assert next(c for c in lambdas.calls if c.step_name == "UseArn").arguments == {"action": action}
    entities, associations = SqliteLineageStore(config.database_path).lineage_of(
        state.execution.execution_arn
    )
    assert [(e.kind, e.name, e.entity_type) for e in entities] == [
        ("Action", "deploy-abalone", "ModelDeployment"),
        ("Artifact", "abalone-model-artifact", "Model"),
    ]
    # the action's SourceUri is the Endpoint step's EndpointArn, resolved
    assert entities[0].source_uri == "arn:aws:sagemaker:us-east-1:000000000000:endpoint/abalone-endpoint"
    assert [(a.source_arn, a.destination_arn, a.association_type) for a in associations] == [
        (artifact, action, "ContributedTo")
    ]
    # a second execution reuses the entities of the same names and lists them as its own
    again = driver.run(engine.start(StartRequest(pipeline_name="p")))
    assert again.steps["RecordLineage"].properties["ActionArns"] == {"deploy-abalone": action}
    assert len(SqliteLineageStore(config.database_path).lineage_of(again.execution.execution_arn)[0]) == 2


def test_lineage_with_an_unknown_sibling_creates_nothing(engine, driver, pipeline, config) -> None:
    definition = sample("deployment")
    lineage = definition["Steps"][2]
    lineage["Arguments"]["Associations"][0]["Destination"] = {"Name": "nope", "Type": "Action"}
    state = driver.run(engine.start(StartRequest(pipeline_name=pipeline(json.dumps(definition)))))
    failed = state.steps["RecordLineage"]
    assert failed.status == "Failed"
    assert "Associations[0].Destination: Action 'nope' is not created by this step" in failed.failure_reason
    assert SqliteLineageStore(config.database_path).lineage_of(state.execution.execution_arn) == ([], [])
