"""Output parameters of Lambda and Callback steps: declared names and types, primitive values.

Both step types declare ``OutputParameters: [{"OutputName", "OutputType"}]`` and both receive
the values from outside (a handler's returned dict; SendPipelineExecutionStepSuccess), so the
rules live here once:

* every declared output must be present and not null, else the step fails naming it;
* values are primitives; a nested value (object or list) becomes its JSON text, as the docs
  say the service treats it ("the dictionary is treated as a single string");
* the value is coerced to the declared type so that ``Steps.X.OutputParameters['n']`` compares
  as the type says; a value that cannot be (``"abc"`` as Integer) fails the step.

Undeclared extra values are ignored: only declared outputs are referencable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.definition.models import LambdaStep, OutputParameter
from pipelines.expressions.parameters import boolean_value
from pipelines.expressions.values import as_number, join_text
from pipelines.runners.base import StepFailed, StepResult


class OutputParameterError(StepFailed):
    """A declared output is missing or cannot take its declared type. Not retryable: the same
    function or approver would answer the same way."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, error_code="ValidationException")


@dataclass(frozen=True)
class OutputValues:
    """The typed outputs as step properties and as the step's Metadata list (string values)."""

    properties: dict[str, Any]  # {"OutputParameters": [{"Name": n, "Value": typed}]}
    metadata: list[dict[str, str]]  # [{"Name": n, "Value": text}]


def coerce_outputs(
    declared: Sequence[OutputParameter], values: Mapping[str, Any], *, source: str
) -> OutputValues:
    """Pick and type each declared output from ``values``; ``source`` says where they came from
    (``"the result of Lambda function <arn>"``) for the failure reason."""
    typed: list[dict[str, Any]] = []
    texts: list[dict[str, str]] = []
    for output in declared:
        name = output.output_name
        if name not in values or values[name] is None:
            present = ", ".join(sorted(map(str, values))) or "nothing"
            raise OutputParameterError(
                f"output parameter {name!r} is declared in OutputParameters but missing from {source} "
                f"(it has: {present})"
            )
        value = _coerce(name, output.output_type, _flatten(values[name]))
        typed.append({"Name": name, "Value": value})
        texts.append({"Name": name, "Value": _text(value)})
    return OutputValues(properties={"OutputParameters": typed}, metadata=texts)


def _flatten(value: Any) -> Any:
    """Nested values become one JSON string."""
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"))
    return value


def _text(value: Any) -> str:
    text = join_text(value)
    return text if text is not None else json.dumps(value)


def _coerce(name: str, output_type: str, value: Any) -> Any:
    def fail() -> OutputParameterError:
        return OutputParameterError(
            f"output parameter {name!r} is declared as {output_type} but the value {value!r} is not a "
            f"valid {output_type}"
        )

    if output_type == "String":
        return _text(value)
    if output_type == "Boolean":
        boolean = boolean_value(value)
        if boolean is None:
            raise fail()
        return boolean
    if isinstance(value, bool):
        raise fail()
    number = as_number(value)
    if number is None:
        raise fail()
    if output_type == "Integer":
        if isinstance(number, float):
            if not number.is_integer():
                raise fail()
            return int(number)
        return number
    if output_type == "Float":
        as_float = float(number)
        if not math.isfinite(as_float):
            raise fail()
        return as_float
    raise fail()


def lambda_step_result(step: LambdaStep, result: Any, arn: str) -> StepResult:
    """A Lambda step's result from what its function returned, in either runtime; raises
    StepFailed when the step declares outputs and the function did not return an object."""
    if step.output_parameters and not isinstance(result, dict):
        raise StepFailed(
            f"Lambda function {arn} returned {type(result).__name__}, but the step declares "
            "OutputParameters, so it must return an object"
        )
    outputs = coerce_outputs(
        step.output_parameters, result or {}, source=f"the result of Lambda function {arn}"
    )
    return StepResult(
        properties=outputs.properties,
        metadata={"Lambda": {"Arn": arn, "OutputParameters": outputs.metadata}},
    )
