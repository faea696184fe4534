"""Property paths through Describe*-shaped properties, including list-by-name lookups."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.expressions import (
    LIST_NAMING_FIELDS,
    PropertyNotFoundError,
    PropertyPathError,
    parse_path,
    resolve_property_path,
)

from .builders import STEP_PROPERTIES


@pytest.mark.parametrize(
    ("step", "path", "expected"),
    [
        ("Preprocess", "ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri", "s3://out/test"),
        ("Preprocess", "ProcessingInputs['input-1'].S3Input.S3Uri", "s3://in/raw"),
        ("Train", "FinalMetricDataList['train:rmse'].Value", 1.5),
        ("Train", "InputDataConfig['validation'].ChannelName", "validation"),
        ("Train", "HyperParameters['epochs']", "10"),
        ("Tune", "TrainingJobSummaries['t-002'].TrainingJobName", "t-002"),
        ("Notify", "OutputParameters['body']", "ok"),
        ("Wait", "OutputParameters['approved']", "yes"),
        ("AutoML", "InputDataConfig['training'].CompressionType", "None"),
        ("Check", "Outcome", "True"),
    ],
)
def test_paths_resolve(step: str, path: str, expected: Any) -> None:
    assert resolve_property_path(STEP_PROPERTIES[step], parse_path(path), step_name=step) == expected


@pytest.mark.parametrize(
    ("properties", "path", "expected"),
    [
        # Unlisted lists fall back to the usual naming fields, then to any *Name member.
        ({"Things": [{"Name": "a", "v": 1}, {"Name": "b", "v": 2}]}, "Things['b'].v", 2),
        ({"Things": [{"WidgetName": "w", "v": 3}]}, "Things['w'].v", 3),
        ({"Outputs": [{"OutputName": "o", "Name": "other", "v": 4}]}, "Outputs['o'].v", 4),
        ({"Tags": [{"Key": "team", "Value": "ml"}]}, "Tags['team']", "ml"),
        ({"M": {"a.b": {"c": 1}}}, "M['a.b'].c", 1),
        ({"L": [[1, 2], [3, 4]]}, "L[1][0]", 3),
    ],
)
def test_generic_lookups(properties: dict[str, Any], path: str, expected: Any) -> None:
    assert resolve_property_path(properties, parse_path(path), step_name="S") == expected


@pytest.mark.parametrize(
    ("path", "error", "fragment"),
    [
        ("Missing", PropertyNotFoundError, "has no property 'Missing'"),
        ("HyperParameters['lr']", PropertyNotFoundError, "has no property \"HyperParameters['lr']\""),
        (
            "FinalMetricDataList['test:rmse']",
            PropertyNotFoundError,
            "no element of FinalMetricDataList is named 'test:rmse'",
        ),
        ("FinalMetricDataList[2]", PropertyNotFoundError, "index 2 is out of range (the list has 2)"),
        ("FinalMetricDataList[-1]", PropertyNotFoundError, "out of range"),
        ("FinalMetricDataList.Value", PropertyPathError, "a list has no field 'Value'"),
        ("ModelArtifacts[0]", PropertyPathError, "cannot index an object"),
        ("TrainingJobName.Length", PropertyPathError, "a str value has no field 'Length'"),
        ("TrainingJobName['x']", PropertyPathError, "cannot look up 'x' in a str value"),
    ],
)
def test_path_errors_name_the_full_expression(path: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error) as caught:
        resolve_property_path(STEP_PROPERTIES["Train"], parse_path(path), step_name="Train")
    message = str(caught.value)
    assert message.startswith(f"Steps.Train.{path}: ")
    assert fragment in message


def test_the_naming_table_covers_the_lists_the_sdk_addresses_by_name() -> None:
    assert LIST_NAMING_FIELDS["Outputs"][0] == "OutputName"
    assert LIST_NAMING_FIELDS["ProcessingInputs"][0] == "InputName"
    assert LIST_NAMING_FIELDS["FinalMetricDataList"][0] == "MetricName"
    assert LIST_NAMING_FIELDS["InputDataConfig"][0] == "ChannelName"
    assert LIST_NAMING_FIELDS["OutputParameters"] == ("Name", "Value")
