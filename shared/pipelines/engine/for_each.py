"""ForEach steps (v3 SDK ``ForEachStep``): one run of the ForEachBody per item.

A ForEach step is decided by the engine; it has no runner of its own. When it is ready:

* ``IterableItems`` is resolved: a literal list (each element may be an expression), or an
  expression whose value is a JSON list (usually a JSON list *string*, as a String parameter or
  a Lambda output carries it). A value that is no list, or an empty list, fails the step with
  a FailureReason naming it. The items are kept on the ForEach's record (``step_fields``).
* The ForEach's record is then ``Executing`` for as long as its iterations run. Iteration ``i``
  of body step ``B`` is an ordinary step record named ``B-i`` (the SDK's child-ID rule), with
  an :class:`~pipelines.store.base.IterationContext` (parent, index, item) that
  ListPipelineExecutionSteps reports. Its step is the body step with ``ForEach.CurrentItem``
  replaced by the item and references to sibling body steps (``Steps.A...``, ``DependsOn: A``)
  pointed at the same iteration (``A-i``), so launching, caching, retry policies, stop,
  RetryPipelineExecution and the runners treat it like any other step.
* At most ``MaxConcurrency`` iteration steps of one ForEach run at once, and they count
  against the execution's ``MaxParallelExecutionSteps`` like any step (the ForEach's own
  record does not: it runs nothing). Iterations start in index order; within an iteration a
  body step starts when the body steps it reads or depends on succeeded.
* When no iteration step runs and none can start, the ForEach ends: ``Succeeded`` when every
  iteration step succeeded, ``Stopped`` after a stop, ``Failed`` otherwise. Its properties
  (``Steps.FE.<member>``) and its ``Metadata.ForEach`` follow the SDK and botocore: ``Status``,
  ``InputItemCount``, ``TotalStepCount``, ``Succeeded/Failed/StoppedStepCount``,
  ``IterationOutputs[i].<BodyStep>.<member>`` and, with a ``Selector``, ``Selected.<member>``:
  the outputs of the selector's body step in the iteration whose ``Field`` is largest
  (``MaxBy``) or smallest (``MinBy``); ties go to the lowest index, and iterations without
  the field are not candidates.

An iteration step failure is a step failure like any other (engine/failure_policy.py): no new
step starts, iterations of this ForEach included, unless a run condition handles the ForEach's
failure. A retried execution reuses the iteration steps that succeeded and reruns the others.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from pipelines.definition.models import ForEachStep, Step
from pipelines.errors import PipelinesError
from pipelines.expressions import evaluate, parse_get, resolve_property_path
from pipelines.expressions.paths import Field, Index, Key, PathSyntaxError, Segment
from pipelines.store.base import RUNNING_STEP_STATUSES, IterationContext, StepRecord

if TYPE_CHECKING:
    from pipelines.engine.decisions import Compiled, Decisions
    from pipelines.engine.planner import Plan
    from pipelines.expressions import EvaluationContext

FOR_EACH = "ForEach"
CURRENT_ITEM = "CurrentItem"
ITERATION_OUTPUT = "IterationOutput"
MAX_ITEM_TEXT = 12_800  # botocore IterationContext.Item
_TERMINAL = frozenset({"Succeeded", "Failed", "Stopped"})


class ForEachError(PipelinesError):
    """A ForEach step cannot expand or pick its selection; the message is its FailureReason."""


def child_name(body_step: str, index: int) -> str:
    """The name an iteration's step is listed under (``ScoreItem-0``, ``ScoreItem-1``...)."""
    return f"{body_step}-{index}"


def is_for_each(record: StepRecord) -> bool:
    """A ForEach step's own record: it runs nothing itself, its iterations do."""
    return record.step_type == FOR_EACH


def has_for_each(compiled: Compiled) -> bool:
    """Whether the definition has a ForEach step (the scheduler skips all of this otherwise)."""
    found = compiled.memo.get("has_for_each")
    if found is None:
        found = any(step.type == FOR_EACH for step in compiled.steps.values())
        compiled.memo["has_for_each"] = found
    return bool(found)


def with_iterations(names: frozenset[str], records: Mapping[str, StepRecord]) -> frozenset[str]:
    """``names`` plus the iteration steps of the ForEach steps among them: a run condition that
    handles a ForEach's failure handles the failures of its iterations too."""
    if not names:
        return names
    return names | {
        name
        for name, record in records.items()
        if record.iteration is not None and record.iteration.parent_step_name in names
    }


# -- the body ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A ForEach step's body, in the order its steps can start within one iteration."""

    step: ForEachStep
    steps: tuple[Step, ...]
    waits_for: Mapping[str, tuple[str, ...]]  # body step -> body siblings it needs to succeed first


