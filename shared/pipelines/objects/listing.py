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
metadata. A folder of thousands of entries would still be read and sorted whole for every page,
so :class:`FolderIndex` keeps the sorted names of large folders for as long as the folder's own
stat (inode, modification and change times) shows it has not changed, and a page then starts
at its place in them by bisection: its cost is the page's, not the folder's.

Entries that are not objects (names no key can have, see :mod:`pipelines.objects.names`;
symbolic links out of the root or to folders; sockets and the like) are passed over, as the
other object-store calls pass over them.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator
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


class _Folder(NamedTuple):
    """One folder's entries that may hold keys, as read at one moment."""

    signature: tuple[int, int, int, int]
    names: list[str]  # sorted by key text: a folder's name with its trailing "/"
    links: frozenset[str]  # which names are symbolic links, checked again when listed


class FolderIndex:
    """The sorted names of large folders read lately, each kept while it provably stays true.

    A kept folder is used only while ``os.stat`` of it gives the same device, inode,
    modification and change times: adding, removing or renaming an entry changes both times.
    A folder changed less than ``settle_seconds`` before it was read is not kept, since a
    change within the filesystem's timestamp granularity could leave its times as they were
    (some filesystems count in 2-second steps). Folders under ``min_entries`` cost little to
    read again and are not kept; at most ``max_names`` names are kept in all, the least
    recently used folders going first. Thread-safe."""

    def __init__(
        self,
        *,
        max_names: int = 500_000,
        min_entries: int = 1_000,
        settle_seconds: float = 3.0,
        now: Callable[[], int] = time.time_ns,
    ) -> None:
        self.max_names, self.min_entries = max_names, min_entries
        self.settle_ns = int(settle_seconds * 1e9)
        self.now = now  # the wall clock file times are taken from, in nanoseconds
        self._folders: OrderedDict[str, _Folder] = OrderedDict()
        self._names = 0
        self._lock = threading.Lock()

    def kept(self) -> list[str]:
        """The folders kept, least recently used first."""
        with self._lock:
            return list(self._folders)

    def read(self, path: str) -> _Folder | None:
        """The folder's entries that may hold keys, sorted; None if it is no folder (now)."""
        try:
            stat = os.stat(path)
        except OSError:
            return None  # removed since its parent was read: it holds nothing now
        signature = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
        with self._lock:
            kept = self._folders.get(path)
            if kept is not None and kept.signature == signature:
                self._folders.move_to_end(path)
                return kept
        folder = _read_folder(path, signature)
        settled = self.now() - max(stat.st_mtime_ns, stat.st_ctime_ns) > self.settle_ns
        if folder is not None and settled and self.min_entries <= len(folder.names) <= self.max_names:
            self._keep(path, folder)
        return folder

    def _keep(self, path: str, folder: _Folder) -> None:
        with self._lock:
            replaced = self._folders.pop(path, None)
            self._names += len(folder.names) - (len(replaced.names) if replaced else 0)
            self._folders[path] = folder
            while self._names > self.max_names:
                _, evicted = self._folders.popitem(last=False)
                self._names -= len(evicted.names)


_UNKEPT = FolderIndex(max_names=0)


def walk(
    root: Path,
    bucket_dir: Path,
    prefix: str,
    *,
    after: str = "",
    delimiter: str = "",
    index: FolderIndex = _UNKEPT,
) -> Iterator[Listed]:
    """The keys below ``bucket_dir`` that start with ``prefix`` and sort after ``after``, in
    S3's order; with a ``delimiter``, keys holding it after the prefix come as their common
    prefix (up to and including the delimiter's first occurrence), once, and a common prefix
    at or before ``after`` not at all (it was on an earlier page).

    ``root`` is the object root: nothing that resolves outside it is listed. ``index`` keeps
    large folders' sorted names between calls (by default nothing is kept)."""
    folder = prefix.rpartition("/")[0]
    if folder and key_problem(folder):
        return  # every key below it would have the same problem, so none exists
    start = bucket_dir / folder if folder else bucket_dir
    if not start.is_dir() or not start.resolve().is_relative_to(root):
        return
    walker = _Walk(root, prefix, after, delimiter, index)
    yield from walker.folder(str(start), f"{folder}/" if folder else "")


