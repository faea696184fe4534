"""Where the RAM subset keeps its shares and invitations.

:class:`~pipelines.api.ram.ResourceShares` holds every rule of the subset and reads and writes
whole JSON documents through these few primitives only (as Powertools' idempotency handler
runs over a persistence layer), so a store is a place to put documents and nothing more:
:class:`SqliteShareStorage` for ``pipelines serve``, and
:class:`pipelines.deploy.ram_store.DynamoDBShareStorage` for a Lambda, which has no lasting
disk. Documents are keyed by their ``arn``; lists come ordered by it. A put replaces the whole
document: share changes are owner-initiated admin calls, serialised by the caller's lock.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from pipelines.sqlite_schema import migrate, numbered

Document = dict[str, Any]


class ShareStorage(ABC):
    """The persistence primitives :class:`~pipelines.api.ram.ResourceShares` runs over."""

    @abstractmethod
    def shares(self) -> list[Document]:
        """Every share, ordered by ARN."""

    @abstractmethod
    def get_share(self, arn: str) -> Document | None: ...

    @abstractmethod
    def put_share(self, share: Document) -> None: ...

    @abstractmethod
    def invitations(self) -> list[Document]:
        """Every invitation, ordered by ARN."""

    @abstractmethod
    def put_invitation(self, invitation: Document) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Release what the storage holds open."""


# Script 1 says IF NOT EXISTS: files written before the migration ledger already hold its tables.
_MIGRATIONS = numbered(
    "ram_shares",
    (
        """
CREATE TABLE IF NOT EXISTS shares (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invitations (arn TEXT PRIMARY KEY, share_arn TEXT NOT NULL, body TEXT NOT NULL);
""",
    ),
)


class SqliteShareStorage(ShareStorage):
    """Shares and invitations in SQLite (``<state_dir>/ram.sqlite``)."""

    def __init__(self, database: Path) -> None:
        database.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(database), check_same_thread=False, isolation_level=None)
        migrate(self._db, "ram_shares", _MIGRATIONS)

    def shares(self) -> list[Document]:
        return [json.loads(r[0]) for r in self._db.execute("SELECT body FROM shares ORDER BY arn")]

    def get_share(self, arn: str) -> Document | None:
        row = self._db.execute("SELECT body FROM shares WHERE arn = ?", (arn,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put_share(self, share: Document) -> None:
        self._db.execute("INSERT OR REPLACE INTO shares VALUES (?, ?)", (share["arn"], json.dumps(share)))

    def invitations(self) -> list[Document]:
        return [json.loads(r[0]) for r in self._db.execute("SELECT body FROM invitations ORDER BY arn")]

    def put_invitation(self, invitation: Document) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO invitations VALUES (?, ?, ?)",
            (invitation["arn"], invitation["share_arn"], json.dumps(invitation)),
        )

    def close(self) -> None:
        self._db.close()
