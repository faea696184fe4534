"""Resolving every expression in a JSON tree: ``Get``, ``Std:Join`` and ``Std:JsonGet``.

An expression is a one-member object whose key is ``Get`` or starts with ``Std:``; anything
else is data and is copied through with its members resolved. Unknown ``Std:`` functions fail
(the service would not run them either) rather than pass through as data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from pipelines.errors import PipelinesError
from pipelines.expressions.context import (
    EXECUTION_VARIABLES,
    EXPERIMENT_CONFIG_FIELDS,
    EvaluationContext,
)
from pipelines.expressions.errors import (
    ExpressionTypeError,
    JsonGetError,
    MalformedExpressionError,
    PropertyNotFoundError,
    PropertyPathError,
    UndefinedReferenceError,
    UnsupportedExpressionError,
)
from pipelines.expressions.json_query import query_json
from pipelines.expressions.paths import Field, GetReference, PathSyntaxError, format_path, parse_get
from pipelines.expressions.properties import resolve_property_path
from pipelines.expressions.values import format_datetime, join_text

FUNCTIONS = ("Get", "Std:Join", "Std:JsonGet")


def evaluate(value: Any, ctx: EvaluationContext) -> Any:
    """``value`` with every expression replaced by its value; plain JSON out, inputs untouched."""
    if isinstance(value, dict):
        if len(value) == 1:
            key = next(iter(value))
            if key == "Get":
                return _get(value, ctx)
            if key == "Std:Join":
                return _join(value, ctx)
            if key == "Std:JsonGet":
                return _json_get(value, ctx)
            if key.startswith("Std:"):
                raise UnsupportedExpressionError(
                    value, f"unknown function {key!r} (supported: {', '.join(FUNCTIONS)})"
                )
        return {key: evaluate(member, ctx) for key, member in value.items()}
    if isinstance(value, list):
        return [evaluate(item, ctx) for item in value]
    return value


def _parse_target(expression: dict[str, Any]) -> GetReference:
    target = expression["Get"]
    if not isinstance(target, str):
        raise MalformedExpressionError(expression, "the Get target must be a string")
    try:
        return parse_get(target)
    except PathSyntaxError as exc:
        raise PropertyPathError(expression, exc.message) from exc


def _get(expression: dict[str, Any], ctx: EvaluationContext) -> Any:
    ref = _parse_target(expression)
    if ref.namespace == "Steps":
        return _copied(_step_property(expression, ref, ctx))
    if ref.path:
        raise PropertyPathError(expression, f"{ref.namespace}.{ref.name} has no members")
    if ref.namespace == "Parameters":
        if ref.name not in ctx.parameters:
            raise UndefinedReferenceError(expression, f"the pipeline has no parameter {ref.name!r}")
        return _copied(ctx.parameters[ref.name])
    if ref.namespace == "Execution":
        return _execution_variable(expression, ref.name, ctx)
    if ref.namespace == "PipelineExperimentConfig":
        if ref.name not in EXPERIMENT_CONFIG_FIELDS:
            raise UnsupportedExpressionError(
                expression, f"PipelineExperimentConfig has no {ref.name!r} (only ExperimentName, TrialName)"
            )
        if ctx.experiment_config.get(ref.name) is None:
            raise UndefinedReferenceError(expression, "experiments are disabled for this pipeline")
        return ctx.experiment_config[ref.name]
    raise UnsupportedExpressionError(
        expression,
        f"unknown namespace {ref.namespace!r} (Parameters, Execution, Steps, PipelineExperimentConfig)",
    )


def _copied(value: Any) -> Any:
    """A copy the caller may change without touching the execution's records (scalars are
    immutable and returned as they are: most values are)."""
    if value is None or isinstance(value, str | int | float):
        return value
    return copy.deepcopy(value)


def _execution_variable(expression: dict[str, Any], name: str, ctx: EvaluationContext) -> Any:
    if name not in EXECUTION_VARIABLES:
        raise UnsupportedExpressionError(expression, f"unknown execution variable {name!r}")
    value = ctx.execution.get(name)
    if callable(value):
        value = value()
    if value is None:
        raise UndefinedReferenceError(expression, f"execution variable {name} is not available in this step")
    return format_datetime(value) if isinstance(value, date) else value


def _step_properties(expression: Any, step_name: str, ctx: EvaluationContext) -> Mapping[str, Any]:
    properties = ctx.step_properties(step_name)
    if properties is None:
        raise UndefinedReferenceError(
            expression, f"step {step_name!r} has no properties (it has not run or did not succeed)"
        )
    return properties


def _step_property(expression: dict[str, Any], ref: GetReference, ctx: EvaluationContext) -> Any:
    if not ref.path:
        raise PropertyPathError(expression, f"a property path must follow Steps.{ref.name}")
    if ref.path[0] == Field("PropertyFiles"):
        raise MalformedExpressionError(expression, "a property file can be read only through Std:JsonGet")
    value = resolve_property_path(_step_properties(expression, ref.name, ctx), ref.path, step_name=ref.name)
    if value is None:
        raise PropertyNotFoundError(
            expression, f"step {ref.name!r} has no value for {format_path(ref.path)!r}"
        )
    return value


def _arguments(expression: dict[str, Any], function: str) -> dict[str, Any]:
    arguments = expression[function]
    if not isinstance(arguments, dict):
        raise MalformedExpressionError(expression, f"{function} takes an object")
    return arguments


def _join(expression: dict[str, Any], ctx: EvaluationContext) -> str:
    arguments = _arguments(expression, "Std:Join")
    unknown = set(arguments) - {"On", "Values"}
    if unknown:
        raise MalformedExpressionError(expression, f"Std:Join has unknown members {sorted(unknown)}")
    if "Values" not in arguments:
        raise MalformedExpressionError(expression, "Std:Join needs Values")
    separator = evaluate(arguments.get("On", ""), ctx)
    if not isinstance(separator, str):
        raise ExpressionTypeError(expression, f"Std:Join On must be a string, not {json.dumps(separator)}")
    values = evaluate(arguments["Values"], ctx)
    if not isinstance(values, list):
        raise ExpressionTypeError(expression, "Std:Join Values must be a list")
    texts: list[str] = []
    for index, value in enumerate(values):
        text = join_text(value)
        if text is None:
            kind = "null" if value is None else type(value).__name__
            raise ExpressionTypeError(
                expression, f"Std:Join value {index} is {kind}; only primitives can be joined"
            )
        texts.append(text)
    return separator.join(texts)


def _json_get(expression: dict[str, Any], ctx: EvaluationContext) -> Any:
    arguments = _arguments(expression, "Std:JsonGet")
    sources = [key for key in ("PropertyFile", "S3Uri") if key in arguments]
    unknown = set(arguments) - {"PropertyFile", "S3Uri", "Path"}
    if unknown or len(sources) != 1 or "Path" not in arguments:
        raise MalformedExpressionError(
            expression, "Std:JsonGet takes Path and exactly one of PropertyFile or S3Uri, nothing else"
        )
    path = evaluate(arguments["Path"], ctx)
    if not isinstance(path, str):
        raise ExpressionTypeError(expression, "Std:JsonGet Path must be a string")
    document = (
        _property_file(expression, arguments, ctx)
        if sources[0] == "PropertyFile"
        else _s3_document(expression, arguments, ctx)
    )
    return copy.deepcopy(query_json(document, path, expression=expression))


def _property_file(expression: dict[str, Any], arguments: dict[str, Any], ctx: EvaluationContext) -> Any:
    reference = arguments["PropertyFile"]
    if not (isinstance(reference, dict) and len(reference) == 1 and isinstance(reference.get("Get"), str)):
        raise MalformedExpressionError(
            expression, 'Std:JsonGet PropertyFile must be {"Get": "Steps.<step>.PropertyFiles.<name>"}'
        )
    ref = _parse_target(reference)
    if ref.namespace != "Steps" or len(ref.path) != 2 or ref.path[0] != Field("PropertyFiles"):
        raise MalformedExpressionError(expression, f"{ref.raw!r} is not Steps.<step>.PropertyFiles.<name>")
    file_segment = ref.path[1]
    if not isinstance(file_segment, Field):
        raise MalformedExpressionError(expression, f"{ref.raw!r} is not Steps.<step>.PropertyFiles.<name>")
    _step_properties(expression, ref.name, ctx)
    try:
        return ctx.property_file(ref.name, file_segment.name)
    except PipelinesError:
        raise
    except (LookupError, OSError, ValueError) as exc:
        raise JsonGetError(
            expression, f"cannot read property file {file_segment.name!r} of step {ref.name!r}: {exc}"
        ) from exc


def _s3_document(expression: dict[str, Any], arguments: dict[str, Any], ctx: EvaluationContext) -> Any:
    uri = evaluate(arguments["S3Uri"], ctx)
    if not isinstance(uri, str):
        raise ExpressionTypeError(expression, "Std:JsonGet S3Uri must resolve to a string")
    try:
        body = ctx.read_object(uri)
    except PipelinesError:
        raise
    except (LookupError, OSError, ValueError) as exc:
        raise JsonGetError(expression, f"cannot read {uri}: {exc}") from exc
    try:
        return json.loads(body)
    except ValueError as exc:
        raise JsonGetError(expression, f"{uri} is not JSON: {exc}") from exc
