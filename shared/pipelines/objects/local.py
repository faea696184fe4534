"""Local directory object store: ``s3://bucket/key`` lives at ``<root>/bucket/key``.

The mapping is faithful or refused (:mod:`pipelines.objects.names`): reads of keys the root
cannot hold find nothing (they cannot have been written); writes raise :class:`UnmappableKey`.
Listing walks the bucket's folder only, whatever the prefix says, in S3's key order and only as
far as its caller reads (:mod:`pipelines.objects.listing`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipelines.objects.base import ObjectNotFound, split_uri
from pipelines.objects.listing import FolderIndex, Listed, walk
from pipelines.objects.names import (
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    TEMP_PREFIX,
    UnmappableKey,
    bucket_problem,
    key_problem,
)

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "TEMP_PREFIX",
    "LocalObjectStore",
    "UnmappableKey",
    "bucket_problem",
    "key_problem",
]


class LocalObjectStore:
    """Writes are atomic (temp file + rename) so readers never see half an object."""

    def __init__(self, root: str | os.PathLike[str], *, folders: FolderIndex | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        self.folders = folders or FolderIndex()
        """Large folders' sorted names, kept between listings while they stay unchanged."""

    def path_for(self, uri: str) -> Path:
        """The local file path backing a URI (it need not exist yet); raises UnmappableKey."""
        scheme, bucket, key = split_uri(uri)
        if scheme == "file":
            return Path(key)
        bucket_reason = bucket_problem(bucket)
        if bucket_reason:
            raise UnmappableKey(bucket, key, bucket_reason, bucket_name=True)
        problem = key_problem(key)
        if problem:
            raise UnmappableKey(bucket, key, problem[0], too_long=problem[1])
        path = self.root / bucket / key
        if not path.resolve().is_relative_to(self.root):  # a symlink inside the root pointing out
            raise UnmappableKey(bucket, key, "it names a link that leads outside the object root")
        return path

    def _existing(self, uri: str) -> Path | None:
        try:
            path = self.path_for(uri)
        except UnmappableKey:
            return None  # such an object cannot have been written
        return path if path.is_file() else None

    def get(self, uri: str) -> bytes:
        path = self._existing(uri)
        if path is None:
            raise ObjectNotFound(uri)
        return path.read_bytes()

    def put(self, uri: str, data: bytes) -> None:
        path = self.path_for(uri)
        _scheme, bucket, key = split_uri(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise UnmappableKey(bucket, key, "a shorter key is an object, so it cannot be a folder") from exc
        if path.is_dir():
            raise UnmappableKey(bucket, key, "longer keys continue it with '/', so it is a folder")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, uri: str) -> bool:
        return self._existing(uri) is not None

    def list(self, prefix_uri: str) -> list[str]:
        """URIs of every object whose key starts with the prefix, sorted; never leaves the bucket."""
        scheme, bucket, prefix = split_uri(prefix_uri)
        if scheme == "file":
            base = Path(prefix)
            start = base if base.is_dir() else base.parent
            return sorted(
                f"file://{p}" for p in start.rglob("*") if p.is_file() and str(p).startswith(prefix)
            )
        return [f"s3://{bucket}/{item.name}" for item in self.walk(bucket, prefix)]

    def walk(
        self, bucket: str, prefix: str = "", *, after: str = "", delimiter: str = ""
    ) -> Iterator[Listed]:
        """The bucket's keys that start with ``prefix`` and sort after ``after``, in S3's order,
        read from the disk only as far as the caller iterates; with a ``delimiter``, keys that
        hold it after the prefix come once as their common prefix (see
        :func:`pipelines.objects.listing.walk`). A bucket name the root cannot hold lists nothing."""
        if bucket_problem(bucket):
            return iter(())
        return walk(
            self.root, self.root / bucket, prefix, after=after, delimiter=delimiter, index=self.folders
        )

    def delete(self, uri: str) -> None:
        path = self._existing(uri)
        if path is not None:
            path.unlink(missing_ok=True)
