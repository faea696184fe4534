"""The RAM subset's shares and invitations in the deployment's DynamoDB state table.

``pipelines serve`` keeps them in SQLite; a Lambda has no lasting disk, so deployed they are
items of the state table (``pk`` ``RAM#SHARE`` / ``RAM#INVITATION``, ``sk`` = the ARN, so a
query lists them ordered by ARN), next to the pipelines they share. Every rule of the subset
stays in :class:`pipelines.api.ram.ResourceShares`; this is only where its documents live.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.api.ram_storage import Document, ShareStorage

SHARES_PK = "RAM#SHARE"
INVITATIONS_PK = "RAM#INVITATION"


class DynamoDBShareStorage(ShareStorage):
    """:class:`~pipelines.api.ram_storage.ShareStorage` over a boto3 ``dynamodb`` client (shared,
    so :meth:`close` leaves it open)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def _query(self, pk: str) -> list[Document]:
        documents: list[Document] = []
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

    def _put(self, pk: str, document: Document) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={"pk": {"S": pk}, "sk": {"S": document["arn"]}, "body": {"S": json.dumps(document)}},
        )

    def shares(self) -> list[Document]:
        return self._query(SHARES_PK)

    def get_share(self, arn: str) -> Document | None:
        item = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": SHARES_PK}, "sk": {"S": arn}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else dict(json.loads(item["body"]["S"]))

    def put_share(self, share: Document) -> None:
        self._put(SHARES_PK, share)

    def invitations(self) -> list[Document]:
        return self._query(INVITATIONS_PK)

    def put_invitation(self, invitation: Document) -> None:
        self._put(INVITATIONS_PK, invitation)

    def close(self) -> None:
        """Nothing to release: the DynamoDB client is shared with the store."""
