"""Both RAM share storages keep the same contract: whole documents by ARN, listed in ARN order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from pipelines.api.ram_storage import ShareStorage, SqliteShareStorage
from pipelines.deploy.ram_store import DynamoDBShareStorage

from tests.cloud.moto_dynamodb import new_tables
from tests.deploy.conftest import REGION


@pytest.fixture(params=["sqlite", "dynamodb"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ShareStorage]:
    if request.param == "sqlite":
        made: ShareStorage = SqliteShareStorage(tmp_path / "ram.sqlite")
    else:
        request.getfixturevalue("moto")
        client = boto3.client("dynamodb", region_name=REGION)
        made = DynamoDBShareStorage(client, new_tables(client).state)
    yield made
    made.close()


def test_documents_round_trip_replace_and_list_in_arn_order(storage: ShareStorage) -> None:
    assert storage.shares() == [] and storage.invitations() == []
    assert storage.get_share("arn:share/none") is None
    storage.put_share({"arn": "arn:share/b", "resources": ["x"]})
    storage.put_share({"arn": "arn:share/a", "resources": []})
    storage.put_share({"arn": "arn:share/b", "resources": ["x", "y"]})  # a put replaces
    assert storage.get_share("arn:share/b") == {"arn": "arn:share/b", "resources": ["x", "y"]}
    assert [s["arn"] for s in storage.shares()] == ["arn:share/a", "arn:share/b"]
    storage.put_invitation({"arn": "arn:inv/2", "share_arn": "arn:share/a", "status": "PENDING"})
    storage.put_invitation({"arn": "arn:inv/1", "share_arn": "arn:share/b", "status": "PENDING"})
    storage.put_invitation({"arn": "arn:inv/2", "share_arn": "arn:share/a", "status": "ACCEPTED"})
    assert [(i["arn"], i["status"]) for i in storage.invitations()] == [
        ("arn:inv/1", "PENDING"),
        ("arn:inv/2", "ACCEPTED"),
    ]
    assert storage.shares()[0] == {"arn": "arn:share/a", "resources": []}  # invitations stay apart
