"""Whatever the input, the result is a typed DefinitionError or a model, never another exception."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipelines.definition import (
    DefinitionError,
    PipelineDefinition,
    Report,
    check_definition,
    load_definition,
)

from tests.project_files import PROJECT_DEFINITIONS

from .builders import base_definition

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = [
    "Version",
    "Steps",
    "Parameters",
    "Name",
    "Type",
    "Arguments",
    "DependsOn",
    "Get",
    "Std:Join",
    "Std:JsonGet",
    "On",
    "Values",
    "Conditions",
    "IfSteps",
    "ElseSteps",
    "Condition",
    "LeftValue",
    "RightValue",
    "PropertyFile",
    "Path",
    "RetryPolicies",
    "CacheConfig",
    "ExpireAfter",
    "Enabled",
    "ExceptionType",
    "MaxAttempts",
    "PropertyFiles",
    "OutputParameters",
    "OutputName",
    "FunctionArn",
    "RoleArn",
    "DefaultValue",
    "EnumValues",
]
STRINGS = st.one_of(
    st.sampled_from(
        [
            "2020-12-01",
            "Training",
            "Processing",
            "Condition",
            "Fail",
            "Lambda",
            "Callback",
            "Model",
            "EMR",
            "Equals",
            "Not",
            "Or",
            "In",
            "Steps.A.ModelArtifacts.S3ModelArtifacts",
            "Parameters.P",
            "Execution.PipelineName",
            "Steps.A",
            "Steps.B.PropertyFiles.R",
            "P30D",
            "30dT5h",
            "String",
            "Integer",
            "Step.THROTTLING",
            "A",
            "B",
            "ml.m5.xlarge",
            "Steps.A.Outcome",
            "Steps[0]",
        ]
    ),
    st.text(max_size=12),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    STRINGS,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=40,
)


def assert_typed(text: str | bytes) -> Report:
    report = check_definition(text)
    assert isinstance(report, Report)
    assert report.definition is None or isinstance(report.definition, PipelineDefinition)
    assert report.definition is not None or report.errors
    for problem in [*report.errors, *report.warnings]:
        assert problem.kind and problem.message
        str(problem)
    try:
        load_definition(text)
    except DefinitionError as exc:
        assert exc.problems
    return report


@SETTINGS
@given(JSON)
def test_arbitrary_json_never_crashes(value: Any) -> None:
    assert_typed(json.dumps(value))


@SETTINGS
@given(st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6), st.lists(JSON, max_size=4))
def test_definition_shaped_json_never_crashes(top: dict[str, Any], steps: list[Any]) -> None:
    assert_typed(json.dumps({"Version": "2020-12-01", **top, "Steps": steps}))


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    assert_typed(data)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


def _mutate(document: Any, path: tuple[Any, ...], action: str, replacement: Any) -> Any:
    if not path:
        return replacement
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = replacement
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    else:
        parent[key] = [parent[key]]
    return document


DEFINITION_TEXTS = [path.read_text(encoding="utf-8") for path in PROJECT_DEFINITIONS]
DEFINITION_TEXTS.append(json.dumps(base_definition()))


def mutated_definition(index: int, data: st.DataObject) -> Any:
    """``DEFINITION_TEXTS[index]`` with one to three values deleted, replaced, duplicated or
    wrapped at drawn places."""
    document = json.loads(DEFINITION_TEXTS[index])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        action = data.draw(st.sampled_from(["delete", "replace", "duplicate", "wrap"]))
        document = _mutate(document, path, action, data.draw(JSON))
    return document


@pytest.mark.parametrize("index", range(len(DEFINITION_TEXTS)))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_definitions_never_crash(index: int, data: st.DataObject) -> None:
    assert_typed(json.dumps(mutated_definition(index, data)))


@pytest.mark.parametrize("index", range(len(DEFINITION_TEXTS)))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_truncated_or_spliced_text_never_crashes(index: int, data: st.DataObject) -> None:
    text = DEFINITION_TEXTS[index]
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.text(max_size=5))
    assert_typed(text[:cut] + insert + text[cut + data.draw(st.integers(0, 5)) :])
