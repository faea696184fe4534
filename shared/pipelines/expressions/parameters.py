"""Turning StartPipelineExecution's parameter values into typed values.

The SDK sends every value as ``str(v)`` (so a boolean arrives as ``"True"``), the API is
string-only, and defaults in the definition are JSON. All of them go through one coercion by
declared type, so ``Get Parameters.X`` always yields an int, float, bool or non-empty str.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pipelines.errors import ValidationError

if TYPE_CHECKING:  # pipelines.definition imports this package: no runtime import back
    from pipelines.definition.models import Parameter

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")
_FLOAT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


class ParameterError(ValidationError):
    """A start parameter broke a rule; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class UnknownParameterError(ParameterError):
    def __init__(self, parameter: str) -> None:
        super().__init__(parameter, f"Parameter {parameter!r} is not defined in the pipeline definition.")


class MissingParameterError(ParameterError):
    def __init__(self, parameter: str) -> None:
        super().__init__(parameter, f"Parameter {parameter!r} is undefined.")


class InvalidParameterValueError(ParameterError):
    """The value does not convert to the declared type, is empty, or is not an enum value."""


def _same(value: Any, allowed: Any) -> bool:
    """Equality that keeps True apart from 1."""
    return type(value) is type(allowed) and bool(value == allowed)


def _describe(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def boolean_value(value: Any) -> bool | None:
    """A Boolean as the service reads one from text: ``true``/``false``/``1``/``0`` (any case,
    surrounding spaces ignored) or a real bool; None when ``value`` is none of these. Boolean
    parameters and Boolean step outputs (Lambda, Callback) both read through this."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
    return None


def coerce_parameter_value(parameter: Parameter, value: Any, *, allow_empty: bool = False) -> Any:
    """``value`` as ``parameter``'s declared type; raises InvalidParameterValueError.

    An empty String is refused as a start value, as the service does; ``allow_empty`` admits
    it for defaults, which real definitions use ("" for "no supplied baseline").
    """
    name, declared = parameter.name, parameter.type

    def invalid(why: str) -> InvalidParameterValueError:
        return InvalidParameterValueError(name, f"Parameter {name} value {_describe(value)} {why}")

    coerced: Any
    if declared == "String":
        if not isinstance(value, str):
            raise invalid("is not a String")
        if value == "" and not allow_empty:
            raise invalid("is too short")
        coerced = value
    elif declared == "Integer":
        if isinstance(value, bool):
            raise invalid("is not an Integer")
        if isinstance(value, int):
            coerced = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and _INTEGER.fullmatch(value)
        ):
            coerced = int(value)
        else:
            raise invalid("is not an Integer")
    elif declared == "Float":
        if isinstance(value, bool):
            raise invalid("is not a Float")
        if isinstance(value, int | float) or (isinstance(value, str) and _FLOAT.fullmatch(value)):
            coerced = float(value)
        else:
            raise invalid("is not a Float")
        if not math.isfinite(coerced):
            raise invalid("is not a finite Float")
    else:  # Boolean
        boolean = boolean_value(value)
        if boolean is None:
            raise invalid("is not a Boolean (true, false, 1 or 0)")
        coerced = boolean
    if parameter.enum_values is not None and not any(_same(coerced, v) for v in parameter.enum_values):
        allowed = ", ".join(_describe(v) for v in parameter.enum_values)
        raise invalid(f"is not one of the allowed values [{allowed}]")
    return coerced


def coerce_parameters(declared: Sequence[Parameter], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter's typed value: the given one, else the default.

    Raises UnknownParameterError for a name the definition does not declare,
    MissingParameterError when a parameter without default is not given, and
    InvalidParameterValueError for a value (given or default) that does not fit.
    """
    by_name = {parameter.name: parameter for parameter in declared}
    for name in given:
        if name not in by_name:
            raise UnknownParameterError(name)
    values: dict[str, Any] = {}
    for parameter in declared:
        if parameter.name in given:
            values[parameter.name] = coerce_parameter_value(parameter, given[parameter.name])
        elif parameter.has_default:
            values[parameter.name] = coerce_parameter_value(
                parameter, parameter.default_value, allow_empty=True
            )
        else:
            raise MissingParameterError(parameter.name)
    return values
