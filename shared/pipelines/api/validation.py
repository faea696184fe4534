"""Requests checked against botocore's service models, as the managed services check them.

botocore's own :class:`ParamValidator` checks required members, unknown members, types,
``min`` and unions only; the services also enforce ``max``, ``enum`` and ``pattern``. The
validator below adds those three so a request that boto3 would refuse client-side (or that a
non-botocore client sends) is refused here with a ``ValidationException`` naming every
problem. Patterns are matched against the whole value with the ``regex`` package, because some
service patterns use ``\\p{L}``-style classes Python's ``re`` does not know.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import regex
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape
from botocore.utils import parse_to_aware_datetime
from botocore.validate import ParamValidator, ValidationErrors

from pipelines import aws
from pipelines.errors import ValidationError

# botocore's stubs leave out the private hooks the strict checks extend.
_ParamValidatorBase: Any = ParamValidator
_ValidationErrorsBase: Any = ValidationErrors

# Beyond this many characters a value is only summarised in a message.
_MAX_QUOTED = 80
# Text from a UTF-8 client never holds these; JSON's \ud800 escape can.
_SURROGATE = regex.compile(r"[\ud800-\udfff]")
# The services' integer members are Java ints and longs.
_INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_KIND_WORDS = {"integer": "an integer", "long": "a long integer"}


class RequestValidationError(ValidationError):
    """The request broke the service model; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        super().__init__(f"{count} validation {noun} detected: " + "; ".join(problems))
        self.problems = problems


@functools.cache
def service_model(service_name: str) -> ServiceModel:
    """The botocore model of a service (loaded once per process)."""
    return aws.service_model(service_name)


@functools.cache
def _compiled(pattern: str) -> regex.Pattern[str] | None:
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


def _quote(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_QUOTED else text[:_MAX_QUOTED] + "..."


class _Errors(_ValidationErrorsBase):
    """botocore's report with the three extra checks worded the way the services word them."""

    def _format_error(self, error: tuple[str, str, dict[str, Any]]) -> str:
        error_type, name, extra = error
        where = self._get_name(name)
        if error_type == "invalid pattern":
            return (
                f"Value '{_quote(extra['param'])}' at '{where}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: ^{extra['pattern']}"
            )
        if error_type == "invalid enum":
            return (
                f"Value '{_quote(extra['param'])}' at '{where}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(extra['valid_values'])}]"
            )
        if error_type == "invalid max length":
            return (
                f"Value at '{where}' failed to satisfy constraint: Member must have length "
                f"less than or equal to {extra['max_allowed']} (was {extra['param']})"
            )
        if error_type == "invalid text":
            return (
                f"Value at '{where}' failed to satisfy constraint: Member must be valid Unicode "
                "text (it holds a lone surrogate, which no UTF-8 client can send)"
            )
        if error_type == "out of java range":
            return (
                f"Value at '{where}' failed to satisfy constraint: Member must be {_KIND_WORDS[extra['kind']]} "
                f"between {extra['low']} and {extra['high']}"
            )
        if error_type == "invalid timestamp":
            return (
                f"Value '{_quote(extra['param'])}' at '{where}' failed to satisfy constraint: Member "
                "must be a timestamp between the years 1 and 9999"
            )
        if error_type == "invalid max value":
            return (
                f"Value '{extra['param']}' at '{where}' failed to satisfy constraint: Member must "
                f"have value less than or equal to {extra['max_allowed']}"
            )
        return str(super()._format_error(error))


class StrictParamValidator(_ParamValidatorBase):
    """botocore's validator plus ``max``, ``enum`` and full-match ``pattern``, no
    bool-as-integer (JSON ``true`` is not a number), integers within the service's Java int and
    long ranges, timestamps a calendar holds, and no lone surrogates in text."""

    VALIDATED_METADATA_ATTRS = _ParamValidatorBase.VALIDATED_METADATA_ATTRS | {"max", "pattern", "enum"}

    def validate(self, params: Any, shape: Shape) -> _Errors:
        errors = _Errors()
        self._validate(params, shape, errors, name="")
        return errors

    def _validate_string(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_string(param, shape, errors, name)
        if not isinstance(param, str):
            return
        if _SURROGATE.search(param):
            errors.report(name, "invalid text", param=param)
            return
        _check_max(name, len(param), shape, "invalid max length", errors)
        enum = shape.metadata.get("enum")
        if enum and param not in enum:
            errors.report(name, "invalid enum", param=param, valid_values=list(enum))
        pattern = shape.metadata.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(param) is None:
            errors.report(name, "invalid pattern", param=param, pattern=pattern)

    def _validate_list(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        super()._validate_list(param, shape, errors, name)
        if isinstance(param, list | tuple):
            _check_max(name, len(param), shape, "invalid max length", errors)

    def _validate_integer(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        if isinstance(param, bool):
            errors.report(name, "invalid type", param=param, valid_types=[str(int)])
            return
        super()._validate_integer(param, shape, errors, name)
        if isinstance(param, int):
            low, high = _INTEGER_RANGES[shape.type_name]
            if not low <= param <= high:
                errors.report(
                    name, "out of java range", param=param, kind=shape.type_name, low=low, high=high
                )
                return
            _check_max(name, param, shape, "invalid max value", errors)

    _validate_long = _validate_integer

    def _validate_timestamp(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        if isinstance(param, bool):
            errors.report(name, "invalid type", param=param, valid_types=["timestamp"])
            return
        try:
            parse_to_aware_datetime(param)
        except (OverflowError, OSError, RuntimeError, ValueError):  # seconds no calendar holds (1e20)
            if isinstance(param, int | float):
                errors.report(name, "invalid timestamp", param=param)
                return
        except (TypeError, AttributeError):
            pass
        super()._validate_timestamp(param, shape, errors, name)

    def _validate_double(self, param: Any, shape: Shape, errors: _Errors, name: str) -> None:
        if isinstance(param, bool):
            errors.report(name, "invalid type", param=param, valid_types=[str(float)])
            return
        super()._validate_double(param, shape, errors, name)

    _validate_float = _validate_double


def _check_max(name: str, value: int, shape: Shape, error_type: str, errors: _Errors) -> None:
    maximum = shape.metadata.get("max")
    if maximum is not None and value > maximum:
        errors.report(name, error_type, param=value, max_allowed=maximum)


def drop_nulls(value: Any) -> Any:
    """JSON ``null`` members mean "absent" on the AWS JSON protocols."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def validate_input(operation: OperationModel, params: Any) -> dict[str, Any]:
    """The request parameters, checked against the operation's input shape.

    Idempotency tokens are modelled as required although SDKs generate them; a client that
    leaves one out gets a fresh one here (as botocore would have made), not an error.
    Raises :class:`RequestValidationError` listing every problem.
    """
    shape = operation.input_shape
    if not isinstance(params, dict):
        raise RequestValidationError([f"the request body must be a JSON object, not {type(params).__name__}"])
    cleaned: dict[str, Any] = drop_nulls(params)
    if shape is None:
        if cleaned:
            raise RequestValidationError([f"{operation.name} takes no parameters"])
        return cleaned
    if isinstance(shape, StructureShape):
        for member_name, member in shape.members.items():
            if member.metadata.get("idempotencyToken") and member_name not in cleaned:
                cleaned[member_name] = str(uuid.uuid4())
    report = StrictParamValidator().validate(cleaned, shape)
    if report.has_errors():
        raise RequestValidationError(report.generate_report().split("\n"))
    return cleaned
