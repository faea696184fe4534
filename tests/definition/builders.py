"""A small definition that passes every rule, and helpers to break it one rule at a time."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from pipelines.definition import Problem, Report, check_definition

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/image:latest"


def processing(name: str = "Preprocess") -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": {"Get": "Parameters.InstanceCount"},
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {"ImageUri": IMAGE},
            "RoleArn": ROLE,
            "ProcessingInputs": [
                {
                    "InputName": "raw",
                    "S3Input": {
                        "S3Uri": {"Get": "Parameters.InputData"},
                        "LocalPath": "/opt/ml/processing/input",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "train",
                        "S3Output": {
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        "s3://bucket",
                                        {"Get": "Execution.PipelineExecutionId"},
                                        "train",
                                    ],
                                }
                            },
                            "LocalPath": "/opt/ml/processing/train",
                            "S3UploadMode": "EndOfJob",
                        },
                    },
                    {
                        "OutputName": "evaluation",
                        "S3Output": {
                            "S3Uri": "s3://bucket/evaluation",
                            "LocalPath": "/opt/ml/processing/evaluation",
                            "S3UploadMode": "EndOfJob",
                        },
                    },
                ]
            },
        },
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"},
        "PropertyFiles": [
            {
                "PropertyFileName": "EvaluationReport",
                "OutputName": "evaluation",
                "FilePath": "evaluation.json",
            }
        ],
    }


def training(name: str = "Train") -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/models"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "RoleArn": ROLE,
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": {
                                "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
                            },
                        }
                    },
                }
            ],
            "HyperParameters": {"max_depth": "5"},
        },
        "RetryPolicies": [
            {
                "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
                "IntervalSeconds": 10,
                "BackoffRate": 2.0,
                "MaxAttempts": 3,
            }
        ],
    }


def register(name: str = "Register") -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "Group",
            "InferenceSpecification": {
                "Containers": [
                    {"Image": IMAGE, "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            "ModelApprovalStatus": {"Get": "Parameters.ApprovalStatus"},
        },
    }


def base_definition() -> dict[str, Any]:
    """Processing -> Training -> Condition(JsonGet) -> [Register, Notify] / [Fail], plus a Callback."""
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "InputData", "Type": "String", "DefaultValue": "s3://bucket/input"},
            {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": 1},
            {"Name": "MseThreshold", "Type": "Float", "DefaultValue": 6.0},
            {"Name": "Flag", "Type": "Boolean", "DefaultValue": True},
            {
                "Name": "ApprovalStatus",
                "Type": "String",
                "DefaultValue": "PendingManualApproval",
                "EnumValues": ["PendingManualApproval", "Approved"],
            },
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": [
            processing(),
            training(),
            {
                "Name": "CheckMSE",
                "Type": "Condition",
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "LessThanOrEqualTo",
                            "LeftValue": {
                                "Std:JsonGet": {
                                    "PropertyFile": {
                                        "Get": "Steps.Preprocess.PropertyFiles.EvaluationReport"
                                    },
                                    "Path": "regression_metrics.mse.value",
                                }
                            },
                            "RightValue": {"Get": "Parameters.MseThreshold"},
                        },
                        {
                            "Type": "Not",
                            "Condition": {
                                "Type": "In",
                                "QueryValue": {"Get": "Parameters.Flag"},
                                "Values": [False],
                            },
                        },
                    ],
                    "IfSteps": [
                        register(),
                        {
                            "Name": "Notify",
                            "Type": "Lambda",
                            "Arguments": {"model": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}},
                            "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:notify",
                            "OutputParameters": [{"OutputName": "statusCode", "OutputType": "Integer"}],
                        },
                    ],
                    "ElseSteps": [
                        {
                            "Name": "TooHigh",
                            "Type": "Fail",
                            "Arguments": {
                                "ErrorMessage": {
                                    "Std:Join": {
                                        "On": " ",
                                        "Values": ["MSE above", {"Get": "Parameters.MseThreshold"}],
                                    }
                                }
                            },
                        }
                    ],
                },
            },
            {
                "Name": "Approve",
                "Type": "Callback",
                "Arguments": {
                    "status": {"Get": "Steps.Notify.OutputParameters['statusCode']"},
                    "outcome": {"Get": "Steps.CheckMSE.Outcome"},
                },
                "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "OutputParameters": [{"OutputName": "approved", "OutputType": "Boolean"}],
            },
        ],
    }


def step_by_name(definition: dict[str, Any], name: str) -> dict[str, Any]:
    stack = list(definition["Steps"])
    while stack:
        step = stack.pop()
        if step["Name"] == name:
            return step
        if step["Type"] == "Condition":
            stack.extend(step["Arguments"].get("IfSteps", []))
            stack.extend(step["Arguments"].get("ElseSteps", []))
    raise KeyError(name)


Mutation = Callable[[dict[str, Any]], None]


def mutated(mutation: Mutation) -> dict[str, Any]:
    definition = copy.deepcopy(base_definition())
    mutation(definition)
    return definition


def check(definition: dict[str, Any] | str | bytes) -> Report:
    text = definition if isinstance(definition, str | bytes) else json.dumps(definition)
    return check_definition(text)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]
