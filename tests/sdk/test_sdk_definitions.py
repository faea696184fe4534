"""The SDK-generated definitions carry the features the engine and validator must handle.

These pin what the real SDK emits (so a fixture regression, or an SDK upgrade that changes the
grammar, is noticed) and that our models read every one of them without loss.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipelines.definition import check_definition
from pipelines.definition.models import GenericStep, PipelineDefinition

from .generate_v2 import GENERATORS, NetworkAccessError, offline_sdk

REMOTE_FUNCTION_ENTRYPOINT = [
    "/bin/bash",
    "/opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh",
]


def walk_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step dict, including those nested in condition branches."""
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from walk_steps(step["Arguments"].get("IfSteps", []))
            yield from walk_steps(step["Arguments"].get("ElseSteps", []))


def steps_of(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in walk_steps(definition["Steps"])}


def test_every_generator_produced_a_definition(sdk_definitions: dict[str, str]) -> None:
    assert set(sdk_definitions) == set(GENERATORS)
    for name, text in sdk_definitions.items():
        definition = json.loads(text)
        assert definition["Version"] == "2020-12-01", name
        assert definition["Steps"], name
        # Under the SDK's 100 KiB threshold, so upsert would send it inline.
        assert len(text.encode()) < 100 * 1024, name


def test_step_names_are_unique_across_branches(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    for name, definition in sdk_definition_dicts.items():
        names = [step["Name"] for step in walk_steps(definition["Steps"])]
        assert len(names) == len(set(names)), name


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_models_parse_and_round_trip(sdk_definition_dicts: dict[str, dict[str, Any]], name: str) -> None:
    definition = sdk_definition_dicts[name]
    parsed = PipelineDefinition.model_validate(definition)
    assert parsed.to_json_dict() == definition
    assert {step.name for step in parsed.all_steps()} == set(steps_of(definition))


def test_every_sdk_step_type_is_known_to_the_models(
    sdk_definition_dicts: dict[str, dict[str, Any]],
) -> None:
    unknown = {
        step.type
        for definition in sdk_definition_dicts.values()
        for step in PipelineDefinition.model_validate(definition).all_steps()
        if isinstance(step, GenericStep)
    }
    assert unknown == set()


def test_abalone_has_all_parameter_types_and_enum(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    parameters = {p["Name"]: p for p in sdk_definition_dicts["abalone"]["Parameters"]}
    assert {p["Type"] for p in parameters.values()} == {"String", "Integer", "Float", "Boolean"}
    assert parameters["ModelApprovalStatus"]["EnumValues"] == [
        "PendingManualApproval",
        "Approved",
        "Rejected",
    ]
    assert parameters["MseThreshold"]["DefaultValue"] == 6.0
    assert parameters["EncryptInterContainerTraffic"]["DefaultValue"] is False


def test_abalone_steps(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    definition = sdk_definition_dicts["abalone"]
    steps = steps_of(definition)
    assert {name: step["Type"] for name, step in steps.items()} == {
        "PreprocessAbaloneData": "Processing",
        "TrainAbaloneModel": "Training",
        "EvaluateAbaloneModel": "Processing",
        "CheckMSEAbaloneEvaluation": "Condition",
        "RegisterAbaloneModel-RegisterModel": "RegisterModel",
        "CreateAbaloneModel-CreateModel": "Model",
        "AbaloneTransform": "Transform",
        "AbaloneMSEFail": "Fail",
    }
    assert [s["Name"] for s in definition["Steps"]] == [
        "PreprocessAbaloneData",
        "TrainAbaloneModel",
        "EvaluateAbaloneModel",
        "CheckMSEAbaloneEvaluation",
    ]

    train = steps["TrainAbaloneModel"]
    assert train["RetryPolicies"] == [
        {
            "BackoffRate": 2.0,
            "IntervalSeconds": 10,
            "MaxAttempts": 3,
            "ExceptionType": ["Step.SERVICE_FAULT", "Step.THROTTLING"],
        },
        {
            "BackoffRate": 2.0,
            "IntervalSeconds": 1,
            "ExpireAfterMin": 60,
            "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
        },
    ]
    for cached in ("PreprocessAbaloneData", "TrainAbaloneModel", "AbaloneTransform"):
        assert steps[cached]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    channels = {c["ChannelName"]: c for c in train["Arguments"]["InputDataConfig"]}
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.PreprocessAbaloneData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }
    assert train["Arguments"]["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}

    assert steps["EvaluateAbaloneModel"]["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    # The processing script was uploaded (to moto's S3) and is referenced as the "code" input.
    code_inputs = [
        i for i in steps["PreprocessAbaloneData"]["Arguments"]["ProcessingInputs"] if i["InputName"] == "code"
    ]
    assert code_inputs[0]["S3Input"]["S3Uri"].startswith("s3://sdk-fixtures-bucket/AbalonePipeline/code/")


def test_abalone_condition_uses_property_file_json_get(
    sdk_definition_dicts: dict[str, dict[str, Any]],
) -> None:
    condition = steps_of(sdk_definition_dicts["abalone"])["CheckMSEAbaloneEvaluation"]["Arguments"]
    assert condition["Conditions"] == [
        {
            "Type": "LessThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.EvaluateAbaloneModel.PropertyFiles.EvaluationReport"},
                    "Path": "regression_metrics.mse.value",
                }
            },
            "RightValue": {"Get": "Parameters.MseThreshold"},
        }
    ]
    fail = condition["ElseSteps"][0]
    assert fail["Arguments"]["ErrorMessage"]["Std:Join"]["On"] == " "
    register = condition["IfSteps"][0]
    assert register["Arguments"]["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    transform = condition["IfSteps"][2]
    assert transform["Arguments"]["ModelName"] == {"Get": "Steps.CreateAbaloneModel-CreateModel.ModelName"}


def test_lambda_callback_and_emr(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    steps = steps_of(sdk_definition_dicts["integrations"])
    notify = steps["NotifyLambda"]
    assert notify["Type"] == "Lambda"
    assert notify["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:notify-model"
    assert notify["OutputParameters"] == [
        {"OutputName": "statusCode", "OutputType": "Integer"},
        {"OutputName": "message", "OutputType": "String"},
    ]
    assert notify["Arguments"]["emr_state"] == {"Get": "Steps.EMRExistingCluster.Status.State"}

    approval = steps["ManualApproval"]
    assert approval["Type"] == "Callback"
    assert approval["SqsQueueUrl"].startswith("https://sqs.us-east-1.amazonaws.com/")
    assert approval["Arguments"]["status_code"] == {
        "Get": "Steps.NotifyLambda.OutputParameters['statusCode']"
    }
    check = steps["CheckApproval"]["Arguments"]["Conditions"][0]
    assert check["LeftValue"] == {"Get": "Steps.ManualApproval.OutputParameters['approved']"}

    existing, transient = steps["EMRExistingCluster"], steps["EMRNewCluster"]
    assert existing["Arguments"]["ClusterId"] == "j-1ABCDEFGHIJKL"
    assert "ClusterConfig" not in existing["Arguments"]
    assert "ClusterId" not in transient["Arguments"]
    assert transient["Arguments"]["ClusterConfig"]["ReleaseLabel"] == "emr-6.15.0"
    assert transient["Arguments"]["StepConfig"]["HadoopJarStep"]["MainClass"] == "org.example.Main"
    assert transient["DependsOn"] == ["EMRExistingCluster"]


def test_tuning_top_model_uri(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    steps = steps_of(sdk_definition_dicts["tuning"])
    tuning = steps["HPTuning"]
    ranges = tuning["Arguments"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert {kind: [r["Name"] for r in value] for kind, value in ranges.items()} == {
        "ContinuousParameterRanges": ["alpha"],
        "IntegerParameterRanges": ["max_depth"],
        "CategoricalParameterRanges": ["booster"],
    }
    assert tuning["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P1D"}
    model_url = steps["BestModel-CreateModel"]["Arguments"]["PrimaryContainer"]["ModelDataUrl"]
    assert model_url == {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                "sdk-fixtures-bucket",
                "TuningOutput",
                {"Get": "Steps.HPTuning.TrainingJobSummaries[0].TrainingJobName"},
                "output/model.tar.gz",
            ],
        }
    }


def test_quality_and_clarify_checks(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    steps = steps_of(sdk_definition_dicts["checks"])
    quality, bias = steps["DataQualityCheck"], steps["DataBiasCheck"]
    assert (quality["Type"], quality["CheckType"]) == ("QualityCheck", "DATA_QUALITY")
    assert quality["SkipCheck"] == {"Get": "Parameters.SkipDataQualityCheck"}
    assert quality["SuppliedBaselineConstraints"] == "s3://sdk-fixtures-bucket/checks/constraints.json"
    assert quality["CacheConfig"] == {"Enabled": True, "ExpireAfter": "PT1H"}
    assert (bias["Type"], bias["CheckType"]) == ("ClarifyCheck", "DATA_BIAS")
    assert bias["RegisterNewBaseline"] == {"Get": "Parameters.RegisterNewBaseline"}
    assert "ModelName" not in bias  # only model bias/explainability checks carry it


def test_function_steps_are_remote_function_training_jobs(
    sdk_definition_dicts: dict[str, dict[str, Any]],
) -> None:
    steps = steps_of(sdk_definition_dicts["function_steps"])
    for name in ("TrainFunction", "EvaluateFunction", "DeployFunction"):
        algorithm = steps[name]["Arguments"]["AlgorithmSpecification"]
        assert steps[name]["Type"] == "Training", name
        assert algorithm["ContainerEntrypoint"] == REMOTE_FUNCTION_ENTRYPOINT, name
        assert "--pipeline_step_name" in algorithm["ContainerArguments"], name

    train_args = steps["TrainFunction"]["Arguments"]["AlgorithmSpecification"]["ContainerArguments"]
    prepared = "Steps.PrepareData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    assert prepared in train_args  # a Processing output is fed to the function at run time
    assert "DependsOn" not in steps["TrainFunction"]  # ...as a data dependency only
    assert train_args[-2:] == ["--serialize_output_to_json", "true"]  # a later step reads its result
    assert steps["EvaluateFunction"]["DependsOn"] == ["TrainFunction"]
    assert steps["TrainFunction"]["RetryPolicies"][0]["ExceptionType"] == ["Step.THROTTLING"]


def test_condition_on_function_result_uses_json_get_s3_uri(
    sdk_definition_dicts: dict[str, dict[str, Any]],
) -> None:
    steps = steps_of(sdk_definition_dicts["function_steps"])
    condition = steps["CheckAccuracy"]
    assert condition["Arguments"]["Conditions"][0]["LeftValue"] == {
        "Std:JsonGet": {
            "S3Uri": {
                "Std:Join": {
                    "On": "/",
                    "Values": [
                        {"Get": "Steps.EvaluateFunction.OutputDataConfig.S3OutputPath"},
                        "results.json",
                    ],
                }
            },
            "Path": "Result['accuracy']",
        }
    }
    assert [s["Name"] for s in condition["Arguments"]["IfSteps"]] == ["DeployFunction"]
    assert condition["DependsOn"] == ["EvaluateFunction"]


def test_notebook_job_step(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    (step,) = sdk_definition_dicts["notebook_job"]["Steps"]
    arguments = step["Arguments"]
    assert step["Type"] == "Training"
    assert arguments["AlgorithmSpecification"]["ContainerEntrypoint"] == ["amazon_sagemaker_scheduler"]
    assert arguments["InputDataConfig"][0]["ChannelName"] == "sagemaker_headless_execution_pipelinestep"
    assert arguments["HyperParameters"] == {
        "learning_rate": {"Get": "Parameters.LearningRate"},
        "epochs": "3",
    }
    assert arguments["Environment"]["SM_INPUT_NOTEBOOK_NAME"] == "report.ipynb"
    assert "TrainingJobName" in arguments  # NotebookJob keeps its timestamped job name


def test_deployment_steps(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    steps = steps_of(sdk_definition_dicts["deployment"])
    assert [step["Type"] for step in steps.values()] == [
        "Model",
        "EndpointConfig",
        "Endpoint",
        "InferenceComponent",
        "Lineage",
    ]
    config = steps["CreateEndpointConfig"]
    assert config["Arguments"]["ProductionVariants"][0]["ModelName"] == {
        "Get": "Steps.DeployModel-CreateModel.ModelName"
    }
    assert config["RetryPolicies"] and config["CacheConfig"]["Enabled"] is True
    assert steps["CreateEndpoint"]["Arguments"]["EndpointConfigName"] == {
        "Get": "Steps.CreateEndpointConfig.EndpointConfigName"
    }
    lineage = steps["RecordLineage"]["Arguments"]
    assert set(lineage) == {"Actions", "Artifacts", "Contexts", "Associations"}
    assert lineage["Associations"][0]["Source"] == {"Name": "abalone-model", "Type": "Artifact"}
    assert "Arn" in lineage["Associations"][2]["Source"]


def test_experiment_config_variants(sdk_definition_dicts: dict[str, dict[str, Any]]) -> None:
    assert sdk_definition_dicts["abalone"]["PipelineExperimentConfig"] == {
        "ExperimentName": {"Get": "Execution.PipelineName"},
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }
    disabled = sdk_definition_dicts["no_experiment_config"]
    assert "PipelineExperimentConfig" in disabled
    assert disabled["PipelineExperimentConfig"] is None
    assert not PipelineDefinition.model_validate(disabled).experiments_enabled
    (track,) = sdk_definition_dicts["custom_experiment_config"]["Steps"]
    assert track["Arguments"]["AppSpecification"]["ContainerArguments"] == [
        "--experiment",
        {"Get": "PipelineExperimentConfig.ExperimentName"},
        "--trial",
        {"Get": "PipelineExperimentConfig.TrialName"},
    ]
    custom = sdk_definition_dicts["custom_experiment_config"]["PipelineExperimentConfig"]
    assert custom == {
        "ExperimentName": {"Get": "Parameters.ExperimentName"},
        "TrialName": {"Std:Join": {"On": "-", "Values": ["trial", {"Get": "Execution.PipelineExecutionId"}]}},
    }


def test_staged_diamond_and_execution_options(
    sdk_definition_dicts: dict[str, dict[str, Any]], sdk_execution_options: dict[str, dict[str, Any]]
) -> None:
    steps = steps_of(sdk_definition_dicts["staged_diamond"])
    shards = [f"Stage2-Shard{i}" for i in range(4)]
    assert list(steps) == ["Stage1-Prepare", *shards, "Stage3-Merge", "Stage4-Report"]
    for shard in shards:
        (shard_input,) = steps[shard]["Arguments"]["ProcessingInputs"]
        assert shard_input["S3Input"]["S3Uri"] == {
            "Get": "Steps.Stage1-Prepare.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"
        }
    assert steps["Stage3-Merge"]["DependsOn"] == shards
    assert steps["Stage4-Report"]["DependsOn"] == ["Stage3-Merge"]

    options = sdk_execution_options["staged_diamond"]
    assert options["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 2}
    selected = [s["StepName"] for s in options["SelectiveExecutionConfig"]["SelectedSteps"]]
    assert set(selected) <= set(steps)
    assert options["SelectiveExecutionConfig"]["SourcePipelineExecutionArn"].startswith("arn:aws:sagemaker:")


def test_offline_sdk_refuses_real_connections(tmp_path: Path) -> None:
    with offline_sdk(tmp_path), pytest.raises(NetworkAccessError, match="127.0.0.1"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_validator_accepts_every_sdk_definition(sdk_definitions: dict[str, str], name: str) -> None:
    """What the real SDK emits must pass our validator (warnings are allowed)."""
    report = check_definition(sdk_definitions[name])
    assert report.definition is not None
    assert [(problem.path, problem.message) for problem in report.errors] == []
