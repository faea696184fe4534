"""The Search subset for ``Pipeline`` and ``PipelineExecution`` resources.

Filters compare a top-level property of the entity (``PipelineName``, ``CreationTime``,
``PipelineExecutionStatus``, ...) or a tag (``Tags.<key>``, pipelines only) with the ten
operators; ``SubExpressions`` nest with And/Or. Shared pipelines (and their executions) are
found too, since the RAM permissions grant ``sagemaker:Search``. Other resource types,
``NestedFilters`` and ``VisibilityConditions`` are refused with a ValidationException.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from botocore.utils import parse_to_aware_datetime

from pipelines.api.ops.access import owner_of
from pipelines.api.ops.context import Operations, page_of
from pipelines.api.ops.executions import execution_description, parameter_value
from pipelines.api.ops.pipelines import PipelineOperations
from pipelines.api.wire import CallContext
from pipelines.errors import ValidationError
from pipelines.store import ListQuery, PipelineRecord

_SUPPORTED = ("Pipeline", "PipelineExecution")
_LIST_PAGE = 1000
Entity = dict[str, Any]


def _compare(operator: str, actual: Any, wanted: str | None) -> bool:
    if operator == "Exists":
        return actual is not None
    if operator == "NotExists":
        return actual is None
    if actual is None or wanted is None:
        return operator == "NotEquals" and actual is not None
    if isinstance(actual, datetime):
        try:
            target: Any = parse_to_aware_datetime(wanted)
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"Filter value {wanted!r} is not a timestamp") from exc
    elif isinstance(actual, int | float) and not isinstance(actual, bool):
        try:
            target = float(wanted)
        except ValueError as exc:
            raise ValidationError(f"Filter value {wanted!r} is not a number") from exc
    else:
        actual, target = str(actual), wanted
    checks: dict[str, Callable[[], bool]] = {
        "Equals": lambda: actual == target,
        "NotEquals": lambda: actual != target,
        "GreaterThan": lambda: actual > target,
        "GreaterThanOrEqualTo": lambda: actual >= target,
        "LessThan": lambda: actual < target,
        "LessThanOrEqualTo": lambda: actual <= target,
        "Contains": lambda: str(target) in str(actual),
        "In": lambda: str(actual) in [v.strip() for v in str(wanted).split(",")],
    }
    return checks[operator]()


def _property(entity: Entity, name: str) -> Any:
    if name.startswith("Tags."):
        key = name[len("Tags.") :]
        return next((t["Value"] for t in entity.get("Tags", []) if t["Key"] == key), None)
    value: Any = entity
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches(entity: Entity, expression: dict[str, Any]) -> bool:
    if "NestedFilters" in expression:
        raise ValidationError("SearchExpression.NestedFilters is not supported by this implementation")
    results = [
        _compare(f.get("Operator", "Equals"), _property(entity, f["Name"]), f.get("Value"))
        for f in expression.get("Filters", [])
    ]
    results += [_matches(entity, sub) for sub in expression.get("SubExpressions", [])]
    if expression.get("Operator") == "Or":
        return any(results) if results else True
    return all(results)


class SearchOperations:
    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    def search(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        resource = params["Resource"]
        if resource not in _SUPPORTED:
            raise ValidationError(
                f"Search supports the resources {', '.join(_SUPPORTED)} here, not {resource}"
            )
        if params.get("VisibilityConditions"):
            raise ValidationError("VisibilityConditions are not supported by this implementation")
        expression = params.get("SearchExpression", {})
        sort_by = params.get("SortBy", "CreationTime")
        entities = [
            e
            for e in self._entities(resource, ctx, params.get("CrossAccountFilterOption"))
            if _matches(e, expression)
        ]
        present = [e for e in entities if _property(e, sort_by) is not None]
        absent = [e for e in entities if _property(e, sort_by) is None]
        present.sort(
            key=lambda e: _property(e, sort_by), reverse=params.get("SortOrder", "Descending") == "Descending"
        )
        items, token = page_of(present + absent, params, f"search:{resource}")
        return {"Results": [{resource: item} for item in items], "NextToken": token}

    def _visible_pipelines(self, ctx: CallContext, cross_account: str | None) -> Iterator[PipelineRecord]:
        shared = self.ops.sharing.shared_pipelines(ctx.account_id)
        token = None
        while True:
            page = self.ops.store.list_pipelines(ListQuery(limit=_LIST_PAGE, next_token=token))
            for record in page.items:
                own = owner_of(record.arn) == ctx.account_id
                if (own and cross_account != "CrossAccount") or (
                    not own
                    and cross_account != "SameAccount"
                    and "Search" in shared.get(record.arn, frozenset())
                ):
                    yield record
            token = page.next_token
            if token is None:
                return

    def _entities(self, resource: str, ctx: CallContext, cross_account: str | None) -> Iterator[Entity]:
        for record in self._visible_pipelines(ctx, cross_account):
            if resource == "Pipeline":
                entity = PipelineOperations.describe_record(record)
                entity.pop("PipelineDefinition", None)
                entity["Tags"] = list(record.tags)
                yield entity
                continue
            token = None
            while True:
                page = self.ops.store.list_executions(
                    record.arn, ListQuery(limit=_LIST_PAGE, next_token=token)
                )
                for execution in page.items:
                    entity = execution_description(execution)
                    entity["PipelineParameters"] = [
                        {"Name": n, "Value": parameter_value(v)} for n, v in execution.parameters.items()
                    ]
                    yield entity
                token = page.next_token
                if token is None:
                    break
