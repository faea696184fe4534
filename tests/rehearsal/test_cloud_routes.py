"""The EndpointConfig, Endpoint and EMRServerless routes on the deployed stack: a pipeline that
deploys an endpoint and runs a Spark job on an application it creates, started through the API
and run as the sample pipeline role, twice (the second run updates the endpoint)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.cloud.scenarios import get, pipeline
from tests.rehearsal.harness import Rehearsal


def _token() -> str:
    return uuid.uuid4().hex


def test_a_pipeline_deploys_an_endpoint_and_runs_spark_on_emr_serverless(rehearsal: Rehearsal) -> None:
    role = rehearsal.output("SamplePipelineRoleArn")
    sagemaker_service = rehearsal.aws("sagemaker")
    sagemaker_service.create_model(ModelName="rehearsal-model", ExecutionRoleArn=role)
    definition = pipeline(
        {
            "Name": "Spark",
            "Type": "EMRServerless",
            "Arguments": {
                "ExecutionRoleArn": role,
                "JobConfig": {"jobDriver": {"sparkSubmit": {"entryPoint": "s3://data/prepare.py"}}},
                "ApplicationConfig": {"name": "prepare", "releaseLabel": "emr-7.1.0", "type": "SPARK"},
            },
        },
        {
            "Name": "Config",
            "Type": "EndpointConfig",
            "Arguments": {
                "EndpointConfigName": {
                    "Std:Join": {"On": "-", "Values": ["rehearsal", get("Execution.PipelineExecutionId")]}
                },
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "rehearsal-model",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            },
            "DependsOn": ["Spark"],
        },
        {
            "Name": "Deploy",
            "Type": "Endpoint",
            "Arguments": {
                "EndpointName": "rehearsal",
                "EndpointConfigName": get("Steps.Config.EndpointConfigName"),
            },
        },
    )
    api = rehearsal.sagemaker()
    api.create_pipeline(
        PipelineName="rehearsal-routes",
        PipelineDefinition=json.dumps(definition),
        RoleArn=role,
        ClientRequestToken=_token(),
    )

    arns = []
    for _ in range(2):
        arn = api.start_pipeline_execution(PipelineName="rehearsal-routes", ClientRequestToken=_token())[
            "PipelineExecutionArn"
        ]
        described = rehearsal.wait_execution(arn)
        assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
        arns.append(arn)

    listed = api.list_pipeline_execution_steps(PipelineExecutionArn=arns[-1])["PipelineExecutionSteps"]
    metadata: dict[str, Any] = {s["StepName"]: s["Metadata"] for s in listed}
    assert set(metadata["Spark"]["EMRServerless"]) >= {"ApplicationId", "JobRunId", "JobRunName"}
    assert metadata["Deploy"]["Endpoint"]["Arn"].endswith(":endpoint/rehearsal")
    live = sagemaker_service.describe_endpoint(EndpointName="rehearsal")
    assert live["EndpointStatus"] == "InService"
    assert live["EndpointConfigName"] == f"rehearsal-{arns[-1].rsplit('/', 1)[-1]}"  # updated by run 2
    emr = rehearsal.aws("emr-serverless")
    application = emr.get_application(applicationId=metadata["Spark"]["EMRServerless"]["ApplicationId"])
    assert application["application"]["state"] == "TERMINATED"  # the step deleted what it created
