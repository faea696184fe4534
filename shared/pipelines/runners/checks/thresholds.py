"""Comparing a value with a threshold as Model Monitor's constraints do, floating-point noise aside."""

from __future__ import annotations

import math
from collections.abc import Callable

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


# Values this close count as equal: a threshold written from one computation and a value from
# another (Spark's summation order, ours) differ in the last digits (the SDK's own "good case"
# constraints are 0.33364933609800973 where scikit-learn gives 0.3336493360980098).
RELATIVE_TOLERANCE = 1e-9


def beyond(operator: str, value: float, threshold: float) -> bool:
    """Whether ``value`` violates ``threshold`` under ``operator``, floating-point noise aside."""
    equal = math.isclose(value, threshold, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    if operator.endswith("OrEqualToThreshold"):
        return equal or OPERATORS[operator](value, threshold)
    return not equal and OPERATORS[operator](value, threshold)
