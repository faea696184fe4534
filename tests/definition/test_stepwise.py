"""The stepwise check (a few steps at a time) gives exactly the whole-document check's report.

``check_definition`` splits the text into its top-level values and each step's raw text, and
parses, models and locally checks a chunk of steps at a time (``pipelines.definition.stepwise``);
any text it does not take is checked whole. Both must agree on every definition: the model, the
errors and warnings with their paths and order, and the DAG. The chunk size is drawn small here,
so that the small real definitions span several chunks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipelines.definition import check_definition, stepwise
from pipelines.definition.parser import parse_decoded, parse_steps, split_steps
from pipelines.definition.problems import Report
from pipelines.definition.validation import validate_with_graph
from pipelines.graph import CycleError

from .builders import base_definition
from .test_fuzz import DEFINITION_TEXTS, _paths, mutated_definition
from .test_parser import _JSON_VALUES

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _summary(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.warnings],
    }
    if report.definition is not None:
        out["definition"] = report.definition.model_dump(mode="json", by_alias=True, exclude_unset=True)
        out["fields_set"] = sorted(report.definition.model_fields_set)
    if report.graph is not None:
        out["edges"] = report.graph.edges()
        try:
            out["order"] = report.graph.topological_order()
        except CycleError as exc:
            out["cycle"] = exc.cycle
    return out


def _whole(text: str) -> Report:
    """The whole-document check: parse all, model all, then every rule."""
    definition, problems = parse_decoded(text)
    if definition is None:
        return Report(definition=None, errors=problems, warnings=[])
    errors, warnings, graph = validate_with_graph(definition)
    return Report(definition=definition, errors=errors, warnings=warnings, graph=graph)


def assert_stepwise_agrees(text: str, chunk: int, monkeypatch: pytest.MonkeyPatch) -> Report | None:
    monkeypatch.setattr(stepwise, "CHUNK_STEPS", chunk)
    report = stepwise.check_stepwise(text)
    whole = _whole(text)
    if report is None:
        # Only a text with a syntax or schema problem, or a value pydantic-core's parser
        # refuses, is left to the whole check.
        assert whole.definition is None or "1e" in text.lower() or "\\u" in text
    else:
        assert _summary(report) == _summary(whole)
    assert _summary(check_definition(text)) == _summary(whole)
    return report


@pytest.mark.parametrize("index", range(len(DEFINITION_TEXTS)))
@pytest.mark.parametrize("chunk", [1, 2, 32])
def test_real_definitions_are_checked_stepwise_and_agree(
    index: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = assert_stepwise_agrees(DEFINITION_TEXTS[index], chunk, monkeypatch)
    assert report is not None  # a valid definition takes the stepwise path


@pytest.mark.parametrize("index", range(len(DEFINITION_TEXTS)))
@SETTINGS
@given(data=st.data())
def test_mutated_definitions_agree(index: int, data: st.DataObject) -> None:
    document = mutated_definition(index, data)
    with pytest.MonkeyPatch.context() as patch:
        assert_stepwise_agrees(json.dumps(document), data.draw(st.integers(1, 4)), patch)


def _many_steps(count: int) -> dict[str, Any]:
    """The base definition's steps repeated under new names, each copy reading its own steps."""
    base = base_definition()
    text = json.dumps(base["Steps"])
    names = [_value(base["Steps"], p) for p in _paths(base["Steps"]) if p and p[-1] == "Name"]
    steps: list[Any] = []
    for copy in range(count // len(base["Steps"]) + 1):
        renamed = text
        for name in names:
            renamed = renamed.replace(f'"{name}"', f'"{name}{copy}"').replace(
                f"Steps.{name}.", f"Steps.{name}{copy}."
            )
        steps += json.loads(renamed)
    return {**base, "Steps": steps[:count]}


def _value(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@pytest.mark.parametrize(
    ("break_at", "expected"),
    [
        (None, None),
        (70, "Steps[70].Name"),  # a schema problem in a later chunk: the whole check's path
        (0, "Steps[0].Name"),
    ],
)
def test_a_schema_problem_in_any_chunk_is_reported_as_the_whole_check_reports_it(
    break_at: int | None, expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _many_steps(100)
    if break_at is not None:
        document["Steps"][break_at]["Name"] = 7
    report = assert_stepwise_agrees(json.dumps(document), 32, monkeypatch)
    if expected is None:
        assert report is not None and not report.errors
    else:
        assert report is None
        assert [p.path for p in check_definition(json.dumps(document)).errors] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        '{"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Fail"},]}',  # syntax
        '{"Version": "2020-12-01", "Steps": {"A": 1}}',  # Steps not an array
        '{"Version": "2020-12-01"}',  # no Steps
        '{"Version": "2020-12-01", "Steps": [], "Steps": 3}',  # the last of a repeated key counts
        '{"Version": "2020-12-01", "Steps": 3, "Steps": []}',
        '[{"Version": "2020-12-01", "Steps": []}]',  # not an object
        '{"Version": 1, "Steps": [{"Name": "A", "Type": "Fail", "Arguments": {}}]}',  # top level
        '{"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Fail", "X": NaN}]}',
        '{"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Fail", "X": 1e400}]}',
        '{"Version": "2020-12-01", "Steps": [{"Name": "A\\ud800", "Type": "Fail"}]}',
        '{"Version": "2020-12-01", "Steps": [' + "[" * 300 + "]" * 300 + "]}",
        '{"Version": "2020-12-01", "Steps": [{"Name": "A", "Type": "Fail"}]} x',  # trailing text
    ],
)
def test_texts_the_stepwise_check_does_not_take_are_checked_whole(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_stepwise_agrees(text, 1, monkeypatch)


@settings(max_examples=200, deadline=None)
@given(st.lists(_JSON_VALUES, max_size=4), st.dictionaries(st.text(max_size=6), _JSON_VALUES, max_size=3))
def test_split_steps_parses_as_the_json_module(steps: list[Any], others: dict[str, Any]) -> None:
    """Each step's raw text parses to what ``json.loads`` gives for it in the whole text, and
    the other top-level values too, in order, with the Steps key where it was."""
    text = json.dumps({**others, "Steps": steps, "After": 1})
    split = split_steps(text)
    if split is None:  # a surrogate escape: only the json module tells a lone one, whole
        assert "\\ud" in text.lower()
        return
    top, raw_steps = split
    expected = json.loads(text)
    assert list(top) == list(expected)
    assert json.dumps({**top, "Steps": parse_steps(raw_steps)}) == json.dumps(expected)
