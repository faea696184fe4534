"""Open a store by kind, so tools and the shared test suite can pick the backend by name.

Each backend registers an opener taking a location (a folder for SQLite; for DynamoDB a folder
holding ``dynamodb.json`` that names the tables, written by whoever created them). The engine
and store test suites run against every kind listed in ``STORE_KINDS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pipelines.store.base import Store


def _open_sqlite(location: Path) -> Store:
    from pipelines.store.sqlite import SQLiteStore

    return SQLiteStore(location / "pipelines.sqlite")


DYNAMODB_LOCATION_FILE = "dynamodb.json"


def _open_dynamodb(location: Path) -> Store:
    """``dynamodb.json``: {"state": table, "cache": table, "region": ..., "payload_uri": s3://... | null}."""
    from pipelines.store.dynamodb import DynamoDBStore, TableNames

    path = location / DYNAMODB_LOCATION_FILE
    if not path.is_file():
        raise ValueError(f"{path} does not exist: it must name the DynamoDB tables of this store")
    spec = json.loads(path.read_text())
    objects = None
    if spec.get("payload_uri"):
        from pipelines.objects.s3 import S3ObjectStore

        objects = S3ObjectStore(region=spec.get("region"))
    return DynamoDBStore(
        TableNames(state=spec["state"], cache=spec["cache"]),
        region=spec.get("region"),
        objects=objects,
        payload_uri=spec.get("payload_uri"),
    )


OPENERS: dict[str, Callable[[Path], Store]] = {"sqlite": _open_sqlite, "dynamodb": _open_dynamodb}
STORE_KINDS: list[str] = list(OPENERS)


def open_backend(kind: str, location: Path) -> Store:
    """A store of ``kind`` keeping its data under ``location``; opening it twice gives two
    independent handles on the same data (as two processes would have)."""
    try:
        opener = OPENERS[kind]
    except KeyError:
        raise ValueError(f"unknown store kind {kind!r}; known: {', '.join(OPENERS)}") from None
    return opener(location)
