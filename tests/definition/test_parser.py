"""Syntax and schema: every bad input is a typed DefinitionError with a position or a path."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipelines.definition import (
    DefinitionError,
    Problem,
    check_definition,
    load_definition,
    parse_definition,
    validate_definition,
)
from pipelines.definition.models import MAX_DEFINITION_CHARS, GenericStep
from pipelines.definition.parser import parse_json
from pipelines.errors import ValidationError

from .builders import base_definition, check, only


def test_malformed_json_gives_line_column_offset_and_snippet() -> None:
    text = '{\n  "Version": "2020-12-01",\n  "Steps": [\n    {"Name": "A",, "Type": "Fail"}\n  ]\n}'
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text)
    problem = only(caught.value.problems)
    assert (problem.kind, problem.line, problem.column) == ("json", 4, 18)
    assert problem.offset == text.index(",,") + 1
    assert problem.snippet is not None
    snippet_line, caret_line = problem.snippet.splitlines()
    assert '{"Name": "A",, "Type": "Fail"}' in snippet_line
    assert snippet_line[caret_line.index("^")] == ","
    assert "line 4, column 18 (char" in str(problem)


def test_snippet_of_a_long_single_line_document_is_cut_around_the_error() -> None:
    text = '{"Steps": [' + ", ".join(['{"Name": "x"}'] * 2000) + ", ]}"
    problem = only(check_definition(text).errors)
    assert problem.line == 1 and problem.offset == len(text) - 2
    assert problem.snippet is not None and len(problem.snippet.splitlines()[0]) < 100


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "the definition is empty"),
        ("  \n\t", "the definition is empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": "NaN", "b": -Infinity}', "-Infinity is not JSON"),
        ("[" * 100_000, "nesting is too deep"),
        ("1" * 5000, "invalid JSON"),
        ('{"Version": "2020-12-01", "Steps": []', "invalid JSON"),
    ],
)
def test_undecodable_input_is_a_json_or_encoding_problem(text: str | bytes, message: str) -> None:
    report = check_definition(text)
    assert report.definition is None
    problem = only(report.errors)
    assert problem.kind in {"json", "encoding"}
    assert message in problem.message


def test_non_standard_constant_is_located_outside_strings() -> None:
    problem = only(check_definition('{"a": "NaN", "b": NaN}').errors)
    assert problem.offset == 18


def test_utf8_bom_is_tolerated() -> None:
    assert check_definition(b"\xef\xbb\xbf" + json.dumps(base_definition()).encode()).ok


@pytest.mark.parametrize(
    ("text", "got"), [("[]", "array"), ("null", "null"), ("5", "number 5"), ('"x"', "string")]
)
def test_a_definition_must_be_an_object(text: str, got: str) -> None:
    problem = only(check_definition(text).errors)
    assert problem.kind == "schema" and problem.path == ""
    assert f"must be a JSON object, got {got}" in problem.message


def test_size_limit_counts_characters_not_bytes() -> None:
    definition = base_definition()
    definition["Metadata"] = {"pad": ""}
    padding = MAX_DEFINITION_CHARS - len(json.dumps(definition, ensure_ascii=False))
    definition["Metadata"] = {"pad": "é" * padding}  # two bytes each in UTF-8, one character
    text = json.dumps(definition, ensure_ascii=False)
    assert len(text) == MAX_DEFINITION_CHARS < len(text.encode())
    assert check_definition(text).ok
    assert check_definition(text.encode()).ok
    too_long = check_definition(text.replace('"pad": "', '"pad": "é', 1))
    assert only(too_long.errors).kind == "size"


def test_schema_errors_are_all_reported_with_clean_paths() -> None:
    definition = base_definition()
    definition["Parameters"][1]["Type"] = "Decimal"
    definition["Steps"][1]["RetryPolicies"][0]["MaxAttempts"] = "3"
    definition["Steps"][2]["Arguments"]["IfSteps"][1].pop("FunctionArn")
    definition["Steps"][3]["OutputParameters"][0]["OutputType"] = "Map"
    report = check(definition)
    assert report.definition is None
    by_path = {p.path: p for p in report.errors}
    assert set(by_path) == {
        "Parameters[1].Type",
        "Steps[1].RetryPolicies[0].MaxAttempts",
        "Steps[2].Arguments.IfSteps[1].FunctionArn",
        "Steps[3].OutputParameters[0].OutputType",
    }
    assert by_path["Parameters[1].Type"].allowed == ("String", "Integer", "Float", "Boolean")
    assert 'got string "Decimal"' in by_path["Parameters[1].Type"].message
    assert by_path["Steps[1].RetryPolicies[0].MaxAttempts"].message == 'must be an integer, got string "3"'
    assert by_path["Steps[2].Arguments.IfSteps[1].FunctionArn"].message == "required field is missing"
    assert by_path["Steps[3].OutputParameters[0].OutputType"].allowed == (
        "String",
        "Integer",
        "Float",
        "Boolean",
    )


def test_wrong_types_everywhere_never_leak_pydantic_internals() -> None:
    text = json.dumps(
        {
            "Version": 1,
            "Parameters": {},
            "Steps": [5, None, "x", {"Type": 5}, {"Name": "A"}, {"Name": "B", "Type": "Condition"}],
        }
    )
    report = check_definition(text)
    paths = {p.path: p.message for p in report.errors}
    assert paths == {
        "Version": "must be a string, got number 1",
        "Parameters": "must be an array, got object",
        "Steps[0]": "must be an object, got number 5",
        "Steps[1]": "must be an object, got null",
        "Steps[2]": 'must be an object, got string "x"',
        "Steps[3].Name": "required field is missing",
        "Steps[3].Type": "must be a string, got number 5",
        "Steps[4].Type": "required field is missing",
        "Steps[5].Arguments": "required field is missing",
    }
    for problem in report.errors:
        assert "Generic" not in problem.path and "Condition" not in problem.path


def test_condition_grammar_errors_name_the_condition_path_and_allowed_types() -> None:
    definition = base_definition()
    conditions = definition["Steps"][2]["Arguments"]["Conditions"]
    conditions.append({"Type": "And", "Conditions": []})
    conditions.append({"Type": "Not", "Expression": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}})
    conditions.append({"Type": "Or", "Conditions": [{"Type": "In", "QueryValue": 1, "Values": [{"a": 1}]}]})
    report = check(definition)
    by_path = {p.path: p for p in report.errors}
    assert set(by_path) == {
        "Steps[2].Arguments.Conditions[2].Type",
        "Steps[2].Arguments.Conditions[3].Condition",
        "Steps[2].Arguments.Conditions[3].Expression",
        "Steps[2].Arguments.Conditions[4].Conditions[0].Values[0]",
    }
    assert by_path["Steps[2].Arguments.Conditions[2].Type"].allowed == (
        "Equals",
        "GreaterThan",
        "GreaterThanOrEqualTo",
        "LessThan",
        "LessThanOrEqualTo",
        "In",
        "Not",
        "Or",
    )
    assert by_path["Steps[2].Arguments.Conditions[3].Expression"].message == "unknown property"


def test_unknown_step_type_is_kept_as_a_generic_step_with_a_warning() -> None:
    definition = base_definition()
    definition["Steps"].append({"Name": "Custom", "Type": "Teleport", "Arguments": {"x": 1}, "Extra": [1]})
    report = check(definition)
    assert report.ok
    warning = only(report.warnings)
    assert (warning.kind, warning.path) == ("unknown-step-type", "Steps[4].Type")
    assert report.definition is not None
    step = report.definition.step_map()["Custom"]
    assert isinstance(step, GenericStep)
    assert step.to_json_dict() == definition["Steps"][4]


def test_load_definition_raises_one_error_with_every_problem() -> None:
    definition = base_definition()
    definition["Steps"][1]["DependsOn"] = ["Nope", "Train"]
    definition["Steps"][3]["Arguments"]["x"] = {"Get": "Parameters.Missing"}
    with pytest.raises(DefinitionError) as caught:
        load_definition(json.dumps(definition))
    error = caught.value
    assert isinstance(error, ValidationError) and error.code == "ValidationException"
    assert len(error.problems) == 3
    assert str(error).count("\n  - ") == 3


def test_problem_reads_well_and_serialises_without_empty_fields() -> None:
    problem = Problem(kind="reference", message="no such step", path="Steps[0].Arguments.X.Get")
    assert str(problem) == "Steps[0].Arguments.X.Get: no such step"
    assert problem.to_dict() == {
        "kind": "reference",
        "message": "no such step",
        "path": "Steps[0].Arguments.X.Get",
        "severity": "error",
    }


def test_parse_then_validate_is_the_two_step_form_of_check() -> None:
    definition = base_definition()
    definition["Steps"][3]["DependsOn"] = ["Missing"]
    definition["Steps"][3]["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P1D"}
    parsed = parse_definition(json.dumps(definition))
    errors, warnings = validate_definition(parsed)
    assert [(p.kind, p.path) for p in errors] == [("depends-on", "Steps[3].DependsOn[0]")]
    assert [(p.kind, p.path) for p in warnings] == [("cache-config", "Steps[3].CacheConfig")]
    report = check(definition)
    assert (report.errors, report.warnings) == (errors, warnings)
    assert report.graph is not None and report.graph.upstream("Train") == {"Preprocess"}


# Well-formed text is parsed by pydantic-core's JSON parser, anything it refuses again by the
# json module: the value, the types (1, 1.0, True) and the key order must be the json module's.
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_a_well_formed_text_parses_to_what_the_json_module_gives(value: object, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    data, problems = parse_json(text)
    assert not problems
    assert json.dumps(data) == json.dumps(json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1e400, "b": -1e-400, "c": 1E+2, "d": -0, "e": 0.1, "f": 1.7976931348623157e308}',
        '{"a": 1, "a": 2}',  # the last of a repeated key, as the json module keeps it
        '{"a": "\\ud83d\\ude00 \\u00e9 \\/ \\u0000"}',  # an escaped pair, escapes, NUL
        "[" * 300 + "]" * 300,  # deeper than pydantic-core parses: the json module does
        '{"a": ' + "9" * 4300 + "}",  # the longest integer Python converts by default
    ],
)
def test_edge_texts_parse_as_the_json_module_parses_them(text: str) -> None:
    data, problems = parse_json(text)
    assert not problems
    assert json.dumps(data) == json.dumps(json.loads(text))


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ('{"a": NaN}', "json", "NaN is not JSON"),
        ('{"a": "\\ud800"}', "encoding", "lone surrogate"),
        ('{"a": 1,}', "json", "invalid JSON"),
        ('{"a": "x\ny"}', "json", "invalid JSON"),
        ('{"a": ' + "9" * 4301 + "}", "json", "invalid JSON"),
    ],
)
def test_texts_the_fast_parser_refuses_get_the_json_modules_problem(
    text: str, kind: str, message: str
) -> None:
    data, problems = parse_json(text)
    assert data is None
    assert [p.kind for p in problems] == [kind] and message in problems[0].message
