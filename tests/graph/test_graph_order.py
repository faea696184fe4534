"""Topological order, cycles and closures, on the corpus and on generated DAGs."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pipelines.errors import ValidationError
from pipelines.graph import CycleError, PipelineGraph

from .builders import assert_respects_edges, condition, definition, step


def test_ties_break_by_definition_order() -> None:
    graph = PipelineGraph.from_definition(definition(step("Z"), step("M"), step("A", reads=["Z"]), step("B")))
    assert graph.topological_order() == ["Z", "M", "A", "B"]


@pytest.mark.parametrize(
    ("steps", "cycle"),
    [
        (
            [step("A", depends_on=["C"]), step("B", reads=["A"]), step("C", depends_on=["B"])],
            ["A", "B", "C", "A"],
        ),
        ([step("A", reads=["B"]), step("B", reads=["A"])], ["A", "B", "A"]),
        # A branch step that the condition itself reads from.
        (
            [condition("Cond", [step("Inner")], DependsOn=["Inner"])],
            ["Cond", "Inner", "Cond"],
        ),
        ([step("Ok"), step("X", depends_on=["Ok", "Y"]), step("Y", depends_on=["X"])], ["X", "Y", "X"]),
    ],
)
def test_cycles_are_named(steps: list[dict[str, Any]], cycle: list[str]) -> None:
    graph = PipelineGraph.from_definition(definition(*steps))
    assert graph.find_cycle() == cycle
    with pytest.raises(CycleError) as caught:
        graph.topological_order()
    assert caught.value.cycle == cycle
    assert isinstance(caught.value, ValidationError)
    assert " -> ".join(cycle) in str(caught.value)


def test_closures_exclude_the_start_unless_reached_from_another_start() -> None:
    graph = PipelineGraph.from_definition(
        definition(step("A"), step("B", reads=["A"]), step("C", reads=["B"]), step("D"))
    )
    assert graph.downstream_closure(["A"]) == {"B", "C"}
    assert graph.downstream_closure(["A", "B"]) == {"B", "C"}
    assert graph.upstream_closure(["C"]) == {"A", "B"}
    assert graph.upstream_closure(["D"]) == set()
    assert graph.downstream_closure([]) == set()


@st.composite
def random_dags(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Steps named in a shuffled order, each depending only on earlier-created ones."""
    count = draw(st.integers(min_value=1, max_value=25))
    names = [f"S{i}" for i in range(count)]
    steps = []
    for i, name in enumerate(names):
        earlier = names[:i]
        deps = draw(st.lists(st.sampled_from(earlier), max_size=3)) if earlier else []
        reads = draw(st.lists(st.sampled_from(earlier), max_size=3)) if earlier else []
        steps.append(step(name, depends_on=deps, reads=reads))
    return draw(st.permutations(steps))


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_topological_order_respects_every_edge(steps: list[dict[str, Any]]) -> None:
    graph = PipelineGraph.from_definition(definition(*steps))
    order = graph.topological_order()
    assert_respects_edges(graph, order)
    assert graph.find_cycle() is None
    for name in graph.steps:
        down = graph.downstream_closure([name])
        assert name not in down
        assert all(name in graph.upstream_closure([other]) for other in down)


@settings(max_examples=100, deadline=None)
@given(random_dags(), st.data())
def test_adding_a_back_edge_makes_a_cycle_that_follows_edges(
    steps: list[dict[str, Any]], data: st.DataObject
) -> None:
    graph = PipelineGraph.from_definition(definition(*steps))
    pairs = [(src, dst) for src, dst, _ in graph.edges()]
    if not pairs:
        return
    src, dst = data.draw(st.sampled_from(pairs))
    for body in steps:
        if body["Name"] == src:
            body.setdefault("DependsOn", []).append(dst)
    cyclic = PipelineGraph.from_definition(definition(*steps))
    cycle = cyclic.find_cycle()
    assert cycle is not None and cycle[0] == cycle[-1]
    edge_set = {(a, b) for a, b, _ in cyclic.edges()}
    assert all((a, b) in edge_set for a, b in itertools.pairwise(cycle))
    with pytest.raises(CycleError):
        cyclic.topological_order()


