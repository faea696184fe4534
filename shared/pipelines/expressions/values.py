"""How resolved JSON values turn into strings and numbers, the way the (Java) service does.

``Std:Join`` stringifies each value. The SDK's local mode uses Python ``str()`` (``True``,
``6.0``, ``1e-05``), but the service reads the definition as JSON on the JVM, where a JSON
node's text is ``true``/``false`` for booleans, the digits for integers and Java's
``Double.toString`` for floats (``6.0``, ``0.1``, ``1.0E-5``, ``1.2345678E7``). We follow the
service: the same definition must produce the same job arguments on both runtimes, and
scripts that parse ``"true"`` are the common case.

Conditions compare numbers by value (``3 == 3.0``); booleans are never numbers. A string that
is a plain decimal number (``"0.85"``, as property files written with ``json.dump(str(x))``
contain) compares numerically against a number; this is our documented reading, the service
docs are silent.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_NUMERIC_STRING = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def is_number(value: Any) -> bool:
    """True for JSON numbers; False for booleans, which Python counts as ints."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_number(value: Any) -> int | float | None:
    """The numeric value of a number or of a plain decimal string; None otherwise."""
    if is_number(value):
        return value
    if isinstance(value, str) and _NUMERIC_STRING.fullmatch(value):
        number = float(value)
        if math.isfinite(number):
            return int(value) if re.fullmatch(r"[+-]?\d+", value) else number
    return None


def java_double_to_string(value: float) -> str:
    """Java's ``Double.toString``: shortest round-trip digits, plain notation for magnitudes
    in [1e-3, 1e7), otherwise ``d.dddE±n``; always at least one fractional digit.

    Python's ``repr`` gives the same shortest digits as JDK 19+; the JDK's two-digit rule
    only changes subnormals (``Double.MIN_VALUE`` is ``4.9E-324`` there, ``5.0E-324`` here)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0.0"
    parsed = Decimal(repr(abs(value))).as_tuple()
    all_digits = "".join(map(str, parsed.digits))
    exponent = len(all_digits) + int(parsed.exponent) - 1  # power of ten of the first digit
    digits = all_digits.rstrip("0") or "0"
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1 :] or "0"
        else:
            whole, fraction = "0", "0" * (-exponent - 1) + digits
        return f"{sign}{whole}.{fraction}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def format_datetime(value: date) -> str:
    """Execution timestamps as ISO-8601 UTC with milliseconds (``2024-05-01T12:00:00.000Z``)."""
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def join_text(value: Any) -> str | None:
    """The text ``Std:Join`` uses for one resolved value; None when it is not a primitive."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double_to_string(value)
    return None


def value_text(value: Any) -> str:
    """A resolved value where the service needs a string (a Fail step's ErrorMessage, a job's
    Environment, experiment names, listed parameters): primitives as ``Std:Join`` renders them
    (``false``, ``3``, ``1.0E-5``), null as ``""``, lists and objects as compact JSON, the way
    a JVM JSON node prints itself."""
    text = join_text(value)
    if text is not None:
        return text
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
