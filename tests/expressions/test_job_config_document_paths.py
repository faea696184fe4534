"""Property paths into a Job step's ``JobConfigDocument``: a JSON document held as a string,
which the v3 SDK documents the service parsing lazily when a path descends into it."""

from __future__ import annotations

import json

import pytest
from pipelines.expressions.errors import PropertyNotFoundError, PropertyPathError
from pipelines.expressions.paths import Field, Index, Key
from pipelines.expressions.properties import resolve_property_path

DOCUMENT = {
    "InputDataConfig": [{"ChannelName": "evaluation", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/p"}}}],
    "ServiceOutput": {"MlflowDetails": {"RunId": "8f1c2a", "Metrics": {"pass@1": 0.5}}},
}
PROPERTIES = {"JobName": "j", "JobConfigDocument": json.dumps(DOCUMENT)}


def resolve(*path: Field | Index | Key) -> object:
    return resolve_property_path(PROPERTIES, list(path), step_name="Evaluate")


def test_a_path_into_the_document_reads_the_parsed_json() -> None:
    details = Field("ServiceOutput"), Field("MlflowDetails")
    assert resolve(Field("JobConfigDocument"), *details, Field("RunId")) == "8f1c2a"
    assert resolve(Field("JobConfigDocument"), *details, Field("Metrics"), Key("pass@1")) == 0.5
    channel = resolve(Field("JobConfigDocument"), Field("InputDataConfig"), Key("evaluation"))
    assert channel == DOCUMENT["InputDataConfig"][0]
    assert (
        resolve(Field("JobConfigDocument"), Field("InputDataConfig"), Index(0), Field("ChannelName"))
        == "evaluation"
    )


def test_the_document_itself_stays_the_string() -> None:
    assert resolve(Field("JobConfigDocument")) == PROPERTIES["JobConfigDocument"]


def test_a_missing_member_names_the_path() -> None:
    with pytest.raises(PropertyNotFoundError, match=r"JobConfigDocument\.ServiceOutput\.ModelArn"):
        resolve(Field("JobConfigDocument"), Field("ServiceOutput"), Field("ModelArn"))


def test_a_document_that_is_not_json_is_a_path_error() -> None:
    with pytest.raises(PropertyPathError, match="'JobConfigDocument' is not a JSON document"):
        resolve_property_path(
            {"JobConfigDocument": "not json"}, [Field("JobConfigDocument"), Field("X")], step_name="Evaluate"
        )


def test_other_string_members_are_not_parsed() -> None:
    with pytest.raises(PropertyPathError, match="has no field"):
        resolve_property_path({"JobName": '{"a": 1}'}, [Field("JobName"), Field("a")], step_name="Evaluate")
