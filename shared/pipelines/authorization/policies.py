"""Local evaluation of identity policies, as IAM evaluates one request.

IAM's evaluation logic: an explicit deny wins, then any allow, else an implicit deny; with a
permissions boundary the boundary must allow too. A statement applies when its
Action/NotAction (case-insensitive, ``*``/``?`` wildcards), Resource/NotResource (wildcards,
``${key}`` policy variables from the request context) and every condition match.

Conditions: the operators in :data:`SUPPORTED_OPERATORS` -- String*, Numeric*, Bool, Null,
Arn*, each (but Null) also ``...IfExists``, and the ``ForAnyValue:`` / ``ForAllValues:`` set
qualifiers -- with IAM's rules for absent keys (a negated operator matches; ``ForAllValues``
matches; ``IfExists`` matches). Anything else (Date*, IpAddress, Binary, a malformed
statement or a non-numeric Numeric value) raises :class:`UnsupportedPolicy`, which the
authorizer turns into a denial: a policy we cannot evaluate exactly never grants anything.

Why hand-written: no maintained Python library evaluates a request against identity policies
with conditions (principalmapper, the one that did, has had no release since 2022 and fails to
import on Python >= 3.10; iam-ape computes effective permissions without a request context;
policyuniverse parses but does not evaluate). The cloud can use IAM's own simulator instead
(:class:`pipelines.authorization.authorizer.SimulatorEvaluator`) behind the same interface.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipelines.api.errors import AccessDenied

Context = Mapping[str, Sequence[str]]


class UnsupportedPolicy(AccessDenied):
    """A policy this evaluator cannot evaluate exactly (unknown operator, malformed statement)."""


class Decision(enum.Enum):
    ALLOW = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).match(value) is not None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise UnsupportedPolicy(f"a Numeric condition compares the non-number {text!r}") from exc


def _arn_like(pattern: str, value: str) -> bool:
    # ARN operators compare the six colon-delimited parts separately (a wildcard never spans a colon).
    p, v = pattern.split(":", 5), value.split(":", 5)
    return len(p) == len(v) == 6 and all(_like(a, b) for a, b in zip(p, v, strict=True))


# operator -> (does one context value match one policy value?, is it a negated operator?)
_Match = Callable[[str, str], bool]
_BASE: dict[str, tuple[_Match, bool]] = {
    "StringEquals": (lambda c, p: c == p, False),
    "StringNotEquals": (lambda c, p: c == p, True),
    "StringEqualsIgnoreCase": (lambda c, p: c.lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda c, p: c.lower() == p.lower(), True),
    "StringLike": (lambda c, p: _like(p, c), False),
    "StringNotLike": (lambda c, p: _like(p, c), True),
    "NumericEquals": (lambda c, p: _number(c) == _number(p), False),
    "NumericNotEquals": (lambda c, p: _number(c) == _number(p), True),
    "NumericLessThan": (lambda c, p: _number(c) < _number(p), False),
    "NumericLessThanEquals": (lambda c, p: _number(c) <= _number(p), False),
    "NumericGreaterThan": (lambda c, p: _number(c) > _number(p), False),
    "NumericGreaterThanEquals": (lambda c, p: _number(c) >= _number(p), False),
    "Bool": (lambda c, p: c.lower() == p.lower(), False),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
}
SUPPORTED_OPERATORS: frozenset[str] = frozenset(
    {"Null"}
    | set(_BASE)
    | {f"{op}IfExists" for op in _BASE}
    | {f"{q}:{op}" for q in ("ForAnyValue", "ForAllValues") for op in _BASE if op != "Bool"}
)


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    out = []
    for item in values:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise UnsupportedPolicy(f"a condition value must be a string, number or boolean, not {item!r}")
    return out


def _condition_matches(operator: str, policy_values: list[str], context_values: list[str] | None) -> bool:
    if operator == "Null":
        wanted_absent = [v.lower() for v in policy_values]
        absent = not context_values
        return all((v == "true") == absent for v in wanted_absent)
    qualifier, _, rest = operator.rpartition(":")
    if_exists = rest.endswith("IfExists")
    base = rest.removesuffix("IfExists")
    match, negated = _BASE[base]

    def one(value: str) -> bool:
        hit = any(match(value, p) for p in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in context_values or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in context_values or [])
    if not context_values:
        return if_exists or negated
    return all(one(v) for v in context_values) if negated else any(one(v) for v in context_values)


def _checked(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement") if isinstance(document, Mapping) else None
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise UnsupportedPolicy("a policy has no Statement list")
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise UnsupportedPolicy("a policy statement has no Effect of Allow or Deny")
        if ("Action" in statement) == ("NotAction" in statement):
            raise UnsupportedPolicy("a policy statement needs exactly one of Action and NotAction")
        if ("Resource" in statement) == ("NotResource" in statement):
            raise UnsupportedPolicy(
                "an identity policy statement needs exactly one of Resource and NotResource"
            )
        if "Principal" in statement or "NotPrincipal" in statement:
            raise UnsupportedPolicy("an identity policy statement cannot name a Principal")
        condition = statement.get("Condition") or {}
        if not isinstance(condition, Mapping):
            raise UnsupportedPolicy("a policy statement's Condition is not an object")
        for operator, keys in condition.items():
            if operator not in SUPPORTED_OPERATORS:
                raise UnsupportedPolicy(
                    f"the condition operator {operator} is not supported by this policy evaluator "
                    f"(supported: String*, Numeric*, Bool, Null, Arn*, ...IfExists, ForAnyValue:, ForAllValues:)"
                )
            if not isinstance(keys, Mapping):
                raise UnsupportedPolicy(f"the {operator} condition is not an object of keys")
    return list(statements)


def check_document(document: Any) -> None:
    """Raise :class:`UnsupportedPolicy` unless ``document`` is a policy this module evaluates exactly."""
    _checked(document)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _resource_pattern(pattern: str, context: Mapping[str, list[str]]) -> str | None:
    """``${key}`` replaced by its single context value (``${*}`` etc. are escapes); None if a
    variable has no value -- the statement then does not apply, as in IAM."""
    missing = False

    def value(m: re.Match[str]) -> str:
        nonlocal missing
        key = m.group(1)
        if key in ("*", "?", "$"):
            return key
        values = context.get(key.lower())
        if not values or len(values) != 1:
            missing = True
            return ""
        return values[0]

    text = _VARIABLE.sub(value, pattern)
    return None if missing else text


def _applies(
    statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, list[str]]
) -> bool:
    if "Action" in statement:
        action_ok = any(_like(p, action, ignore_case=True) for p in _strings(statement["Action"]))
    else:
        action_ok = not any(_like(p, action, ignore_case=True) for p in _strings(statement["NotAction"]))
    if not action_ok:
        return False
    patterns = [
        _resource_pattern(p, context)
        for p in _strings(statement.get("Resource", statement.get("NotResource")))
    ]
    hit = any(p is not None and _like(p, resource) for p in patterns)
    if ("Resource" in statement) != hit:
        return False
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, values in keys.items():
            if not _condition_matches(operator, _strings(values), context.get(str(key).lower())):
                return False
    return True


def _any(
    statements: list[Mapping[str, Any]], effect: str, action: str, resource: str, ctx: Mapping[str, list[str]]
) -> bool:
    return any(s["Effect"] == effect and _applies(s, action, resource, ctx) for s in statements)


def evaluate(
    documents: Sequence[Mapping[str, Any]],
    action: str,
    resource: str,
    context: Context,
    *,
    boundary: Mapping[str, Any] | None = None,
) -> Decision:
    """IAM's decision for one request against a principal's identity policies (and boundary)."""
    statements = [s for document in documents for s in _checked(document)]
    ctx = {key.lower(): list(values) for key, values in context.items()}  # keys are case-insensitive
    if _any(statements, "Deny", action, resource, ctx):
        return Decision.EXPLICIT_DENY
    if boundary is not None:
        bounded = _checked(boundary)
        if _any(bounded, "Deny", action, resource, ctx):
            return Decision.EXPLICIT_DENY
        if not _any(bounded, "Allow", action, resource, ctx):
            return Decision.IMPLICIT_DENY
    return Decision.ALLOW if _any(statements, "Allow", action, resource, ctx) else Decision.IMPLICIT_DENY
