"""ExpireAfter: strict ISO-8601 and the lenient forms the docs and SDK write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pipelines.definition.durations import DurationError, parse_expire_after
from pipelines.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P30D", timedelta(days=30)),
        ("PT1H", timedelta(hours=1)),
        ("P4DT12H", timedelta(days=4, hours=12)),
        ("P2W", timedelta(days=14)),
        ("P1M", timedelta(days=30)),
        ("PT0.5H", timedelta(minutes=30)),
        ("P1Y2M3W4DT5H6M7S", timedelta(days=365 + 60 + 21 + 4, hours=5, minutes=6, seconds=7)),
        ("30d", timedelta(days=30)),  # dev guide
        ("5y", timedelta(days=5 * 365)),  # dev guide
        ("T16m", timedelta(minutes=16)),  # dev guide
        ("30dT5h", timedelta(days=30, hours=5)),  # dev guide
        ("p30d", timedelta(days=30)),  # SDK docstring
        ("T12H", timedelta(hours=12)),  # SDK docstring
        (" P1D ", timedelta(days=1)),
    ],
)
def test_parses(text: str, expected: timedelta) -> None:
    assert parse_expire_after(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "30", "-P1D", "P1H", "P1D2Y", "30 days", "1 hour", "P99999999999Y"]
)
def test_rejects_with_a_typed_error(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_expire_after(text)
    assert isinstance(caught.value, ValidationError)
    assert repr(text) in str(caught.value)
