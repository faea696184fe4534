"""Property paths against botocore's Describe* shapes, per step type."""

from __future__ import annotations

import pytest
from pipelines.definition.property_paths import CHECKED_STEP_TYPES, resolve_property_path
from pipelines.expressions.paths import parse_path

LEGAL = [
    ("Training", "ModelArtifacts.S3ModelArtifacts"),
    ("Training", "FinalMetricDataList['validation:rmse'].Value"),
    ("Training", "HyperParameters['max_depth']"),
    ("Training", "TrainingJobName"),
    ("Processing", "ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"),
    ("Processing", "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri"),
    ("Processing", "ProcessingInputs['code'].S3Input.S3Uri"),
    ("Transform", "TransformOutput.S3OutputPath"),
    ("Model", "ModelName"),
    ("Model", "PrimaryContainer.Environment['SAGEMAKER_PROGRAM']"),
    ("RegisterModel", "ModelPackageArn"),
    ("RegisterModel", "InferenceSpecification.Containers[0].Image"),
    ("Tuning", "BestTrainingJob.TrainingJobName"),
    ("Tuning", "TrainingJobSummaries[0].TrainingJobName"),
    ("Tuning", "HyperParameterTuningJobStatus"),
    ("AutoML", "BestCandidate.CandidateName"),
    ("AutoML", "BestCandidateProperties.ModelInsightsJsonReportPath"),
    ("AutoML", "BestCandidateProperties.ExplainabilityJsonReportPath"),
    ("EMR", "Status.State"),
    ("EMR", "ClusterId"),
    ("EMR", "Config.Jar"),
    ("QualityCheck", "CalculatedBaselineStatistics"),
    ("QualityCheck", "BaselineUsedForDriftCheckConstraints"),
    ("ClarifyCheck", "CalculatedBaselineConstraints"),
    ("Condition", "Outcome"),
    ("Endpoint", "EndpointArn"),
    ("EndpointConfig", "EndpointConfigArn"),
]

ILLEGAL = [
    ("Training", "ModelArtifacts.Nope", "'Nope' is not a member of ModelArtifacts; it has: S3ModelArtifacts"),
    ("Training", "ProcessingOutputConfig", "'ProcessingOutputConfig' is not a member of the step"),
    ("Training", "HyperParameters.max_depth", "select an entry with ['key']"),
    ("Training", "HyperParameters[0]", "select an entry with ['key']"),
    ("Training", "InputDataConfig.ChannelName", "use [0] or ['name'], not .ChannelName"),
    ("Training", "TrainingJobName[0]", "nothing can follow it"),
    ("Processing", "AppSpecification.ContainerArguments['x']", "which have no name to select ['x'] by"),
    ("Tuning", "ModelArtifacts.S3ModelArtifacts", "'ModelArtifacts' is not a property"),
    ("AutoML", "BestCandidateProperties.Other", "'Other' is not a property of BestCandidateProperties"),
    ("EMR", "Status.Nope", "'Nope' is not a member of Status"),
    ("QualityCheck", "CalculatedBaselineStatistics.S3Uri", "nothing can follow it"),
    ("ClarifyCheck", "CalculatedBaselineStatistics", "it has: CalculatedBaselineConstraints"),
    ("Condition", "Outcome.Value", "nothing can follow it"),
]


@pytest.mark.parametrize(("step_type", "path"), LEGAL)
def test_legal_path(step_type: str, path: str) -> None:
    assert step_type in CHECKED_STEP_TYPES
    assert resolve_property_path(step_type, tuple(parse_path(path))).error is None


@pytest.mark.parametrize(("step_type", "path", "fragment"), ILLEGAL)
def test_illegal_path_names_the_bad_segment(step_type: str, path: str, fragment: str) -> None:
    error = resolve_property_path(step_type, tuple(parse_path(path))).error
    assert error is not None and fragment in error, error


def test_list_element_by_name_records_the_naming_field() -> None:
    resolution = resolve_property_path("Training", tuple(parse_path("FinalMetricDataList['rmse'].Value")))
    (element,) = resolution.named_elements
    assert (element.name_field, element.key) == ("MetricName", "rmse")
