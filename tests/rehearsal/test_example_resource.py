"""``-c example=true``: the ``Pipeline`` construct's custom resource (Custom::SageMakerPipeline),
sent CloudFormation's Create, Update and Delete requests through the CDK Provider framework as
a deploy, a re-deploy with an edited definition and a stack deletion would send them. The
provider function calls the deployed API (SigV4 for execute-api, with its own role)."""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.project_files import sklearn_image_registries
from tests.rehearsal.harness import Rehearsal

LOGICAL_PREFIX = "ExamplePipeline"


def example_logical_id(rehearsal: Rehearsal) -> str:
    (logical,) = [
        logical
        for logical in rehearsal.deployment.logical_ids("Custom::SageMakerPipeline")
        if logical.startswith(LOGICAL_PREFIX)
    ]
    return logical


def upload_rule(rehearsal: Rehearsal) -> str:
    (rule,) = [
        rehearsal.deployment.created[logical].physical_id
        for logical in rehearsal.deployment.logical_ids("AWS::Events::Rule")
        if logical.startswith(LOGICAL_PREFIX)
    ]
    return rule


def test_the_example_pipeline_is_created_updated_and_deleted(rehearsal: Rehearsal) -> None:
    deployment = rehearsal.deployment
    logical = example_logical_id(rehearsal)
    sagemaker = rehearsal.sagemaker()
    created = deployment.created[logical]
    spec = json.loads(deployment.custom_properties[logical]["Pipeline"])
    name = spec["PipelineName"]

    # Create (during the deploy): the pipeline, its disabled schedule, the stack outputs.
    described = sagemaker.describe_pipeline(PipelineName=name)
    assert described["PipelineArn"] == created.physical_id == rehearsal.output("ExamplePipelineArn")
    assert created.attributes["PipelineVersionId"] == "1"
    assert json.loads(described["PipelineDefinition"]) == json.loads(spec["PipelineDefinition"])
    assert described["PipelineDescription"] == spec["PipelineDescription"]
    group = rehearsal.output("ScheduleGroup")
    (schedule_spec,) = spec["Schedules"]
    schedule = rehearsal.aws("scheduler").get_schedule(Name=schedule_spec["Name"], GroupName=group)
    assert schedule["State"] == "DISABLED" and schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"

    # Update: a re-deploy with an edited definition and description publishes a new version.
    definition = json.loads(spec["PipelineDefinition"])
    definition["Parameters"][0]["DefaultValue"] = "data/validation-v2.csv"
    edited = {**spec, "PipelineDefinition": json.dumps(definition), "PipelineDescription": "edited"}
    properties = {**deployment.custom_properties[logical], "Pipeline": json.dumps(edited, sort_keys=True)}
    updated = deployment.update_custom_resource(logical, properties)
    assert updated.physical_id == created.physical_id
    assert updated.attributes["PipelineVersionId"] == "2"
    described = sagemaker.describe_pipeline(PipelineName=name)
    assert described["PipelineDescription"] == "edited"
    assert (
        json.loads(described["PipelineDefinition"])["Parameters"][0]["DefaultValue"]
        == "data/validation-v2.csv"
    )

    # The stack's pipeline is the stack's: the API refuses to delete it behind CloudFormation.
    with pytest.raises(ClientError) as refused:
        sagemaker.delete_pipeline(PipelineName=name, ClientRequestToken="by-hand-" + "0" * 32)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert (
        "managed by CloudFormation stack arn:aws:cloudformation:"
        in refused.value.response["Error"]["Message"]
    )

    # Delete: the pipeline and its schedule are gone.
    deployment.delete_custom_resource(logical)
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_pipeline(PipelineName=name)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    assert (
        rehearsal.aws("scheduler").list_schedules(GroupName=group, NamePrefix=schedule_spec["Name"])[
            "Schedules"
        ]
        == []
    )

    # The upload rule is the stack's (CloudFormation deletes it with the stack): deleting the
    # pipeline left its target alone, so the stack did not drift. A later deploy creates the
    # pipeline again, as the stack defines it (test_triggers uses them).
    (target,) = rehearsal.aws("events").list_targets_by_rule(Rule=upload_rule(rehearsal))["Targets"]
    assert target["Arn"] == rehearsal.output("TriggerFunctionArn")
    recreated = deployment.recreate(logical)
    assert recreated.physical_id == created.physical_id
    assert (
        sagemaker.describe_pipeline(PipelineName=name)["PipelineDescription"] == spec["PipelineDescription"]
    )


def test_the_example_registers_an_uploaded_model_with_its_regions_image(rehearsal: Rehearsal) -> None:
    """What the example's RegisterModel step names exists in the deployed stack: the model archive
    (uploaded by the stack) and the scikit-learn image of the stack's region."""
    logical = example_logical_id(rehearsal)
    definition = json.loads(
        json.loads(rehearsal.deployment.custom_properties[logical]["Pipeline"])["PipelineDefinition"]
    )
    model_url = next(p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == "ModelDataUrl")
    bucket, _, key = model_url.removeprefix("s3://").partition("/")
    assert bucket == rehearsal.output("ExampleBucket") and key == "approval/model.tar.gz"
    archive = rehearsal.aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["code/inference.py", "model.json"]
    (register,) = [s for s in _all_steps(definition["Steps"]) if s["Type"] == "RegisterModel"]
    (container,) = register["Arguments"]["InferenceSpecification"]["Containers"]
    region = rehearsal.deployment.region
    assert container["Image"] == (
        f"{sklearn_image_registries()[region]}.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )


def _all_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for step in steps:
        found.append(step)
        if step["Type"] == "Condition":
            found += _all_steps(step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", []))
    return found
