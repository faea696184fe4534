"""ForEach, Cleanup and Lineage steps through the API with real boto3 against ``pipelines serve``
(strict: every response is checked against botocore's output shapes): iterations are listed
with their IterationContext, and each type's Metadata member is the botocore one."""

from __future__ import annotations

import json
import time
from typing import Any

from .conftest import Served

DOUBLE = "arn:aws:lambda:us-east-1:000000000000:function:double"


def definition() -> str:
    double = {
        "Name": "Double",
        "Type": "Lambda",
        "FunctionArn": DOUBLE,
        "Arguments": {"value": {"Get": "ForEach.CurrentItem"}},
        "OutputParameters": [{"OutputName": "doubled", "OutputType": "Integer"}],
    }
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [{"Name": "Values", "Type": "String", "DefaultValue": "[3, 7, 5]"}],
            "Steps": [
                {
                    "Name": "EachValue",
                    "Type": "ForEach",
                    "Arguments": {
                        "IterableItems": {"Get": "Parameters.Values"},
                        "MaxConcurrency": 2,
                        "Selector": {
                            "Pick": "MinBy",
                            "Field": {"Get": "IterationOutput.Double.OutputParameters['doubled']"},
                        },
                        "ForEachBody": [double],
                    },
                },
                {
                    "Name": "Record",
                    "Type": "Lineage",
                    "Arguments": {
                        "Contexts": [
                            {
                                "ContextName": {"Get": "Execution.PipelineExecutionId"},
                                "Source": {"SourceUri": {"Get": "Execution.PipelineExecutionArn"}},
                                "ContextType": "PipelineExecution",
                                "Properties": {
                                    "smallest": {
                                        "Std:Join": {
                                            "On": "",
                                            "Values": [
                                                {
                                                    "Get": "Steps.EachValue.Selected.OutputParameters['doubled']"
                                                }
                                            ],
                                        }
                                    }
                                },
                            }
                        ]
                    },
                },
                {
                    "Name": "Tidy",
                    "Type": "Cleanup",
                    "Arguments": {"Resources": {"S3": [{"StepName": "Record"}]}},
                    "DependsOn": ["Record"],
                },
            ],
        }
    )


def wait_for_end(sm: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described = sm.describe_pipeline_execution(PipelineExecutionArn=arn)
        if described["PipelineExecutionStatus"] not in ("Executing", "Stopping"):
            return dict(described)
        time.sleep(0.05)
    raise AssertionError("the execution did not end in time")


def test_iterations_and_v3_metadata_through_boto3(served: Served) -> None:
    sm = served.client("sagemaker")
    sm.create_pipeline(
        PipelineName="v3", PipelineDefinition=definition(), RoleArn="arn:aws:iam::000000000000:role/r"
    )
    arn = sm.start_pipeline_execution(PipelineName="v3")["PipelineExecutionArn"]
    assert wait_for_end(sm, arn)["PipelineExecutionStatus"] == "Succeeded"
    pages = sm.get_paginator("list_pipeline_execution_steps").paginate(
        PipelineExecutionArn=arn, PaginationConfig={"PageSize": 2}
    )
    steps = {s["StepName"]: s for page in pages for s in page["PipelineExecutionSteps"]}
    assert set(steps) == {"EachValue", "Double-0", "Double-1", "Double-2", "Record", "Tidy"}
    for index, item in enumerate(("3", "7", "5")):
        step = steps[f"Double-{index}"]
        assert step["IterationContext"] == {"ParentStepName": "EachValue", "Index": index, "Item": item}
        assert step["Metadata"]["Lambda"]["OutputParameters"] == [
            {"Name": "doubled", "Value": str(int(item) * 2)}
        ]
    assert steps["EachValue"]["Metadata"]["ForEach"] == {
        "Status": "Succeeded",
        "InputItemCount": 3,
        "TotalStepCount": 3,
        "SucceededStepCount": 3,
        "FailedStepCount": 0,
        "StoppedStepCount": 0,
        "Selector": {"StepName": "Double-0", "Index": 0},
    }
    assert "IterationContext" not in steps["EachValue"]
    execution_id = arn.rsplit("/", 1)[1]
    context = f"arn:aws:sagemaker:us-east-1:000000000000:context/{execution_id}"
    assert steps["Record"]["Metadata"]["Lineage"] == {"ContextArns": {execution_id: context}}
    # a Lineage step has no S3 outputs: the Cleanup skips it, as the service reports that
    assert steps["Tidy"]["Metadata"]["Cleanup"] == {
        "CleanedSteps": [],
        "FailedSteps": [],
        "SkippedSteps": ["Record"],
    }
