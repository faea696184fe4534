"""A ready-made evaluation context for expression tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipelines.expressions import EvaluationContext

STEP_PROPERTIES: dict[str, dict[str, Any]] = {
    "Preprocess": {
        "ProcessingJobName": "pipelines-abc-Preprocess",
        "ProcessingInputs": [
            {"InputName": "input-1", "S3Input": {"S3Uri": "s3://in/raw"}},
            {"InputName": "code", "S3Input": {"S3Uri": "s3://in/code.py"}},
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": "train", "S3Output": {"S3Uri": "s3://out/train"}},
                {"OutputName": "test", "S3Output": {"S3Uri": "s3://out/test"}},
            ]
        },
    },
    "Train": {
        "TrainingJobName": "pipelines-abc-Train",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://out/model.tar.gz"},
        "HyperParameters": {"epochs": "10", "eta": "0.2"},
        "InputDataConfig": [{"ChannelName": "train"}, {"ChannelName": "validation"}],
        "FinalMetricDataList": [
            {"MetricName": "train:rmse", "Value": 1.5},
            {"MetricName": "validation:rmse", "Value": 2.25},
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://out/func"},
    },
    "Tune": {"TrainingJobSummaries": [{"TrainingJobName": "t-001"}, {"TrainingJobName": "t-002"}]},
    "Check": {"Outcome": "True"},
    "Notify": {"OutputParameters": [{"Name": "statusCode", "Value": 200}, {"Name": "body", "Value": "ok"}]},
    "Wait": {"OutputParameters": {"approved": "yes"}},
    "AutoML": {"InputDataConfig": [{"ChannelType": "training", "CompressionType": "None"}]},
}

PROPERTY_FILES: dict[tuple[str, str], Any] = {
    ("Preprocess", "EvaluationReport"): {
        "regression_metrics": {"mse": {"value": 4.5, "standard_deviation": 0.5}},
        "scores": [0.1, 0.2, 0.3],
        "nested": [{"name": "a", "value": 1}, {"name": "b", "value": 2}],
        "as_string": "0.85",
        "nothing": None,
    }
}

OBJECTS: dict[str, bytes] = {
    "s3://out/func/results.json": json.dumps({"Result": {"score": 0.93}, "Exception": None}).encode(),
    "s3://out/func/broken.json": b"{not json",
}


def _property_file(step: str, name: str) -> Any:
    return PROPERTY_FILES[(step, name)]


def _read_object(uri: str) -> bytes:
    if uri not in OBJECTS:
        raise FileNotFoundError(uri)
    return OBJECTS[uri]


def make_context(
    parameters: Mapping[str, Any] | None = None,
    execution: Mapping[str, Any] | None = None,
    experiment_config: Mapping[str, Any] | None = None,
) -> EvaluationContext:
    return EvaluationContext(
        parameters=parameters
        if parameters is not None
        else {"Count": 3, "Threshold": 6.0, "Flag": True, "Name": "abc"},
        execution=execution
        if execution is not None
        else {"PipelineName": "my-pipeline", "PipelineExecutionId": "exec123"},
        step_properties=STEP_PROPERTIES.get,
        property_file=_property_file,
        read_object=_read_object,
        experiment_config=experiment_config
        if experiment_config is not None
        else {"ExperimentName": "my-pipeline", "TrialName": "exec123"},
    )