def body_of(compiled: Compiled, name: str) -> Body:
    body = compiled.memo.get(("body", name))
    if body is None:
        step = compiled.steps[name]
        assert isinstance(step, ForEachStep)
        names = {child.name for child in step.arguments.body}
        order = [n for n in compiled.graph.topological_order() if n in names]
        by_name = {child.name: child for child in step.arguments.body}
        waits = {n: tuple(sorted(compiled.graph.upstream(n) & names)) for n in order}
        body = Body(step, tuple(by_name[n] for n in order), waits)
        compiled.memo[("body", name)] = body
    assert isinstance(body, Body)
    return body


# -- items --------------------------------------------------------------------------------------


def resolve_items(step: ForEachStep, ctx: EvaluationContext) -> list[Any]:
    """The items of ``step``'s IterableItems; ForEachError when they are no non-empty list."""
    raw = step.arguments.iterable_items
    where = f"IterableItems of ForEach step {step.name!r}"
    if isinstance(raw, list):
        items: Any = [evaluate(element, ctx) for element in raw]
    else:
        value = evaluate(raw, ctx)
        items = value
        if isinstance(value, str):
            try:
                items = json.loads(value)
            except ValueError:
                raise ForEachError(
                    f"{where} must resolve to a JSON list; got the string {_shorten(value)!r}, "
                    "which is not JSON"
                ) from None
        if not isinstance(items, list):
            raise ForEachError(
                f"{where} must resolve to a JSON list; got {_kind(items)} {_shorten(json.dumps(items))}"
            )
    if not items:
        raise ForEachError(f"{where} resolved to an empty list: a ForEach needs at least one item")
    return list(items)


def item_text(value: Any) -> str:
    """The item as ListPipelineExecutionSteps' ``IterationContext.Item`` lists it."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text[:MAX_ITEM_TEXT]


def max_concurrency(record: StepRecord) -> int | None:
    value = (record.arguments or {}).get("MaxConcurrency") if isinstance(record.arguments, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def expand(step: ForEachStep, ctx: EvaluationContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the resolved Arguments a ForEach record keeps, its step fields with the items)."""
    items = resolve_items(step, ctx)
    concurrency = step.arguments.max_concurrency
    if concurrency is not None and (isinstance(concurrency, bool) or concurrency < 1):
        raise ForEachError(f"MaxConcurrency of ForEach step {step.name!r} must be at least 1")
    arguments: dict[str, Any] = {"IterableItems": items, "MaxConcurrency": concurrency}
    if step.arguments.selector is not None:
        arguments["Selector"] = step.arguments.selector
    return arguments, {"Items": items}


# -- the step one iteration runs ----------------------------------------------------------------

_STEP_ADAPTER: TypeAdapter[Step] = TypeAdapter(Step)


def iteration_step(compiled: Compiled, context: IterationContext, body_step: str) -> Step:
    """Body step ``body_step`` as iteration ``context.index`` runs it (memoised per item)."""
    key = ("iteration", body_step, context.index, json.dumps(context.value, sort_keys=True))
    step = compiled.memo.get(key)
    if step is None:
        body = body_of(compiled, context.parent_step_name)
        siblings = {child.name for child in body.steps}
        raw = next(child for child in body.steps if child.name == body_step).to_json_dict()
        data = _bind(raw, context, siblings)
        data["Name"] = child_name(body_step, context.index)
        if isinstance(data.get("DependsOn"), list):
            data["DependsOn"] = [_bind_depends_on(entry, context, siblings) for entry in data["DependsOn"]]
        step = _STEP_ADAPTER.validate_python(data)
        compiled.memo[key] = step
    assert not isinstance(step, Body)
    return step


def step_for_record(compiled: Compiled, steps: Mapping[str, StepRecord], name: str) -> Step:
    """The step a record of this execution runs: a definition step, or an iteration's."""
    step = compiled.steps.get(name)
    if step is not None:
        return step
    record = steps.get(name)
    if record is None or record.iteration is None:
        raise KeyError(name)
    suffix = f"-{record.iteration.index}"
    return iteration_step(compiled, record.iteration, name[: -len(suffix)])


def _bind(value: Any, context: IterationContext, siblings: set[str]) -> Any:
    """``value`` with ``ForEach.CurrentItem`` replaced by the item and sibling references
    pointed at this iteration's steps."""
    if isinstance(value, dict):
        target = value.get("Get") if len(value) == 1 else None
        if isinstance(target, str):
            return _bind_get(target, context, siblings)
        return {key: _bind(member, context, siblings) for key, member in value.items()}
    if isinstance(value, list):
        return [_bind(item, context, siblings) for item in value]
    return value