def test_deep_chains_need_no_recursion() -> None:
    count = 5000
    steps = [step("S0")] + [step(f"S{i}", depends_on=[f"S{i - 1}"]) for i in range(1, count)]
    graph = PipelineGraph.from_definition(definition(*steps))
    assert graph.topological_order()[-1] == f"S{count - 1}"
    assert len(graph.downstream_closure(["S0"])) == count - 1
    assert graph.find_cycle() is None


def test_two_thousand_dense_steps_build_and_sort() -> None:
    """Correctness at size; the speed is measured in benchmarks/validate.py, not asserted here."""
    rng = random.Random(7)
    steps = []
    for i in range(2000):
        earlier = range(i)
        steps.append(
            step(
                f"S{i}",
                depends_on=[f"S{j}" for j in rng.sample(earlier, min(i, 3))],
                reads=[f"S{j}" for j in rng.sample(earlier, min(i, 5))],
            )
        )
    defn = definition(*steps)
    graph = PipelineGraph.from_definition(defn)
    order = graph.topological_order()
    assert len(graph.edges()) > 14_000
    assert len(order) == 2000
    assert_respects_edges(graph, order)


def test_the_order_is_computed_once_and_handed_out_as_a_copy() -> None:
    """The validator's cycle check computes the order and the engine reuses it: a caller that
    edits its list must not change what the next caller gets."""
    graph = PipelineGraph.from_definition(
        definition(step("A"), step("B", reads=["A"]), step("C", depends_on=["B"]))
    )
    first = graph.topological_order()
    first.reverse()
    assert graph.topological_order() == ["A", "B", "C"]
    assert graph.find_cycle() is None


def test_a_cyclic_graph_raises_on_every_order_request() -> None:
    graph = PipelineGraph.from_definition(definition(step("A", reads=["B"]), step("B", reads=["A"])))
    for _ in range(2):
        with pytest.raises(CycleError) as raised:
            graph.topological_order()
        assert raised.value.cycle == ["A", "B", "A"]
    assert graph.find_cycle() == ["A", "B", "A"]


def _earliest_ready_first(graph: PipelineGraph) -> list[str]:
    """The specification of the order, quadratically: repeatedly take the earliest step (in
    definition order) whose every upstream step is taken."""
    names = list(graph.steps)
    upstream = {name: {src for src, dst, _ in graph.edges() if dst == name} for name in names}
    taken: list[str] = []
    while len(taken) < len(names):
        ready = next(name for name in names if name not in taken and upstream[name] <= set(taken))
        taken.append(ready)
    return taken


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=1, max_value=12).flatmap(
        lambda size: st.tuples(
            st.just(size),
            st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)), max_size=3 * size),
            st.booleans(),
        )
    )
)
def test_the_order_is_earliest_ready_first_whether_edges_point_forward_or_not(
    drawn: tuple[int, list[tuple[int, int]], bool],
) -> None:
    """Definitions whose edges all point forward get their order without Kahn's algorithm; the
    others run it. Both must be the earliest-ready-first order (acyclic cases only)."""
    size, pairs, forward_only = drawn
    edges = {(min(a, b), max(a, b)) if forward_only else (a, b) for a, b in pairs if a != b}
    names = [f"S{i}" for i in range(size)]
    steps = [
        step(
            name,
            depends_on=[names[a] for a, b in sorted(edges) if b == i and a % 2 == 0] or None,
            reads=[names[a] for a, b in sorted(edges) if b == i and a % 2 == 1],
        )
        for i, name in enumerate(names)
    ]
    graph = PipelineGraph.from_definition(definition(*steps))
    try:
        expected = _earliest_ready_first(graph)
    except StopIteration:  # a cycle: no step is ever ready
        with pytest.raises(CycleError):
            graph.topological_order()
        return
    assert graph.topological_order() == expected
    assert_respects_edges(graph, expected)