class _Walk:
    def __init__(self, root: Path, prefix: str, after: str, delimiter: str, index: FolderIndex) -> None:
        self.root, self.prefix, self.after, self.delimiter = root, prefix, after, delimiter
        self.index = index
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

    def _entries(self, path: str, key_prefix: str) -> Iterator[_Entry]:
        """The folder's entries that hold keys of this listing, in key order, from the first
        one after ``after`` (found by bisection) to the last one with the prefix."""
        prefix, after = self.prefix, self.after
        if key_prefix.startswith(prefix):
            within = ""  # every key below the folder has the prefix
        elif prefix.startswith(key_prefix):
            within = prefix[len(key_prefix) :]  # names must start with the rest of it
        else:
            return
        if after.startswith(key_prefix):
            past = after[len(key_prefix) :]
        elif after > key_prefix:
            return  # every key below the folder sorts before ``after``
        else:
            past = ""
        folder = self.index.read(path)
        if folder is None:
            return
        names = folder.names
        first = bisect_left(names, within)
        if past:
            start = bisect_right(names, past)
            # the one folder whose keys straddle ``after`` sorts just before it: ``x/`` <= ``x/y``
            if start and names[start - 1][-1] == "/" and past.startswith(names[start - 1]):
                start -= 1
            first = max(first, start)
        for position in range(first, len(names)):
            name = names[position]
            if not name.startswith(within):
                return
            is_folder = name[-1] == "/"
            entry_path = os.path.join(path, name[:-1] if is_folder else name)
            if name in folder.links and not _links_to_a_file(self.root, entry_path):
                continue
            key = key_prefix + name
            if not _too_long(key):
                yield _Entry(key, entry_path, is_folder)


def _sort_name(item: os.DirEntry[str]) -> str | None:
    """The entry's name as its keys sort (a folder's with ``/``), or None if it holds none:
    a name no key has, a socket, a pipe, a link to a folder (not followed, as ``os.walk``)."""
    name = item.name
    plain = name.isascii() and len(name) <= MAX_SEGMENT_BYTES and not name.startswith(TEMP_PREFIX)
    if not plain and segment_problem(name):
        return None
    try:
        if item.is_dir(follow_symlinks=False):
            return f"{name}/"
        return name if item.is_file(follow_symlinks=False) or item.is_symlink() else None
    except OSError:
        return None


def _read_folder(path: str, signature: tuple[int, int, int, int]) -> _Folder | None:
    names: list[str] = []
    links: set[str] = set()
    try:
        with os.scandir(path) as scan:
            for item in scan:
                name = _sort_name(item)
                if name is not None:
                    names.append(name)
                    if item.is_symlink():
                        links.add(name)
    except OSError:
        return None  # removed (or made unreadable) since its parent was read: it holds nothing now
    names.sort()
    return _Folder(signature, names, frozenset(links))


def _too_long(key: str) -> bool:
    """Whether the key (or, for a folder's ``a/b/``, every key below it) is over S3's limit: a
    folder's key prefix is one byte longer than the shortest key below it."""
    return len(key) * 4 > MAX_KEY_BYTES and key_bytes(key) > MAX_KEY_BYTES + (key[-1] == "/")


def _links_to_a_file(root: Path, path: str) -> bool:
    """A link to a file inside the root is that file's content under the link's key, as reads
    through ``path_for`` see it; any other link is no object."""
    target = Path(path).resolve()
    return target.is_relative_to(root) and target.is_file()


def _holds_a_key(root: Path, path: str, key_prefix: str) -> bool:
    """Whether any object lives below the folder: stops at the first one found."""
    try:
        scan = os.scandir(path)
    except OSError:
        return False
    with scan:
        for item in scan:
            name = _sort_name(item)
            if name is None:
                continue
            key = key_prefix + name
            if _too_long(key):
                continue
            if name[-1] == "/":
                if _holds_a_key(root, item.path, key):
                    return True
            elif not item.is_symlink() or _links_to_a_file(root, item.path):
                return True
    return False
