"""Condition semantics: the five comparisons, ``In``, ``Not`` and ``Or``; a ConditionStep ANDs
its list (there is no ``And`` type).

Comparison rules (see :mod:`pipelines.expressions.values` for why):

* numbers compare by value, ``3 == 3.0``; booleans are not numbers;
* a plain decimal string against a number compares as that number (``"0.85" > 0.8``);
* ``Equals`` on any other mix of types is False, never an error; ``In`` is an ``Or`` of
  ``Equals`` against each of ``Values``;
* ordering compares two numbers, or two strings by code point; ordering anything else
  (booleans, null, objects, a string against a number) is an :class:`ExpressionTypeError`;
* ``Or`` and the AND-ed list stop at the first member that decides them, so an error in a
  later member does not surface (as with the SDK's local executor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.expressions.context import EvaluationContext
from pipelines.expressions.errors import (
    ExpressionTypeError,
    MalformedExpressionError,
    UnsupportedExpressionError,
)
from pipelines.expressions.evaluator import evaluate
from pipelines.expressions.values import as_number, is_number

_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
CONDITION_TYPES = ("Equals", *_ORDERINGS, "In", "Not", "Or")


def values_equal(left: Any, right: Any) -> bool:
    """``Equals`` on two resolved values."""
    if is_number(left) or is_number(right):
        left_number, right_number = as_number(left), as_number(right)
        return left_number is not None and right_number is not None and left_number == right_number
    return type(left) is type(right) and bool(left == right)


def _ordered_operands(condition: Any, left: Any, right: Any) -> tuple[Any, Any]:
    if is_number(left) or is_number(right):
        left_number, right_number = as_number(left), as_number(right)
        if left_number is not None and right_number is not None:
            return left_number, right_number
    elif isinstance(left, str) and isinstance(right, str):
        return left, right
    raise ExpressionTypeError(
        condition, f"cannot order {_describe(left)} against {_describe(right)} ({condition.get('Type')})"
    )


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if is_number(value):
        return f"number {value}"
    return "an object" if isinstance(value, dict) else "a list"


def _member(condition: dict[str, Any], name: str) -> Any:
    if name not in condition:
        raise MalformedExpressionError(condition, f"a {condition['Type']} condition needs {name}")
    return condition[name]


def evaluate_condition(condition: Any, ctx: EvaluationContext) -> bool:
    """One condition object, operands resolved through :func:`evaluate`."""
    if not isinstance(condition, dict) or not isinstance(condition.get("Type"), str):
        raise MalformedExpressionError(condition, "a condition is an object with a string Type")
    kind = condition["Type"]
    if kind == "Equals" or kind in _ORDERINGS:
        left = evaluate(_member(condition, "LeftValue"), ctx)
        right = evaluate(_member(condition, "RightValue"), ctx)
        if kind == "Equals":
            return values_equal(left, right)
        return _ORDERINGS[kind](*_ordered_operands(condition, left, right))
    if kind == "In":
        query = evaluate(_member(condition, "QueryValue"), ctx)
        values = evaluate(_member(condition, "Values"), ctx)
        if not isinstance(values, list):
            raise ExpressionTypeError(condition, "In Values must be a list")
        return any(values_equal(query, value) for value in values)
    if kind == "Not":
        return not evaluate_condition(_member(condition, "Condition"), ctx)
    if kind == "Or":
        conditions = _member(condition, "Conditions")
        if not isinstance(conditions, list):
            raise MalformedExpressionError(condition, "Or Conditions must be a list")
        return any(evaluate_condition(member, ctx) for member in conditions)
    raise UnsupportedExpressionError(
        condition, f"unknown condition type {kind!r} (supported: {', '.join(CONDITION_TYPES)})"
    )


def evaluate_conditions(conditions: list[Any], ctx: EvaluationContext) -> bool:
    """A ConditionStep's ``Conditions``: True when every one holds (True for an empty list)."""
    return all(evaluate_condition(condition, ctx) for condition in conditions)
