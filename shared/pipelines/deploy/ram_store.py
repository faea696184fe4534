"""The RAM subset's shares and invitations in the deployment's DynamoDB state table.

:class:`pipelines.api.ram.ResourceShares` keeps them in SQLite for ``pipelines serve``; a Lambda
has no lasting disk, so this subclass stores the same JSON documents as items of the state
table (``pk`` ``RAM#SHARE`` / ``RAM#INVITATION``, ``sk`` = the ARN), next to the pipelines they
share. Every rule of the subset stays in the base class; only where the documents live changes.
Share changes are owner-initiated admin calls, so a write simply replaces the document.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pipelines.api.ram import ResourceShares, unknown
from pipelines.engine import Clock, SystemClock

SHARES_PK = "RAM#SHARE"
INVITATIONS_PK = "RAM#INVITATION"


class DynamoDBResourceShares(ResourceShares):
    def __init__(self, client: Any, table_name: str, *, clock: Clock | None = None) -> None:
        # The base initialiser opens SQLite; this class replaces exactly its persistence.
        self.client = client
        self.table_name = table_name
        self._lock = threading.RLock()
        self.clock = clock or SystemClock()

    def _query(self, pk: str) -> list[dict[str, Any]]:
        documents: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**request)
            documents += [json.loads(item["body"]["S"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return documents
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _put(self, pk: str, arn: str, document: dict[str, Any]) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={"pk": {"S": pk}, "sk": {"S": arn}, "body": {"S": json.dumps(document)}},
        )

    def _shares(self) -> list[dict[str, Any]]:
        return self._query(SHARES_PK)

    def _share(self, arn: str) -> dict[str, Any]:
        item = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": SHARES_PK}, "sk": {"S": arn}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise unknown(f"Resource share {arn}")
        return dict(json.loads(item["body"]["S"]))

    def _save_share(self, share: dict[str, Any]) -> None:
        self._put(SHARES_PK, share["arn"], share)

    def _invitations(self) -> list[dict[str, Any]]:
        return self._query(INVITATIONS_PK)

    def _save_invitation(self, invitation: dict[str, Any]) -> None:
        self._put(INVITATIONS_PK, invitation["arn"], invitation)

    def close(self) -> None:
        """Nothing to close: the DynamoDB client is shared."""
