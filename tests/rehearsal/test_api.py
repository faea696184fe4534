"""The API as a team calls it: CreatePipeline and StartPipelineExecution through API Gateway
(SigV4 for execute-api, the owner's identity), the StepRunner in Step Functions, the Report
reaching the engine, the execution Succeeded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.rehearsal.harness import Rehearsal, add_user_function

EVALUATE = """
def handler(event, context):
    return {"accuracy": event["accuracy"], "rows": 120}
"""


def lambda_pipeline(function_arn: str) -> dict:
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Accuracy", "Type": "Float", "DefaultValue": 0.93}],
        "Steps": [
            {
                "Name": "Evaluate",
                "Type": "Lambda",
                "FunctionArn": function_arn,
                "Arguments": {"accuracy": {"Get": "Parameters.Accuracy"}},
                "OutputParameters": [
                    {"OutputName": "accuracy", "OutputType": "Float"},
                    {"OutputName": "rows", "OutputType": "Integer"},
                ],
            }
        ],
    }


def test_create_start_and_succeed_through_the_api(rehearsal: Rehearsal, functions_dir: Path) -> None:
    arn = add_user_function(rehearsal, "evaluate", EVALUATE, functions_dir)
    sagemaker = rehearsal.sagemaker()
    role = rehearsal.output("SamplePipelineRoleArn")
    created = sagemaker.create_pipeline(
        PipelineName="api-lambda",
        PipelineDefinition=json.dumps(lambda_pipeline(arn)),
        RoleArn=role,
        ClientRequestToken="create-api-lambda-0000000000000000001",
    )
    assert (
        created["PipelineArn"]
        == f"arn:aws:sagemaker:{rehearsal.region}:{rehearsal.account}:pipeline/api-lambda"
    )
    started = sagemaker.start_pipeline_execution(
        PipelineName="api-lambda",
        PipelineParameters=[{"Name": "Accuracy", "Value": "0.97"}],
        ClientRequestToken="start-api-lambda-00000000000000000001",
    )
    described = rehearsal.wait_execution(started["PipelineExecutionArn"])
    assert described["PipelineExecutionStatus"] == "Succeeded", described
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=started["PipelineExecutionArn"])[
        "PipelineExecutionSteps"
    ]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Evaluate", "Succeeded")]
    outputs = {p["Name"]: p["Value"] for p in steps[0]["Metadata"]["Lambda"]["OutputParameters"]}
    assert outputs == {"accuracy": "0.97", "rows": "120"}
    # The step ran where the deployment runs it: the engine, the StepRunner and the function.
    assert rehearsal.lambdas.calls("evaluate")[-1].event == {"accuracy": 0.97}
    runners = rehearsal.aws("stepfunctions").list_executions(
        stateMachineArn=rehearsal.output("StepRunnerArn")
    )
    assert [
        e["status"]
        for e in runners["executions"]
        if e["name"].startswith(started["PipelineExecutionArn"].rsplit("/", 1)[-1])
    ] == ["SUCCEEDED"]
