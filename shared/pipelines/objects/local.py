"""Local directory object store: ``s3://bucket/key`` lives at ``<root>/bucket/key``.

The mapping is faithful or refused. A key is split at ``/`` into path segments, and two
different keys must never name one file, nor any key a file outside the root, so keys the
filesystem cannot hold as themselves are refused with :class:`UnmappableKey`: empty segments
(``d//x``, a leading or trailing ``/``), ``.`` and ``..`` segments (``./a``, ``x/../a``), NUL
bytes, text that is not UTF-8, segments over 255 bytes, keys over S3's 1,024 bytes, and the
store's own temporary-file names. Reads of such keys find nothing (they cannot have been
written); writes raise. Listing walks the bucket's folder only, whatever the prefix says.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pipelines.errors import ValidationError
from pipelines.objects.base import ObjectNotFound, split_uri

MAX_KEY_BYTES = 1024  # S3's limit
MAX_SEGMENT_BYTES = 255  # NAME_MAX of common filesystems
_TEMP_PREFIX = ".tmp-"
# Bucket folders: S3's names (and legacy us-east-1 names with capitals and underscores).
_BUCKET_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class UnmappableKey(ValidationError):
    """A bucket or key that the object root cannot hold as a file of its own."""

    def __init__(
        self, bucket: str, key: str, reason: str, *, too_long: bool = False, bucket_name: bool = False
    ):
        what = f"bucket name {bucket!r}" if bucket_name else f"key {key!r}"
        super().__init__(f"the local object root cannot store {what}: {reason}")
        self.bucket, self.key, self.reason = bucket, key, reason
        self.too_long = too_long
        self.bucket_name = bucket_name


def bucket_problem(bucket: str) -> str | None:
    """Why ``bucket`` cannot be a folder of the root, or None."""
    if "\x00" in bucket:
        return "it contains a NUL byte"
    if not _BUCKET_FOLDER.match(bucket) or ".." in bucket:
        return "bucket names are 1-255 letters, digits, '.', '_' and '-', start with a letter or digit"
    return None


def key_problem(key: str) -> tuple[str, bool] | None:
    """Why ``key`` cannot be a file of its own below a bucket folder (and whether it is only too
    long), or None."""
    if not key:
        return "the key is empty", False
    if "\x00" in key:
        return "it contains a NUL byte", False
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid UTF-8 text", False
    if size > MAX_KEY_BYTES:
        return f"it is {size} bytes long; keys are at most {MAX_KEY_BYTES}", True
    for segment in key.split("/"):
        if not segment:
            return "it has an empty path segment ('//', or a leading or trailing '/')", False
        if segment in (".", ".."):
            return f"it has a {segment!r} path segment", False
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes", False
        if segment.startswith(_TEMP_PREFIX):
            return f"path segments starting with {_TEMP_PREFIX!r} are the store's temporary files", False
    return None


class LocalObjectStore:
    """Writes are atomic (temp file + rename) so readers never see half an object."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()

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
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX)
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
        if bucket_problem(bucket):
            return []
        bucket_dir = self.root / bucket
        folder = prefix.rpartition("/")[0]
        if folder and key_problem(folder):
            return []  # every key below it would have the same problem, so none exists
        start = bucket_dir / folder if folder else bucket_dir
        if not start.is_dir() or not start.resolve().is_relative_to(self.root):
            return []
        out: list[str] = []
        for dirpath, _dirnames, filenames in os.walk(start):
            relative = Path(dirpath).relative_to(bucket_dir).as_posix()
            for name in filenames:
                key = name if relative == "." else f"{relative}/{name}"
                if not key.startswith(prefix) or key_problem(key):
                    continue
                path = Path(dirpath) / name
                if path.is_file() and path.resolve().is_relative_to(self.root):
                    out.append(f"s3://{bucket}/{key}")
        return sorted(out)

    def delete(self, uri: str) -> None:
        path = self._existing(uri)
        if path is not None:
            path.unlink(missing_ok=True)
