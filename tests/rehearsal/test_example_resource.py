"""``-c example=true``: the ``Pipeline`` construct's custom resource (Custom::SageMakerPipeline),
sent CloudFormation's Create, Update and Delete requests through the CDK Provider framework as
a deploy, a re-deploy with an edited definition and a stack deletion would send them. The
provider function calls the deployed API (SigV4 for execute-api, with its own role)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

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

    # Deleting the pipeline removed it from its upload rule's targets; a later deploy creates
    # both again, as the stack defines them (test_triggers uses them).
    assert rehearsal.aws("events").list_targets_by_rule(Rule=upload_rule(rehearsal))["Targets"] == []
    recreated = deployment.recreate(logical)
    assert recreated.physical_id == created.physical_id
    assert (
        sagemaker.describe_pipeline(PipelineName=name)["PipelineDescription"] == spec["PipelineDescription"]
    )
