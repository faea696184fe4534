"""The object-store protocol: what the engine and runners need of S3, and nothing more."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlparse

from pipelines.errors import PipelinesError, ResourceNotFound


class ObjectNotFound(ResourceNotFound):
    """No object at the URI."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"object not found: {uri}")
        self.uri = uri


class InvalidObjectUri(PipelinesError):
    def __init__(self, uri: str) -> None:
        super().__init__(f"not an s3:// or file:// URI: {uri!r}")


def split_uri(uri: str) -> tuple[str, str, str]:
    """``s3://bucket/key`` -> ("s3", "bucket", "key"); ``file:///a/b`` -> ("file", "", "/a/b").

    An S3 key is taken verbatim: ``#``, ``?``, ``;`` and ``%`` are ordinary key characters, not
    a URL's fragment, query or escapes (``s3://b/a.txt#x`` is the key ``a.txt#x``)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        if bucket:
            return "s3", bucket, key
        raise InvalidObjectUri(uri)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return "file", "", parsed.netloc + parsed.path if parsed.netloc else parsed.path
    raise InvalidObjectUri(uri)


class ObjectStore(Protocol):
    def get(self, uri: str) -> bytes:
        """The object's bytes; raises ObjectNotFound."""
        ...

    def put(self, uri: str, data: bytes) -> None: ...

    def exists(self, uri: str) -> bool: ...

    def list(self, prefix_uri: str) -> list[str]:
        """URIs of every object whose key starts with the prefix, sorted."""
        ...

    def delete(self, uri: str) -> None: ...
