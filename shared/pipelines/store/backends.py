"""Open a store by kind, so tools and the shared test suite can pick the backend by name.

Each backend registers an opener taking a location (a folder for SQLite). The engine and store
test suites run against every kind listed in ``STORE_KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipelines.store.base import Store


def _open_sqlite(location: Path) -> Store:
    from pipelines.store.sqlite import SQLiteStore

    return SQLiteStore(location / "pipelines.sqlite")


OPENERS: dict[str, Callable[[Path], Store]] = {"sqlite": _open_sqlite}
STORE_KINDS: list[str] = list(OPENERS)


def open_backend(kind: str, location: Path) -> Store:
    """A store of ``kind`` keeping its data under ``location``; opening it twice gives two
    independent handles on the same data (as two processes would have)."""
    try:
        opener = OPENERS[kind]
    except KeyError:
        raise ValueError(f"unknown store kind {kind!r}; known: {', '.join(OPENERS)}") from None
    return opener(location)
