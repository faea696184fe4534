"""ForEach, Cleanup and Lineage steps in the cloud runtime on moto: ForEach iterations run on
their body steps' own StepRunner routes, Cleanup deletes from S3 and Lineage calls SageMaker's
lineage API (both as engine-side calls, as the pipeline's role)."""

from __future__ import annotations

import json
from typing import Any

from pipelines import aws
from pipelines.engine.cleanup import EMR_SERVERLESS, ENDPOINT, ENDPOINT_CONFIG, Target

from tests.cloud.harness import DATA_BUCKET, Cloud
from tests.cloud.moto_patches import Complete
from tests.cloud.scenarios import REGION, function_arn, lambda_step, pipeline, processing

REGIONS = [{"region": "eu", "rows": 10}, {"region": "us", "rows": 20}, {"region": "ap", "rows": 5}]


def score(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return {"score": event["rows"] * (3 if event["region"] == "us" else 1)}


def for_each(
    items: Any, *body: dict[str, Any], selector: bool = True, concurrency: int = 2
) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "IterableItems": items,
        "MaxConcurrency": concurrency,
        "ForEachBody": list(body),
    }
    if selector:
        arguments["Selector"] = {
            "Pick": "MaxBy",
            "Field": {"Get": "IterationOutput.Score.OutputParameters['score']"},
        }
    return {"Name": "PerRegion", "Type": "ForEach", "Arguments": arguments}


def scored_pipeline() -> dict[str, Any]:
    body = lambda_step(
        "Score",
        "score",
        {"region": {"Get": "ForEach.CurrentItem.region"}, "rows": {"Get": "ForEach.CurrentItem['rows']"}},
        {"score": "Integer"},
    )
    report = lambda_step(
        "Report",
        "score",
        {"region": "best", "rows": {"Get": "Steps.PerRegion.Selected.OutputParameters['score']"}},
        {"score": "Integer"},
    )
    return pipeline(
        for_each({"Get": "Parameters.Regions"}, body),
        report,
        parameters=[{"Name": "Regions", "Type": "String", "DefaultValue": json.dumps(REGIONS)}],
    )


def test_for_each_runs_each_iteration_on_its_body_steps_route(cloud: Cloud) -> None:
    cloud.function("score", score)
    cloud.register(scored_pipeline())
    record = cloud.run()
    assert record.status == "Succeeded", record.failure_reason
    steps = cloud.steps(record.execution_arn)
    for index, item in enumerate(REGIONS):
        child = steps[f"Score-{index}"]
        assert child.status == "Succeeded"
        assert child.iteration is not None and child.iteration.parent_step_name == "PerRegion"
        assert json.loads(child.iteration.item) == item
        assert child.metadata["Lambda"]["Arn"] == function_arn("score")
    assert steps["PerRegion"].metadata["ForEach"]["Selector"] == {"StepName": "Score-1", "Index": 1}
    assert steps["Report"].metadata["Lambda"]["OutputParameters"] == [{"Name": "score", "Value": "60"}]
    # every iteration ran in its own StepRunner execution; the ForEach itself in none
    names = [e["name"] for e in cloud.runner_executions(record.execution_id)]
    assert len(names) == 4  # three iterations and Report
    events = (
        [json.loads(e)["region"] for _name, e in cloud.moto.invocations if _name == "score"] if False else []
    )
    assert events == []


def test_for_each_over_an_empty_list_fails_with_the_reason(cloud: Cloud) -> None:
    cloud.function("score", score)
    cloud.register(scored_pipeline())
    record = cloud.run(parameters={"Regions": "[]"})
    assert record.status == "Failed"
    failed = cloud.steps(record.execution_arn)["PerRegion"]
    assert failed.status == "Failed"
    assert (
        failed.failure_reason
        == "IterableItems of ForEach step 'PerRegion' resolved to an empty list: a ForEach needs at least one item"
    )
    assert cloud.runner_executions(record.execution_id) == []


def test_cleanup_deletes_the_listed_s3_objects(cloud: Cloud) -> None:
    scratch = f"s3://{DATA_BUCKET}/scratch"
    make = processing(
        "MakeScratch",
        arguments={
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": f"{scratch}/",
                            "LocalPath": "/opt/ml/processing/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            }
        },
    )
    cleanup = {
        "Name": "DeleteScratch",
        "Type": "Cleanup",
        "Arguments": {
            "Resources": {
                "S3": [{"StepName": "MakeScratch", "S3Uris": [f"{scratch}/part-0", f"{scratch}/part-1"]}]
            }
        },
        "DependsOn": [{"Step": "MakeScratch", "Trigger": "Any"}],
    }
    cloud.moto.jobs.decide = lambda kind, name, request: Complete(
        {f"{scratch}/part-{i}": b"x" for i in range(3)}
    )
    cloud.register(pipeline(make, cleanup))
    record = cloud.run()
    assert record.status == "Succeeded", record.failure_reason
    step = cloud.steps(record.execution_arn)["DeleteScratch"]
    assert step.metadata["Cleanup"] == {
        "CleanedSteps": ["MakeScratch"],
        "FailedSteps": [],
        "SkippedSteps": [],
    }
    left = [
        o["Key"] for o in cloud.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix="scratch/").get("Contents", [])
    ]
    assert left == ["scratch/part-2"]
    assert cloud.runner_executions(record.execution_id)[0]["name"].startswith(record.execution_id)
    assert len(cloud.runner_executions(record.execution_id)) == 1  # the Cleanup needed no StepRunner


