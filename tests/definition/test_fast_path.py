"""The validator's fast path for clean steps never changes a report.

A step's expressions are checked in no set order, from what its Arguments walk skipped, and
looked up in a per-validation memo; only when one has a problem are they checked again in
document order, with paths (``scan_reads`` and ``known_reads``, then
``StepReferenceChecker.check``). Forcing every step down the exact path must give the same
errors, warnings, paths and DAG, for mutated real definitions and for reads retargeted at what
exists, what does not and what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipelines.definition import Report, check_definition, validation
from pipelines.definition.grammar import CONDITION_LIST, plain_comparisons
from pipelines.graph import CycleError

from .test_fuzz import DEFINITION_TEXTS, JSON, _paths, mutated_definition

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# What a retargeted Get reads; {step} is a step of the definition.
TARGETS = [
    "Parameters.Missing",
    "Execution.PipelineExecutionId",
    "Execution.Nope",
    "Steps.Missing.ModelArtifacts.S3ModelArtifacts",
    "Steps.{step}",
    "Steps.{step}.Bogus",
    "Steps.{step}.ModelArtifacts.S3ModelArtifacts",
    "Steps.{step}.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri",
    "Steps.{step}.ProcessingOutputConfig.Outputs['missing'].S3Output.S3Uri",
    "Steps.{step}.OutputParameters['missing']",
    "Steps.{step}.PropertyFiles.EvaluationReport",
    "Steps.{step}.Outcome",
    "PipelineExperimentConfig.ExperimentName",
    "ForEach.CurrentItem",
    "Unknown.Namespace",
    "Steps.",
    "Steps.{step}[",
]


def _report(text: str) -> dict[str, Any]:
    report: Report = check_definition(text)
    out: dict[str, Any] = report.to_dict()
    graph = report.graph
    if graph is not None:
        out["edges"] = graph.edges()
        try:
            out["order"] = graph.topological_order()
        except CycleError as exc:
            out["order"] = exc.cycle
    return out


def assert_fast_path_agrees(text: str) -> None:
    fast = _report(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "known_reads", lambda scope, step, namespaces, values, scan: None)
        exact = _report(text)
    assert fast == exact


def _step_names(document: Any) -> list[str]:
    return [
        value["Name"]
        for path in _paths(document)
        if isinstance(value := _at(document, path), dict) and isinstance(value.get("Name"), str)
    ]


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@pytest.mark.parametrize("index", range(len(DEFINITION_TEXTS)))
@SETTINGS
@given(data=st.data())
def test_retargeted_reads(index: int, data: st.DataObject) -> None:
    document = json.loads(DEFINITION_TEXTS[index])
    names = _step_names(document) or ["A"]
    gets = [
        path
        for path in _paths(document)
        if isinstance(_at(document, path), dict) and "Get" in _at(document, path)
    ]
    for path in data.draw(st.lists(st.sampled_from(gets), max_size=3)) if gets else []:
        target = data.draw(st.sampled_from(TARGETS)).format(step=data.draw(st.sampled_from(names)))
        _at(document, path)["Get"] = target
    assert_fast_path_agrees(json.dumps(document))


@pytest.mark.parametrize("index", range(len(DEFINITION_TEXTS)))
@SETTINGS
@given(data=st.data())
def test_mutated_definitions(index: int, data: st.DataObject) -> None:
    assert_fast_path_agrees(json.dumps(mutated_definition(index, data)))


OPERANDS = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.booleans(),
    st.sampled_from(
        [{"Get": "Parameters.A"}, {"Std:Join": {"On": ",", "Values": []}}, {"Get": "x", "Other": 1}]
    ),
    JSON,
)
CONDITIONS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "Type": st.sampled_from(["Equals", "LessThan", "GreaterThanOrEqualTo", "In", "Not", "Bogus"]),
                "LeftValue": OPERANDS,
                "RightValue": OPERANDS,
            },
            optional={"Values": JSON, "Extra": JSON},
        ),
        JSON,
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(CONDITIONS, JSON))
def test_plain_comparisons_are_what_the_condition_models_accept(conditions: Any) -> None:
    """The shortcut that skips pydantic for plain comparisons never lets through what the
    models would report."""
    if plain_comparisons(conditions):
        CONDITION_LIST.validate_python(conditions, strict=True)


def test_a_plain_comparison_takes_the_shortcut_and_a_wrong_one_does_not() -> None:
    plain = [{"Type": "LessThan", "LeftValue": {"Get": "Parameters.A"}, "RightValue": 1.5}]
    assert plain_comparisons(plain)
    wrong = [{"Type": "LessThan", "LeftValue": None, "RightValue": 1.5}]
    assert not plain_comparisons(wrong)
    with pytest.raises(pydantic.ValidationError):
        CONDITION_LIST.validate_python(wrong, strict=True)
