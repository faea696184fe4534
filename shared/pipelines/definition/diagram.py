"""The DAG as Mermaid or Graphviz DOT text: each step with its type, every edge, and each
condition's branches as edges labelled ``if`` / ``else``; a ForEach step's body steps hang
off it on edges labelled ``for each``.

Edges come from ``PipelineGraph`` (the same edges the engine schedules by). A pair of steps
joined by both a data reference and ``DependsOn`` is drawn once, as a data edge; a pair joined
only by ``DependsOn`` is dashed.
"""

from __future__ import annotations

from collections import defaultdict

from pipelines.graph import PipelineGraph

_BRANCH_KINDS = ("if", "else", "for_each")


def _edge_kinds(graph: PipelineGraph) -> dict[tuple[str, str], set[str]]:
    kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
    for src, dst, kind in graph.edges():
        kinds[(src, dst)].add(kind)
    return kinds


def _style(kinds: set[str]) -> str:
    """``if`` / ``else`` / ``data`` / ``depends_on``: the one an edge is drawn as."""
    for kind in (*_BRANCH_KINDS, "data"):
        if kind in kinds:
            return kind
    return "depends_on"


def mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(graph: PipelineGraph) -> str:
    ids = {name: f"s{index}" for index, name in enumerate(graph.steps)}
    lines = ["flowchart TD"]
    for name, step in graph.steps.items():
        label = f"{mermaid_text(name)}<br/><i>{mermaid_text(step.type)}</i>"
        if step.type == "Condition":
            lines.append(f'    {ids[name]}{{"{label}"}}')
        elif step.type == "Fail":
            lines.append(f'    {ids[name]}(["{label}"])')
        else:
            lines.append(f'    {ids[name]}["{label}"]')
    arrows = {
        "if": "-- if -->",
        "else": "-- else -->",
        "for_each": "-- for each -->",
        "data": "-->",
        "depends_on": "-.->",
    }
    for (src, dst), kinds in _edge_kinds(graph).items():
        lines.append(f"    {ids[src]} {arrows[_style(kinds)]} {ids[dst]}")
    return "\n".join(lines) + "\n"


def dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _dot_text(text: str) -> str:
    return f'"{dot_escape(text)}"'


def to_dot(graph: PipelineGraph) -> str:
    lines = ["digraph pipeline {", "    rankdir=TB;", '    node [shape=box, fontname="Helvetica"];']
    for name, step in graph.steps.items():
        shape = {"Condition": "diamond", "Fail": "octagon"}.get(step.type, "box")
        label = f'"{dot_escape(name)}\\n{dot_escape(step.type)}"'
        lines.append(f"    {_dot_text(name)} [label={label}, shape={shape}];")
    attributes = {
        "if": ' [label="if", color="darkgreen"]',
        "else": ' [label="else", color="firebrick"]',
        "for_each": ' [label="for each", color="navy"]',
        "data": "",
        "depends_on": " [style=dashed]",
    }
    for (src, dst), kinds in _edge_kinds(graph).items():
        lines.append(f"    {_dot_text(src)} -> {_dot_text(dst)}{attributes[_style(kinds)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"
