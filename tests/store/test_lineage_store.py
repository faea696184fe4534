"""The LineageStore contract on both backends (SQLite in the state database; DynamoDB in the
state table): the first entity of a name wins, repeats are no-ops, and an execution lists what
it recorded, in order, including entities an earlier execution created."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pipelines import aws
from pipelines.lineage import LineageAssociation, LineageEntity, LineageStore
from pipelines.lineage.dynamodb import DynamoDBLineageStore
from pipelines.lineage.sqlite import SqliteLineageStore

from tests.cloud.moto_dynamodb import REGION, dynamodb_location

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "dynamodb"])
def lineage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LineageStore]:
    if request.param == "sqlite":
        yield SqliteLineageStore(tmp_path / "state.sqlite")
        return
    with dynamodb_location(tmp_path / "ddb") as tables:
        yield DynamoDBLineageStore(aws.client("dynamodb", REGION), tables.state)


def entity(name: str, execution: str, minutes: int = 0, kind: str = "Action") -> LineageEntity:
    return LineageEntity(
        kind=kind,  # type: ignore[arg-type]
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:000000000000:{kind.lower()}/{name}-{execution}",
        entity_type="ModelDeployment",
        source_uri="s3://b/x",
        request={"ActionName": name},
        execution_arn=execution,
        step_name="Record",
        created_at=T0 + timedelta(minutes=minutes),
    )


def test_the_first_entity_of_a_name_wins_and_each_execution_lists_it(lineage: LineageStore) -> None:
    first = lineage.record_entity(entity("deploy", "exec-1"))
    assert first.arn.endswith("deploy-exec-1")
    again = lineage.record_entity(entity("deploy", "exec-1"))  # a retried attempt
    later = lineage.record_entity(entity("deploy", "exec-2", minutes=5))  # a later execution
    assert again.arn == later.arn == first.arn
    other_kind = lineage.record_entity(entity("deploy", "exec-2", minutes=6, kind="Artifact"))
    assert other_kind.arn != first.arn  # names are unique per kind
    assert lineage.get_entity("Action", "deploy") == first
    assert lineage.get_entity("Context", "deploy") is None

    entities, _ = lineage.lineage_of("exec-1")
    assert [(e.kind, e.name, e.arn) for e in entities] == [("Action", "deploy", first.arn)]
    entities, _ = lineage.lineage_of("exec-2")
    assert [(e.kind, e.arn, e.execution_arn) for e in entities] == [
        ("Action", first.arn, "exec-2"),
        ("Artifact", other_kind.arn, "exec-2"),
    ]
    assert lineage.lineage_of("exec-3") == ([], [])


def test_associations_are_recorded_once_per_execution(lineage: LineageStore) -> None:
    association = LineageAssociation(
        source_arn="arn:a",
        destination_arn="arn:b",
        association_type="Produced",
        execution_arn="exec-1",
        step_name="Record",
        created_at=T0,
    )
    lineage.record_association(association)
    lineage.record_association(association)
    lineage.record_association(
        association.model_copy(update={"destination_arn": "arn:c", "created_at": T0 + timedelta(seconds=1)})
    )
    _, associations = lineage.lineage_of("exec-1")
    assert [(a.source_arn, a.destination_arn, a.association_type) for a in associations] == [
        ("arn:a", "arn:b", "Produced"),
        ("arn:a", "arn:c", "Produced"),
    ]
