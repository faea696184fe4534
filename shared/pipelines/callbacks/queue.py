"""A durable local stand-in for the SQS queues that Callback steps write to.

It keeps SQS's consumer contract because callback consumers are written against SQS: a
received message is hidden for a visibility timeout and comes back unless the consumer deletes
it with the receipt handle, so a consumer that dies mid-work never loses a message. Messages
live in the state database, so they survive restarts of ``pipelines run`` and are visible to
other processes (an approver, ``pipelines callback list``, the API server).
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pipelines.errors import ValidationError
from pipelines.sqlite_schema import SqliteComponent, connection, transaction

COMPONENT = "callback_queue"
DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30

_MIGRATIONS = (
    """
    CREATE TABLE callback_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        queue_name TEXT NOT NULL,
        queue_url TEXT NOT NULL,
        dedupe_id TEXT UNIQUE,
        body TEXT NOT NULL,
        sent_at REAL NOT NULL,
        visible_at REAL NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        receipt_handle TEXT
    );
    CREATE INDEX callback_messages_by_queue ON callback_messages (queue_name, visible_at, seq);
    """,
)


class InvalidReceiptHandle(ValidationError):
    """The receipt handle is unknown or stale (the message was received again since)."""

    code = "ReceiptHandleIsInvalid"


@dataclass(frozen=True)
class QueuedMessage:
    message_id: str
    queue_url: str
    body: dict[str, Any]
    sent_at: float  # epoch seconds
    receive_count: int
    receipt_handle: str | None = None  # set only on messages returned by receive()


def queue_name(queue_url: str) -> str:
    """The queue's name: the last path segment of an SQS URL, or the string itself."""
    path = urlparse(queue_url).path if "://" in queue_url else queue_url
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if not name:
        raise ValidationError(f"not a queue URL or name: {queue_url!r}")
    return name


class CallbackQueue(SqliteComponent):
    """Queues are addressed by URL or by name (``https://sqs.../123/MyQueue`` and ``MyQueue`` match)."""

    component = COMPONENT
    migrations = _MIGRATIONS

    def send(self, queue_url: str, body: Mapping[str, Any], *, dedupe_id: str | None = None) -> str:
        """Enqueue ``body``; returns the message id. A repeated ``dedupe_id`` returns the first id
        instead of enqueuing twice, so a re-run of the same send is harmless."""
        message_id = str(uuid.uuid4())
        now = time.time()
        with connection(self.database_path) as conn, transaction(conn):
            if dedupe_id is not None:
                row = conn.execute(
                    "SELECT message_id FROM callback_messages WHERE dedupe_id = ?", (dedupe_id,)
                ).fetchone()
                if row is not None:
                    return str(row["message_id"])
            conn.execute(
                "INSERT INTO callback_messages (message_id, queue_name, queue_url, dedupe_id, body, sent_at, "
                "visible_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (message_id, queue_name(queue_url), queue_url, dedupe_id, json.dumps(dict(body)), now, now),
            )
        return message_id

    def receive(
        self,
        queue_url: str,
        *,
        max_messages: int = 1,
        visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
    ) -> list[QueuedMessage]:
        """Take up to ``max_messages`` visible messages, oldest first, hiding them for the timeout."""
        now = time.time()
        with connection(self.database_path) as conn, transaction(conn):
            rows = conn.execute(
                "SELECT * FROM callback_messages WHERE queue_name = ? AND visible_at <= ? ORDER BY seq LIMIT ?",
                (queue_name(queue_url), now, max_messages),
            ).fetchall()
            received = []
            for row in rows:
                handle = f"{row['message_id']}:{uuid.uuid4()}"
                conn.execute(
                    "UPDATE callback_messages SET visible_at = ?, receive_count = receive_count + 1, "
                    "receipt_handle = ? WHERE seq = ?",
                    (now + visibility_timeout, handle, row["seq"]),
                )
                received.append(_message(row, receive_count=row["receive_count"] + 1, receipt_handle=handle))
        return received

    def delete(self, queue_url: str, receipt_handle: str) -> None:
        """Acknowledge a received message; only its latest receipt handle is accepted."""
        with connection(self.database_path) as conn, transaction(conn):
            deleted = conn.execute(
                "DELETE FROM callback_messages WHERE queue_name = ? AND receipt_handle = ?",
                (queue_name(queue_url), receipt_handle),
            ).rowcount
        if deleted == 0:
            raise InvalidReceiptHandle(f"receipt handle {receipt_handle!r} is not valid for {queue_url}")

    def peek(self, queue_url: str | None = None) -> list[QueuedMessage]:
        """Every message still in the queue (or in all queues), received or not, oldest first."""
        query = "SELECT * FROM callback_messages"
        args: tuple[Any, ...] = ()
        if queue_url is not None:
            query += " WHERE queue_name = ?"
            args = (queue_name(queue_url),)
        with connection(self.database_path) as conn:
            rows = conn.execute(query + " ORDER BY seq", args).fetchall()
        return [_message(row, receive_count=row["receive_count"], receipt_handle=None) for row in rows]

    def purge_token(self, token: str) -> int:
        """Drop every message about a callback token once its step is settled; returns how many."""
        with connection(self.database_path) as conn, transaction(conn):
            return conn.execute(
                "DELETE FROM callback_messages WHERE json_extract(body, '$.token') = ?", (token,)
            ).rowcount


def _message(row: sqlite3.Row, *, receive_count: int, receipt_handle: str | None) -> QueuedMessage:
    return QueuedMessage(
        message_id=row["message_id"],
        queue_url=row["queue_url"],
        body=json.loads(row["body"]),
        sent_at=row["sent_at"],
        receive_count=receive_count,
        receipt_handle=receipt_handle,
    )
