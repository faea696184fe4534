"""Which buckets and keys the local object root can hold as files of their own.

The mapping is faithful or refused: ``s3://bucket/key`` is the file ``<root>/bucket/key``, the
key split at ``/`` into path segments, and two different keys must never name one file, nor
any key a file outside the root. Keys the filesystem cannot hold as themselves are refused with
:class:`UnmappableKey`: empty segments (``d//x``, a leading or trailing ``/``), ``.`` and ``..``
segments (``./a``, ``x/../a``), NUL bytes, text that is not UTF-8, segments over 255 bytes,
keys over S3's 1,024 bytes, and the store's own temporary-file names (``.tmp-*``). A file or
folder of the root whose name breaks these rules is no object, and listings pass over it.
"""

from __future__ import annotations

import re

from pipelines.errors import ValidationError

MAX_KEY_BYTES = 1024  # S3's limit
MAX_SEGMENT_BYTES = 255  # NAME_MAX of common filesystems
TEMP_PREFIX = ".tmp-"
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


def segment_problem(segment: str) -> str | None:
    """Why one ``/``-separated piece of a key cannot be a file or folder name, or None.

    A name read from the disk that is not UTF-8 arrives with surrogate escapes, which fail the
    UTF-8 encoding here: no key can name such a file."""
    if not segment:
        return "it has an empty path segment ('//', or a leading or trailing '/')"
    if segment in (".", ".."):
        return f"it has a {segment!r} path segment"
    if "\x00" in segment:
        return "it contains a NUL byte"
    try:
        size = len(segment.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid UTF-8 text"
    if size > MAX_SEGMENT_BYTES:
        return f"a path segment is longer than {MAX_SEGMENT_BYTES} bytes"
    if segment.startswith(TEMP_PREFIX):
        return f"path segments starting with {TEMP_PREFIX!r} are the store's temporary files"
    return None


def key_bytes(key: str) -> int:
    """The key's length as S3 counts it (UTF-8 bytes), for a key whose text is valid UTF-8."""
    return len(key) if key.isascii() else len(key.encode("utf-8"))


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
        problem = segment_problem(segment)
        if problem:
            return problem, False
    return None
