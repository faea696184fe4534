"""Job names per attempt: the documented forms, the per-type limits from botocore, sanitising."""

from __future__ import annotations

import re

import pytest
from pipelines.engine.job_names import job_name, max_length

BOTOCORE_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


@pytest.mark.parametrize(
    ("step_type", "step_name", "prefix", "failures", "expected"),
    [
        ("Training", "TrainAbaloneModel", None, 0, "pipelines-abcdef123456-TrainAbaloneModel-Tok3n5AB-0"),
        (
            "Processing",
            "Preprocess_Abalone_Data_Step",
            None,
            2,
            "pipelines-abcdef123456-Preprocess-Abalone-D-Tok3n5AB-2",
        ),
        ("Transform", "T", "MyBaseJobName", 1, "MyBaseJobName-abcdef123456-Tok3n5AB-1"),
        ("Training", "T", "my_prefix", 0, "my-prefix-abcdef123456-Tok3n5AB-0"),
        ("Tuning", "T", "tune", 0, "tune-abcdef123456-Tok3n5AB-0"),
    ],
)
def test_documented_forms(step_type, step_name, prefix, failures, expected) -> None:
    assert job_name(step_type, step_name, "abcdef123456", "Tok3n5AB", failures, prefix) == expected


@pytest.mark.parametrize(
    "step_type", ["Training", "Processing", "Transform", "Tuning", "AutoML", "Model", "Lambda"]
)
@pytest.mark.parametrize("prefix", [None, "x" * 38, "a_b" * 20])
@pytest.mark.parametrize("step_name", ["S", "Very_Long_Step-Name_That_Goes_On_And_On_1234567890"])
def test_names_always_fit_the_job_type(step_type, prefix, step_name) -> None:
    name = job_name(step_type, step_name, "abcdef123456", "Tok3n5AB", 19, prefix)
    limit = {"Tuning": 32, "AutoML": 32}.get(step_type, 63)
    assert len(name) <= limit
    assert BOTOCORE_PATTERN.match(name), name
    assert "abcdef123456" in name and name.endswith("-19")


def test_limits_come_from_botocore() -> None:
    assert (max_length("TrainingJobName"), max_length("HyperParameterTuningJobName")) == (63, 32)


def test_tuning_prefix_is_cut_to_six_characters() -> None:
    assert (
        job_name("Tuning", "T", "abcdef123456", "Tok3n5AB", 0, "abcdefghij")
        == "abcdef-abcdef123456-Tok3n5AB-0"
    )
