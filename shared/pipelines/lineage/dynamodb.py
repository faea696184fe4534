"""The cloud's lineage store: items in the state table (docs/dynamodb.md).

==========================================  ===========================================
item                                        pk / sk
==========================================  ===========================================
entity by name (uniqueness, first wins)     LINEAGE_NAME#<kind>#<name> / #META
entity as one execution recorded it         LINEAGE#<execution arn> / ENTITY#<ts>#<kind>#<name>
association as one execution recorded it    LINEAGE#<execution arn> / ASSOC#<ts>#<src>#<dst>
==========================================  ===========================================

One execution's lineage is one Query of its partition, in recording order (the sort keys
start with the creation time). Every insert is conditional on absence, so a repeat is a no-op.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pipelines.lineage.records import EntityKind, LineageAssociation, LineageEntity
from pipelines.store.base import timestamp

_META = "#META"


class DynamoDBLineageStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def _put_new(self, item: dict[str, Any]) -> bool:
        try:
            self.client.put_item(
                TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _partition(self, execution_arn: str) -> dict[str, Any]:
        return {"S": f"LINEAGE#{execution_arn}"}

    def record_entity(self, entity: LineageEntity) -> LineageEntity:
        key = {"pk": {"S": f"LINEAGE_NAME#{entity.kind}#{entity.name}"}, "sk": {"S": _META}}
        self._put_new({**key, "body": {"S": entity.model_dump_json()}})
        item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True)["Item"]
        stored = LineageEntity.model_validate_json(item["body"]["S"])
        listed = stored.model_copy(
            update={"execution_arn": entity.execution_arn, "step_name": entity.step_name}
        )
        if not self._listed(entity.execution_arn, f"#{entity.kind}#{entity.name}", "ENTITY#"):
            self._put_new(
                {
                    "pk": self._partition(entity.execution_arn),
                    "sk": {"S": f"ENTITY#{timestamp(entity.created_at)}#{entity.kind}#{entity.name}"},
                    "body": {"S": listed.model_dump_json()},
                }
            )
        return stored

    def get_entity(self, kind: EntityKind, name: str) -> LineageEntity | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"LINEAGE_NAME#{kind}#{name}"}, "sk": {"S": _META}},
            ConsistentRead=True,
        ).get("Item")
        return LineageEntity.model_validate_json(item["body"]["S"]) if item else None

    def record_association(self, association: LineageAssociation) -> None:
        suffix = f"#{association.source_arn}#{association.destination_arn}"
        if self._listed(association.execution_arn, suffix, "ASSOC#"):
            return
        self._put_new(
            {
                "pk": self._partition(association.execution_arn),
                "sk": {"S": f"ASSOC#{timestamp(association.created_at)}{suffix}"},
                "body": {"S": association.model_dump_json()},
            }
        )

    def _items(self, execution_arn: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": self._partition(execution_arn), ":prefix": {"S": prefix}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _listed(self, execution_arn: str, suffix: str, prefix: str) -> bool:
        return any(item["sk"]["S"].endswith(suffix) for item in self._items(execution_arn, prefix))

    def lineage_of(self, execution_arn: str) -> tuple[list[LineageEntity], list[LineageAssociation]]:
        entities = [
            LineageEntity.model_validate_json(i["body"]["S"]) for i in self._items(execution_arn, "ENTITY#")
        ]
        associations = [
            LineageAssociation.model_validate_json(i["body"]["S"])
            for i in self._items(execution_arn, "ASSOC#")
        ]
        return entities, associations
