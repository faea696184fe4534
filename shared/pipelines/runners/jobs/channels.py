"""Moving a job's data between the object store and its ``/opt/ml`` tree.

Inputs follow the service's S3 data types: ``S3Prefix`` copies every object under the prefix
(keys keep their path below the prefix), ``ManifestFile`` reads a manifest
(``[{"prefix": ...}, "rel/key", ...]``) and copies the objects it lists. Outputs upload a
folder's files under a prefix. Artifacts are tar.gz files as SageMaker writes them.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.objects.base import ObjectNotFound, ObjectStore, split_uri
from pipelines.runners.jobs.errors import InputNotFound, JobRequestError

SUPPORTED_DATA_TYPES = ("S3Prefix", "ManifestFile")


@dataclass(frozen=True)
class FetchedObject:
    uri: str
    relative: str  # the path below the channel folder
    path: Path


def join_uri(prefix: str, *parts: str) -> str:
    """``s3://b/p`` + ``a/b`` -> ``s3://b/p/a/b`` (one slash between parts)."""
    out = prefix.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            out = f"{out}/{part}"
    return out


def copy_object(objects: ObjectStore, uri: str, dest: Path) -> None:
    """Copy one object to ``dest``; a local store's file is copied without reading it into memory."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    path_for = getattr(objects, "path_for", None)
    if path_for is not None:
        source = Path(path_for(uri))
        if not source.is_file():
            raise ObjectNotFound(uri)
        shutil.copyfile(source, dest)
        return
    dest.write_bytes(objects.get(uri))


def upload_file(objects: ObjectStore, source: Path, uri: str) -> None:
    objects.put(uri, source.read_bytes())


def _relative_below(prefix_key: str, key: str) -> str:
    """Where an object lands below the channel folder: its key below the prefix."""
    if key == prefix_key:
        return key.rsplit("/", 1)[-1]
    rest = key[len(prefix_key) :]
    if prefix_key.endswith("/") or rest.startswith("/"):
        return rest.lstrip("/")
    # "data/tr" matched "data/train.csv": keep the name below the prefix's folder
    folder = prefix_key.rsplit("/", 1)[0] + "/" if "/" in prefix_key else ""
    return key[len(folder) :]


def list_prefix(objects: ObjectStore, uri: str) -> list[tuple[str, str]]:
    """(object URI, relative path) for every object an S3Prefix input covers."""
    key = split_uri(uri)[2]
    return [(u, _relative_below(key, split_uri(u)[2])) for u in objects.list(uri)]


def list_manifest(objects: ObjectStore, manifest_uri: str) -> list[tuple[str, str]]:
    try:
        manifest = json.loads(objects.get(manifest_uri))
    except ObjectNotFound as exc:
        raise InputNotFound(f"manifest file {manifest_uri} does not exist") from exc
    except ValueError as exc:
        raise JobRequestError(f"manifest file {manifest_uri} is not valid JSON: {exc}") from exc
    if not (
        isinstance(manifest, list)
        and manifest
        and isinstance(manifest[0], dict)
        and isinstance(manifest[0].get("prefix"), str)
    ):
        raise JobRequestError(
            f'manifest file {manifest_uri} must be a JSON list starting with {{"prefix": "s3://..."}}'
        )
    prefix = manifest[0]["prefix"]
    entries: list[tuple[str, str]] = []
    for rel in manifest[1:]:
        if not isinstance(rel, str):
            raise JobRequestError(f"manifest file {manifest_uri}: entry {rel!r} is not a string")
        entries.append((prefix + rel if prefix.endswith("/") else join_uri(prefix, rel), rel.lstrip("/")))
    return entries


def list_input(objects: ObjectStore, uri: str, data_type: str, *, what: str) -> list[tuple[str, str]]:
    """The objects an input covers; fails the way the service does when there are none."""
    if data_type == "S3Prefix":
        entries = list_prefix(objects, uri)
    elif data_type == "ManifestFile":
        entries = list_manifest(objects, uri)
    else:
        raise JobRequestError(
            f"{what}: S3DataType {data_type!r} is not supported locally (supported: "
            f"{', '.join(SUPPORTED_DATA_TYPES)})"
        )
    if not entries:
        raise InputNotFound(f"{what}: no objects found under {uri}")
    return entries


def fetch_input(
    objects: ObjectStore, uri: str, data_type: str, dest_dir: Path, *, what: str, gunzip: bool = False
) -> list[FetchedObject]:
    """Copy the input's objects into ``dest_dir`` (their relative paths kept)."""
    fetched: list[FetchedObject] = []
    for object_uri, relative in list_input(objects, uri, data_type, what=what):
        dest = _inside(dest_dir, relative, what=what)
        try:
            copy_object(objects, object_uri, dest)
        except ObjectNotFound as exc:
            raise InputNotFound(f"{what}: object {object_uri} does not exist") from exc
        if gunzip:
            data = gzip.decompress(dest.read_bytes())
            dest.write_bytes(data)
        fetched.append(FetchedObject(object_uri, relative, dest))
    return fetched


def _inside(folder: Path, relative: str, *, what: str) -> Path:
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise JobRequestError(f"{what}: object path {relative!r} escapes the input folder")
    return target


def upload_folder(objects: ObjectStore, folder: Path, prefix_uri: str) -> list[str]:
    """Upload every file below ``folder`` to ``prefix_uri/<relative path>``."""
    uploaded: list[str] = []
    if not folder.is_dir():
        return uploaded
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        uri = join_uri(prefix_uri, path.relative_to(folder).as_posix())
        upload_file(objects, path, uri)
        uploaded.append(uri)
    return uploaded


def tar_gz_folder(folder: Path) -> bytes:
    """The folder's contents as a tar.gz whose members are relative to the folder (as SageMaker
    packs model.tar.gz and output.tar.gz)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                archive.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def extract_tar(data: bytes, dest: Path, *, what: str) -> None:
    """Unpack a tar (gzipped or not) into ``dest``; refuses members that escape it."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise JobRequestError(f"{what} is not a readable tar archive: {exc}") from exc


def fetch_and_extract(objects: ObjectStore, uri: str, dest: Path, *, what: str) -> None:
    try:
        data = objects.get(uri)
    except ObjectNotFound as exc:
        raise InputNotFound(f"{what} {uri} does not exist") from exc
    extract_tar(data, dest, what=f"{what} {uri}")


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, default=str))


def ensure_dirs(paths: Iterable[Path]) -> None:
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)


def is_uri(value: str) -> bool:
    return value.startswith(("s3://", "file://"))
