"""Local directory object store: ``s3://bucket/key`` lives at ``<root>/bucket/key``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipelines.objects.base import ObjectNotFound, split_uri


class LocalObjectStore:
    """Writes are atomic (temp file + rename) so readers never see half an object."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()

    def path_for(self, uri: str) -> Path:
        """The local file path backing a URI (it need not exist yet)."""
        scheme, bucket, key = split_uri(uri)
        if scheme == "file":
            return Path(key)
        path = (self.root / bucket / key).resolve()
        if not path.is_relative_to(self.root):
            raise ObjectNotFound(uri)
        return path

    def get(self, uri: str) -> bytes:
        path = self.path_for(uri)
        if not path.is_file():
            raise ObjectNotFound(uri)
        return path.read_bytes()

    def put(self, uri: str, data: bytes) -> None:
        path = self.path_for(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, uri: str) -> bool:
        return self.path_for(uri).is_file()

    def list(self, prefix_uri: str) -> list[str]:
        scheme, bucket, key = split_uri(prefix_uri)
        base = Path(key) if scheme == "file" else self.root / bucket
        if scheme == "file":
            start = base if base.is_dir() else base.parent
            return sorted(f"file://{p}" for p in start.rglob("*") if p.is_file() and str(p).startswith(key))
        start = base / key if (base / key).is_dir() else (base / key).parent
        if not start.is_dir():
            return []
        out: list[str] = []
        for p in start.rglob("*"):
            if not p.is_file() or p.name.startswith(".tmp-"):
                continue
            rel = p.relative_to(base).as_posix()
            if rel.startswith(key):
                out.append(f"s3://{bucket}/{rel}")
        return sorted(out)

    def delete(self, uri: str) -> None:
        self.path_for(uri).unlink(missing_ok=True)
