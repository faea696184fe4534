"""``CacheConfig.ExpireAfter``: ISO-8601 durations, read as leniently as the docs write them.

The dev guide shows "30d", "5y", "T16m" and "30dT5h"; the SDK docstring shows "p30d",
"P4DT12H" and "T12H". All of these are accepted: the letters are case-insensitive and the
leading ``P`` is optional. Years count 365 days and months 30 days (pydantic's reading).
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from pipelines.errors import ValidationError

_NUMBER = r"\d+(?:[.,]\d+)?"
_LENIENT_ISO_DURATION = re.compile(
    rf"""
    P?
    (?=\d|T\d)                      # at least one quantity
    (?:{_NUMBER}Y)? (?:{_NUMBER}M)? (?:{_NUMBER}W)? (?:{_NUMBER}D)?
    (?:T(?=\d) (?:{_NUMBER}H)? (?:{_NUMBER}M)? (?:{_NUMBER}S)? )?
    """,
    re.VERBOSE | re.IGNORECASE,
)
_TIMEDELTA = TypeAdapter(timedelta)


class DurationError(ValidationError):
    """An ``ExpireAfter`` value that is not an ISO-8601 duration, strict or lenient."""


def parse_expire_after(text: str) -> timedelta:
    """``"P30D"``, ``"30d"``, ``"T16m"``, ``"30dT5h"``... -> timedelta; raises ``DurationError``."""
    if not isinstance(text, str):
        raise DurationError(f"ExpireAfter must be a string, got {type(text).__name__}")
    candidate = text.strip()
    if not _LENIENT_ISO_DURATION.fullmatch(candidate):
        raise DurationError(
            f"ExpireAfter {text!r} is not an ISO-8601 duration "
            '(for example "P30D", "PT1H", "P4DT12H"; the lenient "30d", "T16m" and "30dT5h" also work)'
        )
    normalized = candidate.upper().replace(",", ".")
    if not normalized.startswith("P"):
        normalized = "P" + normalized
    try:
        return _TIMEDELTA.validate_python(normalized)
    except (PydanticValidationError, OverflowError) as exc:
        raise DurationError(f"ExpireAfter {text!r} is out of range") from exc