def _bind_depends_on(entry: Any, context: IterationContext, siblings: set[str]) -> Any:
    """A DependsOn entry (a name, or the v3 ``{"Step", "Trigger"}``) naming a sibling body step
    names that step's run in the same iteration."""
    if isinstance(entry, str) and entry in siblings:
        return child_name(entry, context.index)
    if isinstance(entry, dict) and set(entry) == {"Step", "Trigger"} and entry.get("Step") in siblings:
        return {**entry, "Step": child_name(str(entry["Step"]), context.index)}
    return entry


_STEP_TARGET = re.compile(r"^Steps\.([^.\[\]'\"]+)")


def _bind_get(target: str, context: IterationContext, siblings: set[str]) -> Any:
    if target == f"{FOR_EACH}.{CURRENT_ITEM}" or target.startswith(
        (f"{FOR_EACH}.{CURRENT_ITEM}.", f"{FOR_EACH}.{CURRENT_ITEM}[")
    ):
        try:
            path = parse_get(target).path
        except PathSyntaxError as exc:
            raise ForEachError(f"{target}: {exc}") from exc
        return current_item(context.value, path, target)
    match = _STEP_TARGET.match(target)
    if match and match.group(1) in siblings:
        name = match.group(1)
        return {"Get": f"Steps.{child_name(name, context.index)}{target[match.end():]}"}
    return {"Get": target}


def current_item(item: Any, path: Sequence[Segment], target: str) -> Any:
    """``ForEach.CurrentItem<path>`` of ``item``. A JSON object or list item is drilled into
    (a JSON text item is parsed first); the whole item of that kind is its JSON text."""
    value = item
    for segment in path:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ForEachError(f"{target}: the item {_shorten(value)!r} is no JSON object") from None
        if isinstance(segment, Field | Key) and isinstance(value, dict):
            key = segment.name if isinstance(segment, Field) else segment.key
            if key not in value:
                raise ForEachError(f"{target}: the item has no field {key!r}")
            value = value[key]
        elif isinstance(segment, Index) and isinstance(value, list):
            if not -len(value) <= segment.index < len(value):
                raise ForEachError(f"{target}: the item has no element {segment.index}")
            value = value[segment.index]
        else:
            raise ForEachError(f"{target}: the item {_shorten(json.dumps(value))} has no {segment}")
    return json.dumps(value) if isinstance(value, dict | list) else value


# -- scheduling iterations -----------------------------------------------------------------------


@dataclass
class _Iterations:
    """The state of one running ForEach's iterations, read from the current records."""

    running: int = 0
    startable: int = 0  # not started, everything they wait for succeeded


def advance_iterations(
    decisions: Decisions,
    plan: Plan,
    compiled: Compiled,
    running: int,
    *,
    blocked: bool,
    stopping: bool,
) -> tuple[bool, int]:
    """Start what the running ForEach steps can start, and end those that are done.

    ``running`` is the execution's running step count (for MaxParallelExecutionSteps). Returns
    (whether a record ended at once, so the scheduler must look again; the new running count).
    """
    settled = False
    limit = plan.execution.parallelism
    for name, record in list(plan.current_steps().items()):
        if not is_for_each(record) or record.status not in RUNNING_STEP_STATUSES:
            continue
        body = body_of(compiled, name)
        items = record.step_fields.get("Items") or []
        cap = max_concurrency(record)
        state = _scan(plan, body, items)
        if not blocked and not stopping and record.status == "Executing":
            for index, item in enumerate(items):
                if (cap is not None and state.running >= cap) or (limit is not None and running >= limit):
                    break
                for step in body.steps:
                    child = child_name(step.name, index)
                    if child in plan.current_steps() or not _may_start(plan, body, step.name, index):
                        continue
                    if (cap is not None and state.running >= cap) or (limit is not None and running >= limit):
                        break
                    if plan.full:
                        plan.more = True
                        return settled, running
                    context = IterationContext(
                        parent_step_name=name, index=index, item=item_text(item), value=item
                    )
                    if decisions.launch(
                        plan, compiled, iteration_step(compiled, context, step.name), iteration=context
                    ):
                        state.running += 1
                        running += 1
                    else:
                        settled = True
            state = _scan(plan, body, items)
        if state.running == 0 and (state.startable == 0 or blocked or stopping):
            _finish(decisions, plan, compiled, record, body, items, stopping=stopping)
            settled = True
    return settled, running


