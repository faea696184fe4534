"""Pipeline expressions: finding them in definitions, and resolving them at run time.

``evaluate`` resolves ``Get`` / ``Std:Join`` / ``Std:JsonGet`` anywhere in a JSON tree;
``evaluate_conditions`` decides a ConditionStep; ``coerce_parameters`` types start values.
"""

from pipelines.expressions.conditions import (
    CONDITION_TYPES,
    evaluate_condition,
    evaluate_conditions,
    values_equal,
)
from pipelines.expressions.context import EXECUTION_VARIABLES, EvaluationContext
from pipelines.expressions.errors import (
    ExpressionError,
    ExpressionTypeError,
    JsonGetError,
    JsonPathNotFoundError,
    MalformedExpressionError,
    PropertyNotFoundError,
    PropertyPathError,
    UndefinedReferenceError,
    UnsupportedExpressionError,
)
from pipelines.expressions.evaluator import evaluate
from pipelines.expressions.parameters import (
    InvalidParameterValueError,
    MissingParameterError,
    ParameterError,
    UnknownParameterError,
    coerce_parameter_value,
    coerce_parameters,
)
from pipelines.expressions.paths import Field, Index, Key, Segment, format_path, parse_get, parse_path
from pipelines.expressions.properties import LIST_NAMING_FIELDS, resolve_property_path
from pipelines.expressions.values import java_double_to_string, join_text, value_text

__all__ = [
    "CONDITION_TYPES",
    "EXECUTION_VARIABLES",
    "LIST_NAMING_FIELDS",
    "EvaluationContext",
    "ExpressionError",
    "ExpressionTypeError",
    "Field",
    "Index",
    "InvalidParameterValueError",
    "JsonGetError",
    "JsonPathNotFoundError",
    "Key",
    "MalformedExpressionError",
    "MissingParameterError",
    "ParameterError",
    "PropertyNotFoundError",
    "PropertyPathError",
    "Segment",
    "UndefinedReferenceError",
    "UnknownParameterError",
    "UnsupportedExpressionError",
    "coerce_parameter_value",
    "coerce_parameters",
    "evaluate",
    "evaluate_condition",
    "evaluate_conditions",
    "format_path",
    "java_double_to_string",
    "join_text",
    "parse_get",
    "parse_path",
    "resolve_property_path",
    "value_text",
    "values_equal",
]
