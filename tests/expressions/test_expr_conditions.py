"""Condition types, comparison rules and the algebra they must obey."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pipelines.expressions import (
    EvaluationContext,
    ExpressionError,
    ExpressionTypeError,
    MalformedExpressionError,
    UndefinedReferenceError,
    UnsupportedExpressionError,
    evaluate_condition,
    evaluate_conditions,
)

from .builders import make_context


def cmp(kind: str, left: Any, right: Any) -> dict[str, Any]:
    return {"Type": kind, "LeftValue": left, "RightValue": right}


def in_(query: Any, values: Any) -> dict[str, Any]:
    return {"Type": "In", "QueryValue": query, "Values": values}


def not_(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Not", "Condition": condition}


def or_(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Or", "Conditions": list(conditions)}


MSE = {
    "Std:JsonGet": {
        "PropertyFile": {"Get": "Steps.Preprocess.PropertyFiles.EvaluationReport"},
        "Path": "regression_metrics.mse.value",
    }
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (cmp("Equals", 3, 3), True),
        (cmp("Equals", 3, 3.0), True),
        (cmp("Equals", {"Get": "Parameters.Count"}, 3), True),
        (cmp("Equals", "a", "a"), True),
        (cmp("Equals", "a", "b"), False),
        (cmp("Equals", True, True), True),
        (cmp("Equals", {"Get": "Parameters.Flag"}, False), False),
        (cmp("Equals", True, 1), False),
        (cmp("Equals", "true", True), False),
        (cmp("Equals", {"Get": "Steps.Check.Outcome"}, "True"), True),
        (cmp("Equals", {"Get": "Steps.Check.Outcome"}, True), False),
        (cmp("Equals", "3", 3), True),
        (cmp("Equals", "0.85", 0.85), True),
        (cmp("Equals", "abc", 3), False),
        (cmp("Equals", None, None), True),
        (cmp("Equals", None, 0), False),
        (cmp("Equals", [1, "a"], [1, "a"]), True),
        (cmp("Equals", {"a": 1}, [1]), False),
        (cmp("GreaterThan", 3, 2.5), True),
        (cmp("GreaterThan", 3, 3.0), False),
        (cmp("GreaterThanOrEqualTo", 3, 3.0), True),
        (cmp("LessThan", -1, 0), True),
        (cmp("LessThanOrEqualTo", MSE, {"Get": "Parameters.Threshold"}), True),
        (cmp("GreaterThan", MSE, {"Get": "Parameters.Threshold"}), False),
        (
            cmp(
                "GreaterThan",
                {
                    "Std:JsonGet": {
                        "PropertyFile": {"Get": "Steps.Preprocess.PropertyFiles.EvaluationReport"},
                        "Path": "as_string",
                    }
                },
                0.8,
            ),
            True,
        ),
        (cmp("LessThan", "apple", "banana"), True),
        (cmp("GreaterThanOrEqualTo", "2024-05-01", "2024-04-30"), True),
        (in_({"Get": "Parameters.Name"}, ["x", "abc"]), True),
        (in_({"Get": "Parameters.Name"}, ["x", "y"]), False),
        (in_(3, [1.0, 3.0]), True),
        (in_(True, [1]), False),
        (in_("a", []), False),
        (not_(cmp("Equals", 1, 2)), True),
        (not_(not_(cmp("Equals", 1, 2))), False),
        (or_(cmp("Equals", 1, 2), cmp("Equals", 2, 2)), True),
        (or_(cmp("Equals", 1, 2)), False),
        (or_(), False),
    ],
)
def test_conditions(condition: dict[str, Any], expected: bool) -> None:
    assert evaluate_condition(condition, make_context()) is expected


@pytest.mark.parametrize(
    ("condition", "error", "fragment"),
    [
        (
            cmp("GreaterThan", True, False),
            ExpressionTypeError,
            "cannot order boolean true against boolean false",
        ),
        (cmp("LessThan", "abc", 3), ExpressionTypeError, "cannot order string 'abc' against number 3"),
        (cmp("LessThan", None, 3), ExpressionTypeError, "null"),
        (cmp("LessThan", [1], [2]), ExpressionTypeError, "a list"),
        (cmp("Matches", 1, 1), UnsupportedExpressionError, "unknown condition type 'Matches'"),
        ({"Type": "And", "Conditions": []}, UnsupportedExpressionError, "unknown condition type 'And'"),
        ({"Type": "Equals", "LeftValue": 1}, MalformedExpressionError, "needs RightValue"),
        ({"Type": "Not", "Expression": cmp("Equals", 1, 1)}, MalformedExpressionError, "needs Condition"),
        ({"Type": "Or", "Conditions": {"Type": "Equals"}}, MalformedExpressionError, "must be a list"),
        ({"Type": "In", "QueryValue": 1, "Values": 1}, ExpressionTypeError, "In Values must be a list"),
        ({"LeftValue": 1, "RightValue": 1}, MalformedExpressionError, "string Type"),
        ("Equals", MalformedExpressionError, "string Type"),
        (cmp("Equals", {"Get": "Parameters.Nope"}, 1), UndefinedReferenceError, "Parameters.Nope"),
    ],
)
def test_condition_errors(condition: Any, error: type[ExpressionError], fragment: str) -> None:
    with pytest.raises(error) as caught:
        evaluate_condition(condition, make_context())
    assert fragment in str(caught.value)


def test_the_condition_list_is_anded() -> None:
    ctx = make_context()
    assert evaluate_conditions([cmp("Equals", 1, 1), cmp("LessThan", 1, 2)], ctx) is True
    assert evaluate_conditions([cmp("Equals", 1, 1), cmp("LessThan", 2, 1)], ctx) is False
    assert evaluate_conditions([], ctx) is True


# --- algebra ---------------------------------------------------------------------------------

_NUMBERS = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
_VALUES = st.one_of(_NUMBERS, st.text(max_size=4), st.booleans(), st.none())
_COMPARISONS = ("Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")


_LEAVES = st.one_of(
    st.builds(in_, _VALUES, st.lists(_VALUES, max_size=4)),
    st.builds(lambda a, b: cmp("Equals", a, b), _VALUES, _VALUES),
    st.builds(cmp, st.sampled_from(_COMPARISONS[1:]), _NUMBERS, _NUMBERS),
)
# Well-typed conditions: orderings only between numbers, so evaluation never raises.
_CONDITIONS = st.recursive(
    _LEAVES,
    lambda children: st.one_of(children.map(not_), st.lists(children, max_size=3).map(lambda cs: or_(*cs))),
    max_leaves=8,
)


def conditions() -> st.SearchStrategy[dict[str, Any]]:
    return _CONDITIONS


CTX = EvaluationContext()


def holds(condition: dict[str, Any]) -> bool:
    return evaluate_condition(condition, CTX)


@given(conditions())
def test_double_negation(c: dict[str, Any]) -> None:
    assert holds(not_(not_(c))) == holds(c)


@given(conditions())
def test_single_or_is_identity(c: dict[str, Any]) -> None:
    assert holds(or_(c)) == holds(c)


@given(conditions(), conditions())
def test_de_morgan(a: dict[str, Any], b: dict[str, Any]) -> None:
    # not (a or b) == (not a) and (not b); and via the AND-ed list.
    assert holds(not_(or_(a, b))) == evaluate_conditions([not_(a), not_(b)], CTX)
    # not (a and b) == (not a) or (not b)
    assert (not evaluate_conditions([a, b], CTX)) == holds(or_(not_(a), not_(b)))


@given(_VALUES, st.lists(_VALUES, max_size=5))
def test_in_is_an_or_of_equals(query: Any, values: list[Any]) -> None:
    assert holds(in_(query, values)) == holds(or_(*(cmp("Equals", query, v) for v in values)))


@given(_NUMBERS, _NUMBERS)
def test_orderings_are_complements_for_numbers(a: float, b: float) -> None:
    assert holds(cmp("GreaterThan", a, b)) == holds(not_(cmp("LessThanOrEqualTo", a, b)))
    assert holds(cmp("LessThan", a, b)) == holds(not_(cmp("GreaterThanOrEqualTo", a, b)))
    assert holds(cmp("GreaterThanOrEqualTo", a, b)) == holds(
        or_(cmp("GreaterThan", a, b), cmp("Equals", a, b))
    )
    assert holds(cmp("LessThan", a, b)) == holds(cmp("GreaterThan", b, a))


@given(_VALUES, _VALUES)
def test_equals_is_symmetric_and_never_raises(a: Any, b: Any) -> None:
    assert holds(cmp("Equals", a, b)) == holds(cmp("Equals", b, a))


@given(st.integers(-(10**6), 10**6))
def test_numeric_strings_compare_like_their_numbers(n: int) -> None:
    assert holds(cmp("Equals", str(n), n))
    assert holds(cmp("GreaterThan", str(n), n - 0.5))
