"""The pipeline DAG: which step waits for which, in what order steps can run, and what a
selection or a skipped branch drags along with it.

Edges are the union the service infers (DESIGN.md "DAG edges"): explicit ``DependsOn``, every
``{"Get": "Steps.X..."}`` found anywhere in a step (Arguments and step-level fields such as
FunctionArn or SkipCheck), and condition step -> each step directly inside its IfSteps/ElseSteps.
A ForEach step -> each step of its ForEachBody (kind ``for_each``): body steps run only as the
ForEach's iterations, and everything outside the body that a body step reads (or DependsOn)
is also upstream of the ForEach itself, so every iteration's inputs exist when it expands.
References to unknown steps or to the step itself are ignored here; the validator reports them.

Every walk is iterative: real definitions nest conditions 30 deep and the graph must stay fast
for thousands of steps.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel

from pipelines.errors import ValidationError
from pipelines.expressions.references import referenced_step_names

if TYPE_CHECKING:  # pipelines.definition's validator imports this module: no runtime import back
    from pipelines.definition.models import ConditionStep, PipelineDefinition, Step

EdgeKind = Literal["depends_on", "data", "if", "else", "for_each"]
Branch = Literal["if", "else"]


class CycleError(ValidationError):
    """The steps depend on each other in a circle; ``cycle`` names it, first step repeated last."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__(f"The pipeline definition has a cyclic dependency: {' -> '.join(cycle)}")
        self.cycle = cycle


