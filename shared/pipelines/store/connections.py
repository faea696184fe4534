"""A bounded set of SQLite connections for one database file: one writer, a few readers.

Why a pool and not a connection per thread: ``pipelines serve`` starts a thread per request and
the embedded driver starts threads per execution, so per-thread connections (each holding the
database and its WAL open) grow with every request ever served until the process runs out of
file descriptors. Here the number of open connections is at most ``readers + 1`` whatever the
number of threads.

WAL lets readers proceed while the writer writes, so readers never wait on a write; writers
within this process queue on a lock (SQLite allows one writer at a time anyway, and a lock
is cheaper and fairer than the busy handler). ``BEGIN IMMEDIATE`` still arbitrates between
processes (``pipelines run`` beside ``pipelines serve`` or a CLI command).
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.sqlite_schema import connect

DEFAULT_READERS = 4


class ConnectionPool:
    """Connections are opened on first need and reused by any thread, one user at a time.

    ``close()`` closes every idle connection; a connection in use when the pool closes is
    closed when it is handed back, and later calls open fresh ones (so a closed store can be
    used again, as before pooling).
    """

    def __init__(self, path: Path, readers: int) -> None:
        if readers < 1:
            raise ValueError("a connection pool needs at least one reader")
        self.path = path
        self._idle: queue.LifoQueue[tuple[int, sqlite3.Connection]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(readers)
        self._writer_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._generation = 0
        self._count_lock = threading.Lock()
        self._open = 0

    @property
    def open_connections(self) -> int:
        with self._count_lock:
            return self._open

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, rows_by_name=False)  # the state file's settings, rows as tuples
        with self._count_lock:
            self._open += 1
        return conn

    def _discard(self, conn: sqlite3.Connection) -> None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        with self._count_lock:
            self._open -= 1

    @contextmanager
    def writer(self) -> Iterator[sqlite3.Connection]:
        """The one write connection, held exclusively for the block."""
        with self._writer_lock:
            if self._writer is None:
                self._writer = self._connect()
            conn = self._writer
            try:
                yield conn
            finally:
                # a connection left inside a transaction (e.g. a failed ROLLBACK) is not reused
                if not _reusable(conn):
                    self._writer = None
                    self._discard(conn)

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read connection for the block; waits while all ``readers`` are in use."""
        with self._slots:
            try:
                generation, conn = self._idle.get_nowait()
            except queue.Empty:
                generation, conn = self._generation, self._connect()
            try:
                yield conn
            finally:
                if generation == self._generation and _reusable(conn):
                    self._idle.put((generation, conn))
                else:
                    self._discard(conn)

    def close(self) -> None:
        self._generation += 1
        while True:
            try:
                _, conn = self._idle.get_nowait()
            except queue.Empty:
                break
            self._discard(conn)
        with self._writer_lock:
            if self._writer is not None:
                self._discard(self._writer)
                self._writer = None


def _reusable(conn: sqlite3.Connection) -> bool:
    try:
        return not conn.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False
