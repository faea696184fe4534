"""Records as stored text: the one mapping between records and rows/items both backends use.

Every record is kept as a JSON *body* plus the few fields its row or item keeps *beside* the
body, because the backend keys, orders or compare-and-swaps on them (SQLite columns, DynamoDB
key and condition attributes). A backend stores ``dump(record)`` and the beside fields, and reads
a record back with ``load(Model, body, **beside)``; it never builds or parses bodies itself.

Bodies are compact, because the cloud pays for them by the kilobyte on every write (a step item
is rewritten at each of its attempt's transitions, twice the price inside a transaction):

* a field at its default value is left out (pydantic fills it back in on read);
* a field kept beside the body (``BESIDE``) is left out, and the stored value wins on read.

Bodies written before this mapping (every field present) read back the same. A SQL migration
that reads a body with ``json_extract`` must therefore treat a missing member as the field's
default, and take beside fields from their columns.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from pipelines.store.base import ExecutionRecord, OutboxRecord, StepRecord

R = TypeVar("R", bound=BaseModel)

BESIDE: dict[type[BaseModel], frozenset[str]] = {
    ExecutionRecord: frozenset({"execution_id", "status", "version", "definition"}),
    StepRecord: frozenset({"execution_id", "step_name", "status", "version"}),
    OutboxRecord: frozenset({"execution_id", "version", "claimant", "claimed_at"}),
}
"""The fields a row/item keeps beside the body, per record type: its keys, the version its
writes are conditional on, the status a listing filters by, an execution's definition
(kept once per distinct text in DynamoDB, in its own column in SQLite), and an outbox record's
claim (a claim is a compare-and-swap on it)."""


def dump(record: BaseModel) -> str:
    """The body of ``record``: compact JSON without defaults and without its beside fields."""
    return record.model_dump_json(exclude=set(BESIDE.get(type(record), ())), exclude_defaults=True)


def load(model: type[R], body: str | bytes, **beside: Any) -> R:
    """A record from its body and the fields stored beside it (those win over the body's)."""
    if not beside:
        return model.model_validate_json(body)
    data = json.loads(body)
    data.update(beside)
    return model.model_validate(data)


def parse_timestamp(text: str) -> datetime:
    """The inverse of :func:`pipelines.store.base.timestamp` (fixed-width UTC text)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
