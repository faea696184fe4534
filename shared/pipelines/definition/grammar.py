"""The shape of conditions and expressions, which the step models keep as raw JSON.

The models stay raw so that expressions can sit anywhere in Arguments; these strict models
(unknown properties forbidden, as the service does: "Cannot parse object, unknown property
'Expression'") check their form once, and report through the same pydantic translation as
the rest of the schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    model_validator,
)

from pipelines.expressions.conditions import CONDITION_TYPES

EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})
FUNCTION_PREFIX = "Std:"


def is_expression(value: Any) -> bool:
    """``{"Get": ...}`` / ``{"Std:...": ...}`` objects; any other object is plain data.

    An object with more keys is an expression only if it holds a known function key (and is
    then malformed); ``{"Get": ..., "Other": ...}`` is user data. Called on every object of
    every step, so it avoids scanning keys.
    """
    if type(value) is not dict:
        return False
    if len(value) == 1:
        key = next(iter(value))
        return key == "Get" or (type(key) is str and key.startswith(FUNCTION_PREFIX))
    return "Std:Join" in value or "Std:JsonGet" in value


def _is_operand(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or is_expression(value)


def _operand(value: Any) -> Any:
    if _is_operand(value):
        return value
    raise ValueError(
        "must be a string, number, boolean or an expression (Get, Std:Join, Std:JsonGet), "
        f"got {'null' if value is None else type(value).__name__.replace('dict', 'object').replace('list', 'array')}"
    )


Operand = Annotated[Any, AfterValidator(_operand)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Comparison(_Strict):
    type: Literal["Equals", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo"] = Field(
        alias="Type"
    )
    left_value: Operand = Field(alias="LeftValue")
    right_value: Operand = Field(alias="RightValue")


class InCondition(_Strict):
    type: Literal["In"] = Field(alias="Type")
    query_value: Operand = Field(alias="QueryValue")
    values: list[Operand] = Field(alias="Values")


class NotCondition(_Strict):
    type: Literal["Not"] = Field(alias="Type")
    condition: Condition = Field(alias="Condition")


class OrCondition(_Strict):
    type: Literal["Or"] = Field(alias="Type")
    conditions: list[Condition] = Field(alias="Conditions")


_CONDITION_TAGS: dict[str, str] = {
    name: name.lower() if name in {"In", "Not", "Or"} else "comparison" for name in CONDITION_TYPES
}


def _condition_tag(value: Any) -> str | None:
    condition_type = value.get("Type") if isinstance(value, dict) else None
    return _CONDITION_TAGS.get(condition_type) if isinstance(condition_type, str) else None


Condition = Annotated[
    Annotated[Comparison, Tag("comparison")]
    | Annotated[InCondition, Tag("in")]
    | Annotated[NotCondition, Tag("not")]
    | Annotated[OrCondition, Tag("or")],
    Discriminator(
        _condition_tag,
        custom_error_type="condition_type_invalid",
        custom_error_message="invalid condition Type",
        custom_error_context={
            "discriminator": "Type",
            "expected_tags": ", ".join(f"'{name}'" for name in CONDITION_TYPES),
        },
    ),
]

NotCondition.model_rebuild()
OrCondition.model_rebuild()

CONDITION_LIST: TypeAdapter[list[Condition]] = TypeAdapter(list[Condition])
_COMPARISON_TYPES = frozenset(get_args(Comparison.model_fields["type"].annotation))


def plain_comparisons(conditions: Any) -> bool:
    """Whether ``conditions`` is a list of well-formed comparisons (what the SDK's ConditionStep
    usually holds), which ``CONDITION_LIST`` accepts: checked without pydantic, whose operand
    validator calls back into Python for every operand. Anything else (In, Not, Or, or a
    malformed condition) is for ``CONDITION_LIST``, which reports what is wrong."""
    if type(conditions) is not list:
        return False
    for condition in conditions:
        if type(condition) is not dict or len(condition) != 3:
            return False
        kind = condition.get("Type")
        if type(kind) is not str or kind not in _COMPARISON_TYPES:
            return False
        if "LeftValue" not in condition or "RightValue" not in condition:
            return False
        if not (_is_operand(condition["LeftValue"]) and _is_operand(condition["RightValue"])):
            return False
    return True


class GetExpression(_Strict):
    get: str = Field(alias="Get")


class JoinArguments(_Strict):
    on: str = Field(alias="On")
    values: list[Operand] = Field(alias="Values")


class JoinExpression(_Strict):
    join: JoinArguments = Field(alias="Std:Join")


class JsonGetArguments(_Strict):
    property_file: GetExpression | None = Field(default=None, alias="PropertyFile")
    s3_uri: Operand | None = Field(default=None, alias="S3Uri")
    path: str = Field(alias="Path")

    @model_validator(mode="after")
    def _one_source(self) -> JsonGetArguments:
        if (self.property_file is None) == (self.s3_uri is None):
            raise ValueError("give exactly one of PropertyFile and S3Uri")
        return self


class JsonGetExpression(_Strict):
    json_get: JsonGetArguments = Field(alias="Std:JsonGet")


EXPRESSION_MODELS: dict[str, type[_Strict]] = {
    "Get": GetExpression,
    "Std:Join": JoinExpression,
    "Std:JsonGet": JsonGetExpression,
}
