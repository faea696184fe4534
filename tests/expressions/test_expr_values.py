"""Stringification for Std:Join (the service's Java rendering) and numeric readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pipelines.expressions.values import as_number, format_datetime, java_double_to_string, join_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (6.0, "6.0"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (100.0, "100.0"),
        (123.456, "123.456"),
        (0.001, "0.001"),
        (9999999.0, "9999999.0"),
        (1e7, "1.0E7"),
        (12345678.0, "1.2345678E7"),
        (0.0001, "1.0E-4"),
        (1e-5, "1.0E-5"),
        (1.5e-10, "1.5E-10"),
        (1e21, "1.0E21"),
        (1.7976931348623157e308, "1.7976931348623157E308"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_java_double_to_string(value: float, text: str) -> None:
    assert java_double_to_string(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_java_double_text_round_trips(value: float) -> None:
    text = java_double_to_string(value)
    assert float(text) == value
    assert "." in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (-7, "-7"),
        (6.0, "6.0"),
        (10**20, "100000000000000000000"),
    ],
)
def test_join_text_of_primitives(value: object, text: str) -> None:
    assert join_text(value) == text


@pytest.mark.parametrize("value", [None, {"a": 1}, [1]])
def test_join_text_refuses_non_primitives(value: object) -> None:
    assert join_text(value) is None


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3), (2.5, 2.5), ("3", 3), ("-3", -3), ("0.85", 0.85), (".5", 0.5), ("1e3", 1000.0), ("+2", 2)],
)
def test_as_number_reads_numbers_and_decimal_strings(value: object, number: float) -> None:
    result = as_number(value)
    assert result == number and type(result) is type(number)


@pytest.mark.parametrize(
    "value", [True, False, None, "abc", "", "1.2.3", " 3", "nan", "inf", "0x10", [1], {"a": 1}]
)
def test_as_number_refuses_the_rest(value: object) -> None:
    assert as_number(value) is None


def test_format_datetime_is_utc_with_milliseconds() -> None:
    assert format_datetime(datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)) == "2024-05-01T12:00:00.123Z"
    plus_two = timezone(timedelta(hours=2))
    assert format_datetime(datetime(2024, 5, 1, 14, 0, 0, tzinfo=plus_two)) == "2024-05-01T12:00:00.000Z"
    assert format_datetime(datetime(2024, 5, 1, 12, 0, 0)) == "2024-05-01T12:00:00.000Z"
