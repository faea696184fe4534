"""The embedded runtime's lineage store: tables in the state database (its own component)."""

from __future__ import annotations

from pipelines.lineage.records import EntityKind, LineageAssociation, LineageEntity
from pipelines.sqlite_schema import SqliteComponent, connection, transaction

COMPONENT = "lineage"

_MIGRATIONS = (
    """
    CREATE TABLE lineage_names (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    );
    CREATE TABLE lineage_entities (
        execution_arn TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL,
        UNIQUE (execution_arn, kind, name)
    );
    CREATE TABLE lineage_associations (
        execution_arn TEXT NOT NULL,
        source_arn TEXT NOT NULL,
        destination_arn TEXT NOT NULL,
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL,
        UNIQUE (execution_arn, source_arn, destination_arn)
    );
    """,
)


class SqliteLineageStore(SqliteComponent):
    """Thread- and process-safe: every call opens its own connection (WAL, as the store)."""

    component = COMPONENT
    migrations = _MIGRATIONS

    def record_entity(self, entity: LineageEntity) -> LineageEntity:
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute(
                "INSERT OR IGNORE INTO lineage_names (kind, name, body) VALUES (?, ?, ?)",
                (entity.kind, entity.name, entity.model_dump_json()),
            )
            row = conn.execute(
                "SELECT body FROM lineage_names WHERE kind = ? AND name = ?", (entity.kind, entity.name)
            ).fetchone()
            stored = LineageEntity.model_validate_json(row[0])
            listed = stored.model_copy(
                update={"execution_arn": entity.execution_arn, "step_name": entity.step_name}
            )
            conn.execute(
                "INSERT OR IGNORE INTO lineage_entities (execution_arn, kind, name, body) VALUES (?, ?, ?, ?)",
                (entity.execution_arn, entity.kind, entity.name, listed.model_dump_json()),
            )
        return stored

    def get_entity(self, kind: EntityKind, name: str) -> LineageEntity | None:
        with connection(self.database_path) as conn:
            row = conn.execute(
                "SELECT body FROM lineage_names WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return LineageEntity.model_validate_json(row[0]) if row else None

    def record_association(self, association: LineageAssociation) -> None:
        with connection(self.database_path) as conn, transaction(conn):
            conn.execute(
                "INSERT OR IGNORE INTO lineage_associations (execution_arn, source_arn, destination_arn, body) "
                "VALUES (?, ?, ?, ?)",
                (
                    association.execution_arn,
                    association.source_arn,
                    association.destination_arn,
                    association.model_dump_json(),
                ),
            )

    def lineage_of(self, execution_arn: str) -> tuple[list[LineageEntity], list[LineageAssociation]]:
        with connection(self.database_path) as conn:
            entities = conn.execute(
                "SELECT body FROM lineage_entities WHERE execution_arn = ? ORDER BY seq", (execution_arn,)
            ).fetchall()
            associations = conn.execute(
                "SELECT body FROM lineage_associations WHERE execution_arn = ? ORDER BY seq", (execution_arn,)
            ).fetchall()
        return (
            [LineageEntity.model_validate_json(row[0]) for row in entities],
            [LineageAssociation.model_validate_json(row[0]) for row in associations],
        )