class UnknownStepError(ValidationError):
    """A graph query named a step that the definition does not contain."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Step {name!r} is not in the pipeline definition")
        self.name = name


_PLAIN_FIELDS = frozenset({"name", "type", "depends_on", "display_name", "description"})


def _for_each_body(step: Step) -> list[Step]:
    """The ForEachBody of a ForEach step (empty for every other type)."""
    return step.children() if step.type == "ForEach" else []


def _as_condition(step: Step) -> ConditionStep | None:
    """The step as a ConditionStep (the parser maps Type "Condition" to that model only)."""
    return cast("ConditionStep", step) if step.type == "Condition" else None


def _expression_carriers(step: Step) -> Iterator[Any]:
    """The raw JSON parts of a step where expressions may hide.

    A condition's own branches are excluded: their references belong to the nested steps.
    Typed sub-models (CacheConfig, RetryPolicies, PropertyFiles) hold no expressions except in
    their kept-unknown fields, so those are dumped only when present.
    """
    condition = _as_condition(step)
    for field_name in step.model_fields_set - _PLAIN_FIELDS:
        value = getattr(step, field_name)
        if condition is not None and field_name == "arguments":
            yield condition.arguments.conditions
            if condition.arguments.model_extra:
                yield condition.arguments.model_extra
        elif step.type == "ForEach" and field_name == "arguments":
            yield value.model_dump(mode="json", by_alias=True, exclude={"body"})
        elif isinstance(value, BaseModel):
            if value.model_extra:
                yield value.model_dump(mode="json", by_alias=True)
        elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
            yield [item.model_dump(mode="json", by_alias=True) for item in value if item.model_extra]
        else:
            yield value
    if step.model_extra:
        yield step.model_extra


class GraphBuilder:
    """Builds a :class:`PipelineGraph` one step at a time, so that a caller already visiting each
    step (the validator) adds it while the step's data is still in the CPU caches.

    :meth:`add` is called once for every step of ``steps``, in its order; :meth:`graph` then
    finishes the DAG. Every edge :meth:`add` makes ends at the step added or starts at it (a
    branch), and each name comes once: duplicates can only come from the same step's lists, so
    they are weeded out there instead of checking every edge against every other.
    """

    def __init__(self, steps: dict[str, Step]) -> None:
        self.steps = steps
        self.order = {name: i for i, name in enumerate(steps)}
        self.edges: list[tuple[str, str, EdgeKind]] = []
        self.branch: dict[str, tuple[str, Branch]] = {}
        self.for_each: dict[str, str] = {}
        self.for_each_steps: list[str] = []
        self.forward = True  # every edge so far from an earlier step to a later one

    def add(self, name: str, step: Step, read: set[str] | None = None) -> None:
        """Add ``step`` (named ``name`` in ``steps``). ``read``: the step names its expressions
        read, when the caller knows them (the validator's walk); the step is walked otherwise."""
        order, edges = self.order, self.edges
        position = order[name]
        forward = self.forward
        depends_on = step.depends_on
        if depends_on:
            for dep in dict.fromkeys(depends_on) if len(depends_on) > 1 else depends_on:
                dep_position = order.get(dep)
                if dep_position is not None and dep != name:
                    edges.append((dep, name, "depends_on"))
                    forward = forward and dep_position < position
        if read is None:
            read = referenced_step_names(list(_expression_carriers(step)))
        if len(read) == 1:
            for src in read:
                src_position = order.get(src)
                if src_position is not None and src != name:
                    edges.append((src, name, "data"))
                    forward = forward and src_position < position
        elif read:
            reads = [src for src in read if src in order and src != name]
            if reads:
                reads.sort(key=order.__getitem__)
                edges += [(src, name, "data") for src in reads]
                forward = forward and order[reads[-1]] < position
        step_type = step.type  # tested inline: this runs for every step of every definition
        if step_type == "Condition":
            arguments = cast("ConditionStep", step).arguments
            for kind, children in (("if", arguments.if_steps), ("else", arguments.else_steps)):
                for child in children:
                    self.branch[child.name] = (name, cast("Branch", kind))
                for child_name in dict.fromkeys(child.name for child in children):
                    if child_name != name:
                        edges.append((name, child_name, cast("EdgeKind", kind)))
                        forward = forward and position < order[child_name]
        elif step_type == "ForEach":
            self.for_each_steps.append(name)
            for child in _for_each_body(step):
                self.for_each[child.name] = name
        self.forward = forward

    def graph(self) -> PipelineGraph:
        """The DAG of every step added: the ForEach edges, then the order when it is known."""
        steps, order, edges = self.steps, self.order, self.edges
        if self.for_each_steps:
            seen = set(edges)

            def add(src: str, dst: str, kind: EdgeKind) -> None:
                edge = (src, dst, kind)
                if src != dst and src in steps and edge not in seen:
                    seen.add(edge)
                    edges.append(edge)
                    self.forward = self.forward and order[src] < order[dst]

            for name in self.for_each_steps:
                body = {child.name for child in _for_each_body(steps[name])}
                for child_name in sorted(body, key=order.__getitem__):
                    add(name, child_name, "for_each")
                outside = {src for src, dst, _ in edges if dst in body and src not in body and src != name}
                for src in sorted(outside, key=order.__getitem__):
                    add(src, name, "data")
        graph = PipelineGraph(steps, edges, order, self.branch, self.for_each)
        if self.forward:
            # Kahn's order, known without running it: each step's predecessors all come before
            # it, so the earliest step not yet taken is always ready (SDK definitions list steps
            # in dependency order, so this is the usual case).
            graph._topological = list(steps)
        return graph


class PipelineGraph:
    """Adjacency of a parsed definition; built once, queried by validator, engine and API.

    Built with :meth:`from_definition` or a :class:`GraphBuilder`. The neighbour sets are made on
    the first query that needs them: validating a definition needs only the topological
    order, which Kahn's algorithm takes from the edge list.
    """

    def __init__(
        self,
        steps: dict[str, Step],
        edges: list[tuple[str, str, EdgeKind]],
        order: dict[str, int],
        branch: dict[str, tuple[str, Branch]],
        for_each: dict[str, str],
    ) -> None:
        self.steps = steps
        self._order = order
        self._edges = edges
        self._branch = branch
        self._for_each = for_each
        self._topological: list[str] | None = None

    @cached_property
    def _down(self) -> dict[str, set[str]]:
        down: dict[str, set[str]] = {name: set() for name in self.steps}
        for src, dst, _ in self._edges:
            down[src].add(dst)
        return down

    @cached_property
    def _up(self) -> dict[str, set[str]]:
        up: dict[str, set[str]] = {name: set() for name in self.steps}
        for src, dst, _ in self._edges:
            up[dst].add(src)
        return up

    @classmethod
    def from_definition(cls, defn: PipelineDefinition) -> PipelineGraph:
        """The DAG of ``defn`` (the validator, which visits every step anyway, builds its own
        with :class:`GraphBuilder` as it goes)."""
        steps: dict[str, Step] = {}
        for step in defn.all_steps():
            steps.setdefault(step.name, step)  # duplicates are the validator's to report
        builder = GraphBuilder(steps)
        for name, step in steps.items():
            builder.add(name, step)
        return builder.graph()

    # -- neighbours --------------------------------------------------------------------------

    def _check(self, name: str) -> None:
        if name not in self.steps:
            raise UnknownStepError(name)

    def upstream(self, name: str) -> set[str]:
        self._check(name)
        return set(self._up[name])

    def downstream(self, name: str) -> set[str]:
        self._check(name)
        return set(self._down[name])

    def edges(self) -> list[tuple[str, str, str]]:
        """``(src, dst, kind)``: ``dst`` waits for ``src``; one tuple per distinct kind."""
        return list(self._edges)

    def _closure(self, names: Iterable[str], adjacency: dict[str, set[str]]) -> set[str]:
        start = list(names)
        for name in start:
            self._check(name)
        reached: set[str] = set()
        stack = [n for name in start for n in adjacency[name]]
        while stack:
            node = stack.pop()
            if node not in reached:
                reached.add(node)
                stack.extend(adjacency[node] - reached)
        return reached

    def downstream_closure(self, names: Iterable[str]) -> set[str]:
        """Every descendant; a given name is included only if another given name reaches it."""
        return self._closure(names, self._down)

    def upstream_closure(self, names: Iterable[str]) -> set[str]:
        """Every ancestor; a given name is included only if another given name needs it."""
        return self._closure(names, self._up)

    def branch_of(self, name: str) -> tuple[str, Branch] | None:
        """The condition step whose IfSteps/ElseSteps directly list ``name``, and which list."""
        self._check(name)
        return self._branch.get(name)

    def for_each_of(self, name: str) -> str | None:
        """The ForEach step whose ForEachBody holds ``name`` (None outside every body)."""
        self._check(name)
        return self._for_each.get(name)

    # -- ordering -----------------------------------------------------------------------------

    def topological_order(self) -> list[str]:
        """Kahn's algorithm; among ready steps the earliest in the definition comes first.

        Computed once per graph (the validator's cycle check, then the engine, ask for it) and
        copied out, since the graph never changes after it is built.
        """
        if self._topological is None:
            self._topological = self._kahn()
        return list(self._topological)

    def _kahn(self) -> list[str]:
        """From the edge list (a pair listed under two kinds counts twice on both sides)."""
        order = self._order
        indegree = dict.fromkeys(order, 0)
        successors: dict[str, list[int]] = {}
        for src, dst, _ in self._edges:
            indegree[dst] += 1
            later = successors.get(src)
            if later is None:
                successors[src] = [order[dst]]
            else:
                later.append(order[dst])
        names = list(self.steps)
        ready = [order[name] for name, degree in indegree.items() if degree == 0]  # ascending
        result: list[str] = []
        no_successors: list[int] = []
        while ready:
            name = names[heapq.heappop(ready)]
            result.append(name)
            for succ in successors.get(name, no_successors):
                succ_name = names[succ]
                indegree[succ_name] -= 1
                if indegree[succ_name] == 0:
                    heapq.heappush(ready, succ)
        if len(result) != len(names):
            cycle = self.find_cycle()
            assert cycle is not None  # Kahn stalled, so a cycle exists
            raise CycleError(cycle)
        return result

    def find_cycle(self) -> list[str] | None:
        """A cycle following edge direction, e.g. ``["A", "B", "C", "A"]``, or None."""
        if self._topological is not None:
            return None  # a complete topological order was found, so there is none
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self.steps, white)
        for root in self.steps:
            if colour[root] != white:
                continue
            colour[root] = grey
            path = [root]
            stack = [iter(self._sorted(self._down[root]))]
            while stack:
                succ = next(stack[-1], None)
                if succ is None:
                    colour[path.pop()] = black
                    stack.pop()
                elif colour[succ] == grey:
                    return [*path[path.index(succ) :], succ]
                elif colour[succ] == white:
                    colour[succ] = grey
                    path.append(succ)
                    stack.append(iter(self._sorted(self._down[succ])))
        return None

    def _sorted(self, names: Iterable[str]) -> list[str]:
        return sorted(names, key=self._order.__getitem__)

    # -- selections ---------------------------------------------------------------------------

    def selection_problems(self, names: Iterable[str]) -> list[str]:
        """Why a set of steps cannot be selected together (empty when it can).

        The service rule for selective execution: the selected steps must be connected in the
        DAG, and every step on a path between two selected steps must be selected too.
        """
        selected = list(dict.fromkeys(names))
        problems = [
            f"Step {name!r} is not in the pipeline definition" for name in selected if name not in self.steps
        ]
        chosen = {name for name in selected if name in self.steps}
        if not chosen:
            return problems or ["No steps were selected"]
        between = (self.downstream_closure(chosen) & self.upstream_closure(chosen)) - chosen
        for name in self._sorted(between):
            problems.append(f"Step {name!r} lies on a path between selected steps but is not selected")
        components = self._components(chosen)
        if len(components) > 1:
            listed = "; ".join(", ".join(self._sorted(c)) for c in components)
            problems.append(f"The selected steps are not connected in the pipeline DAG: {listed}")
        return problems

    def is_connected(self, names: Iterable[str]) -> bool:
        """True when ``names`` is a valid selection (see :meth:`selection_problems`)."""
        return not self.selection_problems(names)

    def _components(self, chosen: set[str]) -> list[set[str]]:
        """Weakly connected components of the subgraph induced by ``chosen``, in definition order."""
        components: list[set[str]] = []
        unvisited = set(chosen)
        for root in self._sorted(chosen):
            if root not in unvisited:
                continue
            unvisited.discard(root)
            component = {root}
            stack = [root]
            while stack:
                node = stack.pop()
                for other in (self._down[node] | self._up[node]) & unvisited:
                    unvisited.discard(other)
                    component.add(other)
                    stack.append(other)
            components.append(component)
        return components
