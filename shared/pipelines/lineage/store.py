"""The LineageStore protocol (backends: ``sqlite``, ``dynamodb``)."""

from __future__ import annotations

from typing import Protocol

from pipelines.lineage.records import EntityKind, LineageAssociation, LineageEntity


class LineageStore(Protocol):
    def record_entity(self, entity: LineageEntity) -> LineageEntity:
        """Insert ``entity`` unless its kind already has an entity of that name; either way
        return the stored one (the first create wins, so repeats are harmless). The entity is
        also listed under ``entity.execution_arn``."""
        ...

    def get_entity(self, kind: EntityKind, name: str) -> LineageEntity | None: ...

    def record_association(self, association: LineageAssociation) -> None:
        """Insert unless the (source, destination) pair is already associated; listed under
        ``association.execution_arn`` either way."""
        ...

    def lineage_of(self, execution_arn: str) -> tuple[list[LineageEntity], list[LineageAssociation]]:
        """What the execution's Lineage steps recorded, oldest first."""
        ...