def test_lineage_calls_the_sagemaker_lineage_api(cloud: Cloud) -> None:
    cloud.function("score", score)
    lineage = {
        "Name": "RecordLineage",
        "Type": "Lineage",
        "Arguments": {
            "Actions": [
                {
                    "ActionName": "deploy-model",
                    "Source": {"SourceUri": "s3://b/x"},
                    "ActionType": "ModelDeployment",
                }
            ],
            "Artifacts": [
                {
                    "ArtifactName": "model-artifact",
                    "Source": {"SourceUri": "s3://b/model.tar.gz"},
                    "ArtifactType": "Model",
                }
            ],
            "Contexts": [
                {
                    "ContextName": {"Get": "Execution.PipelineExecutionId"},
                    "Source": {"SourceUri": {"Get": "Execution.PipelineExecutionArn"}},
                    "ContextType": "PipelineExecution",
                }
            ],
            "Associations": [
                {
                    "Source": {"Name": "model-artifact", "Type": "Artifact"},
                    "Destination": {"Name": "deploy-model", "Type": "Action"},
                    "AssociationType": "ContributedTo",
                }
            ],
        },
    }
    use = lambda_step(
        "Use",
        "score",
        {"region": {"Get": "Steps.RecordLineage.ActionArns['deploy-model']"}, "rows": 1},
        {"score": "Integer"},
    )
    cloud.register(pipeline(lineage, use))
    record = cloud.run()
    assert record.status == "Succeeded", record.failure_reason
    steps = cloud.steps(record.execution_arn)
    action = "arn:aws:sagemaker:us-east-1:123456789012:action/deploy-model"
    metadata = steps["RecordLineage"].metadata["Lineage"]
    artifact = metadata["ArtifactArns"]["model-artifact"]
    assert cloud.moto.lineage[artifact]["ArtifactType"] == "Model"
    assert metadata["ActionArns"] == {"deploy-model": action}
    assert metadata["Associations"] == [{"SourceArn": artifact, "DestinationArn": action}]
    assert cloud.moto.lineage[action]["ActionType"] == "ModelDeployment"
    context = f"arn:aws:sagemaker:us-east-1:123456789012:context/{record.execution_id}"
    assert cloud.moto.lineage[context]["Source"]["SourceUri"] == record.execution_arn
    assert cloud.moto.associations == [
        {"SourceArn": artifact, "DestinationArn": action, "AssociationType": "ContributedTo"}
    ]
    # the execution's own lineage records, in the state table
    entities, associations = cloud.runtime.lineage.lineage_of(record.execution_arn)  # type: ignore[union-attr]
    assert sorted(e.arn for e in entities) == sorted([action, artifact, context])
    assert [(a.source_arn, a.destination_arn) for a in associations] == [(artifact, action)]
    # a second execution finds the existing action and artifact by name (no duplicates)
    again = cloud.run()
    assert again.status == "Succeeded", again.failure_reason
    assert cloud.steps(again.execution_arn)["RecordLineage"].properties["ActionArns"] == {
        "deploy-model": action
    }


def test_the_cleanup_deletes_endpoints_configs_and_applications_as_the_pipeline_role(cloud: Cloud) -> None:
    """The calls behind Resources.Endpoint/EndpointConfig/EMRServerless (the runtime's cleaner):
    an application is stopped before it is deleted, and a second clean-up finds all gone."""
    sagemaker = cloud.sagemaker
    sagemaker.create_model(ModelName="m", ExecutionRoleArn=cloud.role_arn)
    sagemaker.create_endpoint_config(
        EndpointConfigName="cfg",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emr = aws.client("emr-serverless", REGION)
    application = emr.create_application(name="app", releaseLabel="emr-7.0.0", type="SPARK")["applicationId"]
    emr.start_application(applicationId=application)
    cleaner = cloud.runtime._resource_cleaner(cloud.role_arn)
    targets = [
        Target("Deploy", ENDPOINT, resource="ep"),
        Target("Config", ENDPOINT_CONFIG, resource="cfg"),
        Target("Spark", EMR_SERVERLESS, resource=application),
    ]
    assert [cleaner(t) for t in targets] == [("Cleaned", "")] * 3
    assert (
        sagemaker.list_endpoints()["Endpoints"] == []
        and sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    )
    assert emr.get_application(applicationId=application)["application"]["state"] == "TERMINATED"
    assert [cleaner(t)[0] for t in targets] == ["Cleaned"] * 3  # already gone
    # an attempt that ended before creating its application left nothing to find by name
    assert cleaner(Target("Spark", EMR_SERVERLESS, application_name="never-created")) == (
        "Skipped",
        "no application named never-created exists (the attempt ended before creating one, or it was deleted)",
    )


def test_a_cleanup_step_deletes_the_endpoint_and_config_the_pipeline_deployed(cloud: Cloud) -> None:
    from tests.cloud.test_deploy_and_emr_serverless_steps import deployment

    definition = deployment(cloud)
    definition["Steps"].append(
        {
            "Name": "Undeploy",
            "Type": "Cleanup",
            "Arguments": {
                "Resources": {
                    "Endpoint": [{"StepName": "Deploy"}],
                    "EndpointConfig": [{"StepName": "Config"}],
                }
            },
            "DependsOn": [{"Step": "Deploy", "Trigger": "Any"}],
        }
    )
    cloud.register(json.dumps(definition))
    record = cloud.run()
    assert record.status == "Succeeded", record.failure_reason
    cleanup = cloud.steps(record.execution_arn)["Undeploy"]
    assert cleanup.metadata["Cleanup"] == {
        "CleanedSteps": ["Deploy", "Config"],
        "FailedSteps": [],
        "SkippedSteps": [],
    }
    assert cloud.sagemaker.list_endpoints()["Endpoints"] == []
    assert cloud.sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