def _may_start(plan: Plan, body: Body, step_name: str, index: int) -> bool:
    current = plan.current_steps()
    for sibling in body.waits_for[step_name]:
        record = current.get(child_name(sibling, index))
        if record is None or record.status != "Succeeded":
            return False
    return True


def _scan(plan: Plan, body: Body, items: list[Any]) -> _Iterations:
    current = plan.current_steps()
    state = _Iterations()
    for index in range(len(items)):
        for step in body.steps:
            record = current.get(child_name(step.name, index))
            if record is None:
                state.startable += _may_start(plan, body, step.name, index)
            elif record.status in RUNNING_STEP_STATUSES:
                state.running += 1
    return state


def _finish(
    decisions: Decisions,
    plan: Plan,
    compiled: Compiled,
    record: StepRecord,
    body: Body,
    items: list[Any],
    *,
    stopping: bool,
) -> None:
    current = plan.current_steps()
    children = [
        current.get(child_name(step.name, index)) for index in range(len(items)) for step in body.steps
    ]
    ran = [child for child in children if child is not None]
    counts = {
        status: sum(1 for child in ran if child.status == status)
        for status in ("Succeeded", "Failed", "Stopped")
    }
    not_run = len(children) - len(ran)
    failed = [child.step_name for child in ran if child.status == "Failed"]
    if failed:
        status = "Failed"
        reason: str | None = f"ForEach iteration steps failed: {', '.join(failed[:10])}" + (
            f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        )
    elif stopping or counts["Stopped"]:
        status, reason = "Stopped", None
    elif not_run:
        status = "Failed"
        reason = (
            f"{not_run} ForEach iteration step(s) did not run: another step of the execution failed, "
            "so no new step started"
        )
    else:
        status, reason = "Succeeded", None
    summary: dict[str, Any] = {
        "Status": status,
        "InputItemCount": len(items),
        "TotalStepCount": len(ran),
        "SucceededStepCount": counts["Succeeded"],
        "FailedStepCount": counts["Failed"],
        "StoppedStepCount": counts["Stopped"],
    }
    properties: dict[str, Any] | None = None
    metadata = dict(summary)
    if status == "Succeeded":
        outputs = [
            {step.name: (current[child_name(step.name, index)].properties or {}) for step in body.steps}
            for index in range(len(items))
        ]
        properties = {**summary, "IterationOutputs": outputs}
        try:
            selected = select(body.step, outputs)
        except ForEachError as exc:
            status, reason, properties = "Failed", str(exc), None
            summary["Status"] = metadata["Status"] = "Failed"
        else:
            if selected is not None:
                index, body_step = selected
                properties["Selected"] = outputs[index][body_step]
                metadata["Selector"] = {"StepName": child_name(body_step, index), "Index": index}
    decisions.end_decided(
        plan,
        record,
        status,
        failure_reason=reason,
        properties=properties,
        metadata={FOR_EACH: metadata},
    )


def select(step: ForEachStep, outputs: list[dict[str, Any]]) -> tuple[int, str] | None:
    """(index, body step) of the iteration the Selector picks; None without a Selector."""
    selector = step.arguments.selector
    if selector is None:
        return None
    pick = selector.get("Pick")
    field = selector.get("Field")
    target = field.get("Get") if isinstance(field, dict) else None
    where = f"Selector of ForEach step {step.name!r}"
    if pick not in ("MaxBy", "MinBy") or not isinstance(target, str):
        raise ForEachError(
            f"{where} must have Pick MaxBy or MinBy and a Field {{'Get': 'IterationOutput...'}}"
        )
    try:
        ref = parse_get(target)
    except PathSyntaxError as exc:
        raise ForEachError(f"{where}: {exc}") from exc
    if ref.namespace != ITERATION_OUTPUT or not ref.path:
        raise ForEachError(f"{where}: Field must read IterationOutput.<BodyStep>.<member>, not {target!r}")
    best: tuple[float, int] | None = None
    for index, output in enumerate(outputs):
        if ref.name not in output:
            raise ForEachError(f"{where}: {ref.name!r} is not a step of the ForEachBody")
        try:
            value = resolve_property_path(output[ref.name], ref.path, step_name=ref.name)
        except PipelinesError:
            continue
        number = _number(value)
        if number is None:
            raise ForEachError(f"{where}: {target} of iteration {index} is {value!r}, not a number")
        key = number if pick == "MaxBy" else -number
        if best is None or key > best[0]:
            best = (key, index)
    if best is None:
        raise ForEachError(f"{where}: no iteration has a value for {target}")
    return best[1], ref.name


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


_KINDS = {dict: "an object", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _kind(value: Any) -> str:
    return "null" if value is None else _KINDS.get(type(value), type(value).__name__)


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
