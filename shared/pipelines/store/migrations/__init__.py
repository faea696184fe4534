"""The SQLite store's schema: numbered ``NNNN_name.sql`` files in this folder, applied in order.

The files are the store's migrations for the state file's one runner
(:func:`pipelines.sqlite_schema.migrate`, component ``store``): a file's number is the version it
brings the store to, recorded in the ``schema_migrations`` ledger with the file's name. Numbers
are never reused or renumbered (databases in the field record them); a new change is a new file
with the next number, picked up by :func:`migrations` without registering it anywhere. All
missing files run in one transaction, so a crash leaves the store at the version it had.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

from pipelines.sqlite_schema import STORE_COMPONENT, Migration, SchemaTooNew
from pipelines.sqlite_schema import migrate as migrate_component

__all__ = ["Migration", "SchemaTooNew", "migrate", "migrations"]

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[Migration]:
    """Every migration file of the store, by number."""
    found: list[Migration] = []
    for entry in resources.files(__package__).iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    return sorted(found, key=lambda m: m.number)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the store's schema up to date; returns the version reached. ``conn`` must be in autocommit mode."""
    known = migrations()
    migrate_component(conn, STORE_COMPONENT, known)
    return known[-1].number if known else 0
