"""Why an expression could not be resolved at run time.

The engine turns these into a step failure, so each message names the expression it came
from: a FailureReason such as ``Steps.Train.ModelArtifacts.S3ModelArtifacts: step 'Train'
has no properties`` tells the user where to look without a stack trace.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.errors import PipelinesError

_MAX_SHOWN = 200


def describe_expression(expression: Any) -> str:
    """A short, stable rendering of an expression for error messages."""
    if isinstance(expression, str):
        return expression
    if isinstance(expression, dict) and len(expression) == 1 and isinstance(expression.get("Get"), str):
        return str(expression["Get"])
    try:
        text = json.dumps(expression, separators=(",", ":"), sort_keys=False, default=str)
    except (TypeError, ValueError):
        text = repr(expression)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class ExpressionError(PipelinesError):
    """An expression in a definition could not be turned into a value."""

    code = "ValidationException"

    def __init__(self, expression: Any, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"{describe_expression(expression)}: {reason}")


class UndefinedReferenceError(ExpressionError):
    """The expression names something that has no value (yet): an unknown parameter, an
    execution variable outside its step type, a step that has not produced properties."""


class PropertyNotFoundError(UndefinedReferenceError):
    """A property path is well-formed but the step's properties do not contain it."""


class JsonPathNotFoundError(UndefinedReferenceError):
    """A ``Std:JsonGet`` Path selects nothing in the JSON document."""


class PropertyPathError(ExpressionError):
    """A property path is malformed or does not fit the shape of the properties
    (a list index on an object, a field on a list)."""


class ExpressionTypeError(ExpressionError):
    """A value has the wrong type for what is done with it (joining an object, ordering a
    boolean, a JsonGet S3Uri that is not a string)."""


class MalformedExpressionError(ExpressionError):
    """An expression or condition lacks a required member or has one of the wrong shape."""


class UnsupportedExpressionError(ExpressionError):
    """An unknown function (``Std:Foo``), condition type or ``Get`` namespace."""


class JsonGetError(ExpressionError):
    """The JSON document behind a ``Std:JsonGet`` could not be read or decoded."""
