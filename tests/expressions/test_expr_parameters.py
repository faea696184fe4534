"""Coercing start parameter values (strings on the wire) by declared type."""

from __future__ import annotations

from typing import Any

import pytest
from pipelines.definition.models import Parameter
from pipelines.errors import ValidationError
from pipelines.expressions import (
    InvalidParameterValueError,
    MissingParameterError,
    ParameterError,
    UnknownParameterError,
    coerce_parameters,
)


def param(name: str, kind: str = "String", **extra: Any) -> Parameter:
    return Parameter.model_validate({"Name": name, "Type": kind, **extra})


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("String", "s3://bucket/x", "s3://bucket/x"),
        ("String", " spaced ", " spaced "),
        ("Integer", "3", 3),
        ("Integer", "-12", -12),
        ("Integer", "+7", 7),
        ("Integer", 5, 5),
        ("Integer", 5.0, 5),
        ("Float", "0.5", 0.5),
        ("Float", "6", 6.0),
        ("Float", "1e-3", 0.001),
        ("Float", 2, 2.0),
        ("Boolean", "True", True),
        ("Boolean", "true", True),
        ("Boolean", "TRUE", True),
        ("Boolean", "1", True),
        ("Boolean", "False", False),
        ("Boolean", "false", False),
        ("Boolean", "0", False),
        ("Boolean", False, False),
    ],
)
def test_values_are_coerced_by_declared_type(kind: str, given: Any, expected: Any) -> None:
    values = coerce_parameters([param("P", kind)], {"P": given})
    assert values == {"P": expected}
    assert type(values["P"]) is type(expected)


@pytest.mark.parametrize(
    ("kind", "given", "fragment"),
    [
        ("String", "", 'Parameter P value "" is too short'),
        ("String", 3, "is not a String"),
        ("Integer", "3.5", 'Parameter P value "3.5" is not an Integer'),
        ("Integer", "3.0", "is not an Integer"),
        ("Integer", "abc", "is not an Integer"),
        ("Integer", True, "is not an Integer"),
        ("Integer", 2.5, "is not an Integer"),
        ("Float", "abc", "is not a Float"),
        ("Float", "nan", "is not a Float"),
        ("Float", "1e999", "is not a finite Float"),
        ("Float", True, "is not a Float"),
        ("Boolean", "yes", "is not a Boolean"),
        ("Boolean", "", "is not a Boolean"),
        ("Boolean", 1, "is not a Boolean"),
    ],
)
def test_bad_values_are_rejected_naming_the_parameter(kind: str, given: Any, fragment: str) -> None:
    with pytest.raises(InvalidParameterValueError) as caught:
        coerce_parameters([param("P", kind)], {"P": given})
    assert fragment in str(caught.value)
    assert caught.value.parameter == "P"
    assert isinstance(caught.value, ValidationError)
    assert caught.value.code == "ValidationException"


def test_defaults_fill_in_and_given_values_win() -> None:
    declared = [
        param("Bucket", DefaultValue="b"),
        param("Count", "Integer", DefaultValue=1),
        param("Rate", "Float", DefaultValue=6),
        param("Flag", "Boolean", DefaultValue=True),
        param("Optional", DefaultValue=""),
    ]
    assert coerce_parameters(declared, {"Count": "4"}) == {
        "Bucket": "b",
        "Count": 4,
        "Rate": 6.0,
        "Flag": True,
        "Optional": "",
    }


def test_unknown_names_are_rejected() -> None:
    with pytest.raises(UnknownParameterError, match="'Typo'") as caught:
        coerce_parameters([param("Real", DefaultValue="x")], {"Typo": "1"})
    assert caught.value.parameter == "Typo"


def test_missing_required_values_are_rejected() -> None:
    with pytest.raises(MissingParameterError, match="Parameter 'Required' is undefined"):
        coerce_parameters([param("Required"), param("Other", DefaultValue="x")], {})


def test_enum_values_are_enforced_for_given_and_default_values() -> None:
    status = param(
        "Status", DefaultValue="PendingManualApproval", EnumValues=["PendingManualApproval", "Approved"]
    )
    assert coerce_parameters([status], {"Status": "Approved"}) == {"Status": "Approved"}
    with pytest.raises(
        InvalidParameterValueError,
        match=r"is not one of the allowed values \[\"PendingManualApproval\", \"Approved\"\]",
    ):
        coerce_parameters([status], {"Status": "Rejected"})
    bad_default = param("S", DefaultValue="c", EnumValues=["a", "b"])
    with pytest.raises(InvalidParameterValueError, match='Parameter S value "c"'):
        coerce_parameters([bad_default], {})


def test_errors_share_a_base() -> None:
    assert issubclass(UnknownParameterError, ParameterError)
    assert issubclass(MissingParameterError, ParameterError)
    assert issubclass(InvalidParameterValueError, ParameterError)
