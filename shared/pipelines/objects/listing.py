"""A bucket folder's keys in S3's order, read lazily, so that a page costs what it lists.

S3 lists keys in UTF-8 binary order. The object root holds the key ``a/b`` as the file ``b`` in
the folder ``a``, so walking folders in name order is *not* key order: ``a-b`` (``-`` is 0x2D)
comes before ``a/b`` (``/`` is 0x2F), yet the folder name ``a`` sorts before ``a-b``. Each
folder's entries are therefore ordered by the key text they stand for: a file by its key, a
folder by its key prefix *with* the trailing ``/``. That is exactly key order, because every
key below the folder ``a`` starts with ``a/`` and no other entry's text can (names hold no
``/``). Python compares ``str`` by code point, which is UTF-8's byte order.

Only what the page needs is read: the walk starts in the prefix's deepest folder, drops entries
at or before the start-after key (and folders whose keys all are) without opening them, and
goes no further than its caller reads. With a delimiter, a folder whose keys all share one
common prefix (``logs/`` for the folder ``logs`` and the delimiter ``/``) is rolled up into it
once one key in it is found, instead of being read through; keys that roll up into the prefix
just listed are passed over without being opened either.

What the walk reads of the disk is only names and entry types (``os.scandir``): no object's
metadata. Entries that are not objects (see :mod:`pipelines.objects.names`; symbolic links out
of the root or to folders; sockets and the like) are passed over as the other object-store
calls pass over them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from pipelines.objects.names import (
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    TEMP_PREFIX,
    key_bytes,
    key_problem,
    segment_problem,
)


class Listed(NamedTuple):
    """One item of a listing: a key, or (with a delimiter) a common prefix rolling keys up."""

    name: str
    common_prefix: bool = False


class _Entry(NamedTuple):
    key: str  # a file's key; a folder's key prefix, ending in "/"
    path: str
    folder: bool


def walk(
    root: Path, bucket_dir: Path, prefix: str, *, after: str = "", delimiter: str = ""
) -> Iterator[Listed]:
    """The keys below ``bucket_dir`` that start with ``prefix`` and sort after ``after``, in
    S3's order; with a ``delimiter``, keys holding it after the prefix come as their common
    prefix (up to and including the delimiter's first occurrence), once, and a common prefix
    at or before ``after`` not at all (it was on an earlier page).

    ``root`` is the object root: nothing that resolves outside it is listed."""
    folder = prefix.rpartition("/")[0]
    if folder and key_problem(folder):
        return  # every key below it would have the same problem, so none exists
    start = bucket_dir / folder if folder else bucket_dir
    if not start.is_dir() or not start.resolve().is_relative_to(root):
        return
    yield from _Walk(root, prefix, after, delimiter).folder(str(start), f"{folder}/" if folder else "")


class _Walk:
    def __init__(self, root: Path, prefix: str, after: str, delimiter: str) -> None:
        self.root, self.prefix, self.after, self.delimiter = root, prefix, after, delimiter
        self.rolled = ""  # the common prefix yielded last: keys starting with it are done

    def folder(self, path: str, key_prefix: str) -> Iterator[Listed]:
        """The listing below one folder whose keys all start with ``key_prefix``."""
        for entry in self._entries(path, key_prefix):
            if self.rolled and entry.key.startswith(self.rolled):
                continue
            common = self._common_prefix(entry.key)
            if common is None:
                if entry.folder:
                    yield from self.folder(entry.path, entry.key)
                else:
                    yield Listed(entry.key)
            elif common <= self.after:
                self.rolled = common  # listed on an earlier page, with every key below it
            elif not entry.folder or _holds_a_key(self.root, entry.path, entry.key):
                self.rolled = common
                yield Listed(common, common_prefix=True)

    def _common_prefix(self, key: str) -> str | None:
        """The common prefix every key at or below ``key`` rolls up into, if ``key`` decides it.

        For a folder's ``a/b/``, a delimiter found in it after the prefix ends before the
        folder's keys go on, so all of them share what comes up to it."""
        if not self.delimiter:
            return None
        cut = key.find(self.delimiter, len(self.prefix))
        return None if cut < 0 else key[: cut + len(self.delimiter)]

    def _entries(self, path: str, key_prefix: str) -> list[_Entry]:
        """The folder's entries that hold keys of this listing, in key order."""
        prefix, after = self.prefix, self.after
        wanted: list[_Entry] = []
        for entry in _scan(self.root, path, key_prefix):
            key = entry.key
            if entry.folder:
                if not (key.startswith(prefix) or prefix.startswith(key)):
                    continue
                if key <= after and not after.startswith(key):
                    continue  # every key below it sorts at or before ``after``
            elif key <= after or not key.startswith(prefix):
                continue
            wanted.append(entry)
        wanted.sort(key=_by_key)
        return wanted


def _by_key(entry: _Entry) -> str:
    return entry.key


def _scan(root: Path, path: str, key_prefix: str) -> Iterator[_Entry]:
    """The entries of one folder that are objects or folders of objects, unordered."""
    try:
        scan = os.scandir(path)
    except OSError:
        return  # removed (or made unreadable) since its parent was read: it holds nothing now
    with scan:
        for item in scan:
            name = item.name
            plain = name.isascii() and len(name) <= MAX_SEGMENT_BYTES and not name.startswith(TEMP_PREFIX)
            if not plain and segment_problem(name):
                continue
            try:
                if item.is_dir(follow_symlinks=False):
                    folder = True
                elif item.is_file(follow_symlinks=False) or (
                    item.is_symlink() and _links_to_a_file(root, item.path)
                ):
                    folder = False
                else:
                    continue  # a link to a folder or out of the root; a socket, a pipe, ...
            except OSError:
                continue
            key = f"{key_prefix}{name}/" if folder else f"{key_prefix}{name}"
            # a folder's key prefix is one byte longer than its shortest key below it
            if len(key) * 4 > MAX_KEY_BYTES and key_bytes(key) > MAX_KEY_BYTES + folder:
                continue
            yield _Entry(key, item.path, folder)


def _links_to_a_file(root: Path, path: str) -> bool:
    """Like ``os.walk``, a link to a folder is not followed; a link to a file inside the root is
    that file's content under the link's key, as reads through ``path_for`` see it."""
    target = Path(path).resolve()
    return target.is_relative_to(root) and target.is_file()


def _holds_a_key(root: Path, path: str, key_prefix: str) -> bool:
    """Whether any object lives below the folder: stops at the first one found."""
    for entry in _scan(root, path, key_prefix):
        if not entry.folder or _holds_a_key(root, entry.path, entry.key):
            return True
    return False
