"""``Std:JsonGet`` paths (``regression_metrics.mse.value``, ``Result['score']``, ``a[0].b``).

The docs point to Jayway JsonPath; jsonpath-ng's extended grammar reads the same paths. As in
Jayway, a definite path (fields and single indexes only) yields the value itself, and an
indefinite one (wildcards, slices, filters, unions, ``..``) yields the list of matches.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonpath_ng import Child, Fields, Index, JSONPath, Root, This
from jsonpath_ng.ext import parse

from pipelines.expressions.errors import JsonPathNotFoundError, MalformedExpressionError


@lru_cache(maxsize=1024)
def _compile(path: str) -> JSONPath:
    return parse(path)


def _is_definite(node: JSONPath) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Child):
            stack.extend((current.left, current.right))
        elif isinstance(current, Fields):
            if len(current.fields) != 1 or current.fields[0] == "*":
                return False
        elif isinstance(current, Index):
            if len(current.indices) != 1:
                return False
        elif not isinstance(current, Root | This):
            return False
    return True


def query_json(document: Any, path: str, *, expression: Any) -> Any:
    """The value(s) ``path`` selects in ``document``; typed errors name ``expression``."""
    try:
        compiled = _compile(path)
    except Exception as exc:  # jsonpath-ng raises bare Exception subclasses on syntax errors
        raise MalformedExpressionError(expression, f"invalid JsonGet Path {path!r}: {exc}") from exc
    matches = [match.value for match in compiled.find(document)]
    if _is_definite(compiled):
        if not matches:
            raise JsonPathNotFoundError(expression, f"the JSON document has no value at Path {path!r}")
        return matches[0]
    return matches
