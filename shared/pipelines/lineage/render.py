"""``pipelines lineage EXECUTION``: what an execution's Lineage steps recorded, as a graph
(Mermaid or DOT, entities as nodes, associations as labelled edges) or as rows for a table."""

from __future__ import annotations

from typing import Any

from pipelines.definition.diagram import dot_escape, mermaid_text
from pipelines.lineage.records import LineageAssociation, LineageEntity

_MERMAID_SHAPES = {"Action": ('(["', '"])'), "Artifact": ('["', '"]'), "Context": ('[("', '")]')}
_DOT_SHAPES = {"Action": "ellipse", "Artifact": "box", "Context": "cylinder"}


def _nodes(
    entities: list[LineageEntity], associations: list[LineageAssociation]
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(ARN -> node id, ARN -> (kind, label)); ends that no entity of the execution names
    (an ``{"Arn"}`` end) are drawn by their ARN."""
    labels: dict[str, tuple[str, str]] = {}
    for entity in entities:
        kind_line = f"{entity.kind}: {entity.entity_type}" if entity.entity_type else entity.kind
        labels.setdefault(entity.arn, (entity.kind, f"{entity.name}\n{kind_line}"))
    for association in associations:
        for arn in (association.source_arn, association.destination_arn):
            labels.setdefault(arn, ("Artifact", arn))
    return {arn: f"n{index}" for index, arn in enumerate(labels)}, labels


def to_mermaid(entities: list[LineageEntity], associations: list[LineageAssociation]) -> str:
    ids, labels = _nodes(entities, associations)
    lines = ["flowchart LR"]
    for arn, (kind, label) in labels.items():
        left, right = _MERMAID_SHAPES[kind]
        lines.append(f"    {ids[arn]}{left}{mermaid_text(label).replace(chr(10), '<br/>')}{right}")
    for association in associations:
        arrow = (
            f"-- {mermaid_text(association.association_type)} -->" if association.association_type else "-->"
        )
        lines.append(f"    {ids[association.source_arn]} {arrow} {ids[association.destination_arn]}")
    return "\n".join(lines) + "\n"


def to_dot(entities: list[LineageEntity], associations: list[LineageAssociation]) -> str:
    ids, labels = _nodes(entities, associations)
    lines = ["digraph lineage {", "    rankdir=LR;", '    node [fontname="Helvetica"];']
    for arn, (kind, label) in labels.items():
        text = "\\n".join(dot_escape(part) for part in label.split("\n"))
        lines.append(f'    {ids[arn]} [label="{text}", shape={_DOT_SHAPES[kind]}];')
    for association in associations:
        attribute = (
            f' [label="{dot_escape(association.association_type)}"]' if association.association_type else ""
        )
        lines.append(f"    {ids[association.source_arn]} -> {ids[association.destination_arn]}{attribute};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def rows(entities: list[LineageEntity], associations: list[LineageAssociation]) -> list[dict[str, Any]]:
    """One row per entity, then one per association (the table and ``--json`` views)."""
    out: list[dict[str, Any]] = [
        {
            "Kind": entity.kind,
            "Name": entity.name,
            "Type": entity.entity_type,
            "Arn": entity.arn,
            "SourceUri": entity.source_uri,
            "StepName": entity.step_name,
        }
        for entity in entities
    ]
    out.extend(
        {
            "Kind": "Association",
            "Name": association.association_type,
            "Type": None,
            "Arn": f"{association.source_arn} -> {association.destination_arn}",
            "SourceUri": None,
            "StepName": association.step_name,
        }
        for association in associations
    )
    return out
