"""An S3-compatible endpoint over the local object root, for the embedded runtime.

The SageMaker SDK uploads code, ``@step`` payloads and large definitions to S3, and step
scripts read and write S3 with boto3. Served by ``pipelines serve``, this endpoint lets them
run unchanged offline: ``s3://bucket/key`` is the file ``<object_root>/bucket/key`` -- the
same file the local runners read and write through :class:`LocalObjectStore`.

The wire side is the botocore-model-driven rest-xml codec (:mod:`pipelines.api.rest_xml`,
plus :data:`S3_WIRE`: the root element names and namespace S3 writes that botocore's model
does not carry); the storage is the one object root, the single source of truth, so files the
runners write are what S3 clients list and read, and uploads land where the runners look.

Path-style addressing (``http://127.0.0.1:PORT/bucket/key``). Buckets are top-level folders.
Content type and user metadata live in a sidecar store beside the state dir (a file written
by a runner simply has none; its ETag is computed at its first listing or read and kept there
while the file stays the same). ListObjects(V2) walk the object root in S3's key order and
read only what the page needs (:mod:`pipelines.objects.listing`): a page costs the same
whether the prefix holds a thousand keys or a hundred thousand. Supported: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, PutObject, GetObject (incl. Range, If-Match/If-None-Match), HeadObject,
DeleteObject, DeleteObjects, CopyObject, ListObjectsV2, ListObjects, and multipart uploads
(Create, UploadPart, Complete, Abort). Versioning, SSE-C, object lock and ACL enforcement are
not: requests that need them are refused with ``NotImplemented``.

Names map to files faithfully or are refused (see :mod:`pipelines.objects.local`): no two keys
share a file, nothing outside the object root is read, written, listed, named or deleted, and
multipart state is addressed only by the ids this server made (``uuid4().hex``).

Bodies sent ``aws-chunked`` (boto3's streamed and checksummed uploads) are decoded before the
codec reads them, and their length checked against ``x-amz-decoded-content-length``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import threading
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from botocore.model import OperationModel

from pipelines.api.errors import ServiceError
from pipelines.api.rest import RestService
from pipelines.api.rest_xml import RestXmlCodec, XmlWire
from pipelines.api.validation import service_model
from pipelines.api.wire import CallContext, Handler, HttpResponse
from pipelines.objects import LocalObjectStore, UnmappableKey
from pipelines.objects.local import bucket_problem

MAX_KEYS_ARGUMENT = 2_147_483_647
"""The largest max-keys S3 accepts (a Java int); a negative or larger one is InvalidArgument."""

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as CreateMultipartUpload makes them
# Range positions beyond any object (and beyond int()'s 4,300-digit limit) are one large number.
_RANGE_DIGITS = 18
_DEFAULT_CONTENT_TYPE = "binary/octet-stream"
_OWNER = {"ID": "local", "DisplayName": "local"}
# Members that would change what is stored or who may read it; refused, never ignored.
_UNSUPPORTED_MEMBERS = (
    "VersionId",
    "SSECustomerKey",
    "CopySourceSSECustomerKey",
    "ObjectLockMode",
    "ObjectLockLegalHoldStatus",
    "WriteOffsetBytes",
    "PartNumber",
    "MFA",
)


def no_such_bucket(bucket: str) -> ServiceError:
    return ServiceError("NoSuchBucket", f"The specified bucket does not exist: {bucket}", 404)


def no_such_key(key: str) -> ServiceError:
    return ServiceError("NoSuchKey", f"The specified key does not exist: {key}", 404)


def not_implemented(what: str) -> ServiceError:
    return ServiceError("NotImplemented", f"{what} is not supported by the local S3 endpoint", 501)


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The payload of an ``aws-chunked`` body (signed or unsigned chunks) and its trailing
    headers by lower-case name (boto3 sends its checksum there: ``x-amz-checksum-crc32``)."""
    out = bytearray()
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            raise ServiceError("IncompleteBody", "the aws-chunked body ends inside a chunk header")
        header = body[position:line_end].split(b";", 1)[0]
        try:
            size = int(header, 16)
        except ValueError as exc:
            raise ServiceError("InvalidRequest", "malformed aws-chunked chunk header") from exc
        position = line_end + 2
        if size == 0:
            return bytes(out), _trailers(body[position:])
        if position + size > len(body):
            raise ServiceError("IncompleteBody", "the aws-chunked body is shorter than its chunks say")
        out += body[position : position + size]
        position += size + 2


def _trailers(rest: bytes) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for line in rest.decode("utf-8", errors="replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            trailers[name.strip().lower()] = value.strip()
    return trailers


def is_aws_chunked(headers: Any) -> bool:
    sha = str(headers.get("x-amz-content-sha256", "") or "")
    encoding = str(headers.get("Content-Encoding", "") or "")
    return sha.startswith("STREAMING-") or "aws-chunked" in encoding


def _checksums(data: bytes) -> dict[str, Callable[[], str]]:
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return {
        "ChecksumCRC32": lambda: b64(zlib.crc32(data).to_bytes(4, "big")),
        "ChecksumSHA1": lambda: b64(hashlib.sha1(data).digest()),
        "ChecksumSHA256": lambda: b64(hashlib.sha256(data).digest()),
        "ContentMD5": lambda: b64(hashlib.md5(data).digest()),
    }


def verify_checksums(params: dict[str, Any], data: bytes) -> None:
    """Check every checksum the client sent; refuse algorithms we cannot compute."""
    known = _checksums(data)
    for member, value in params.items():
        if not (member.startswith("Checksum") or member == "ContentMD5") or member in (
            "ChecksumAlgorithm",
            "ChecksumType",
            "ChecksumMode",
        ):
            continue
        compute = known.get(member)
        if compute is None:
            raise not_implemented(f"{member}")
        if compute() != value:
            raise ServiceError("BadDigest", f"the {member} you specified did not match the data received")


def unmappable(error: UnmappableKey) -> ServiceError:
    """The S3 error a client understands for a name the object root cannot hold faithfully."""
    if error.bucket_name:
        return ServiceError("InvalidBucketName", f"The specified bucket is not valid: {error.reason}")
    if error.too_long:
        return ServiceError("KeyTooLongError", f"Your key is too long: {error.reason}")
    return ServiceError("InvalidArgument", error.message)


class ObjectRoot:
    """Buckets, objects and their metadata on disk; thread-safe for the server's threads.

    Every name goes through :class:`LocalObjectStore`'s faithful mapping: a bucket or key it
    cannot hold as a file of its own is refused (``InvalidBucketName``, ``KeyTooLongError``,
    ``InvalidArgument``), never normalised onto another object's file."""

    def __init__(
        self,
        object_root: Path,
        state_dir: Path,
        *,
        default_owner: str = "000000000000",
        enforce_owners: bool = False,
    ) -> None:
        self.objects = LocalObjectStore(object_root)
        self.root = self.objects.root
        self.meta_dir = Path(state_dir) / "s3-metadata"
        self.uploads_dir = Path(state_dir) / "s3-uploads"
        self.owners_dir = Path(state_dir) / "s3-buckets"
        self.default_owner = default_owner
        self.enforce_owners = enforce_owners
        self.lock = threading.Lock()

    # -- ownership ---------------------------------------------------------------------------
    def owner(self, bucket: str) -> str:
        """The account that created the bucket through this endpoint; folders made any other way
        (by runners, by hand) belong to the config's account."""
        try:
            return (self.owners_dir / bucket).read_text().strip() or self.default_owner
        except OSError:
            return self.default_owner

    def set_owner(self, bucket: str, account: str | None) -> None:
        path = self.owners_dir / bucket
        if account is None:
            path.unlink(missing_ok=True)
            return
        self.owners_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(account)

    def check_owner(self, bucket: str, account: str) -> Path:
        """The bucket's folder, if ``account`` owns it (always, on a single-user server)."""
        path = self.require_bucket(bucket)
        if self.enforce_owners and self.owner(bucket) != account:
            raise ServiceError("AccessDenied", "Access Denied", 403)
        return path

    def visible_to(self, bucket: str, account: str) -> bool:
        return not self.enforce_owners or self.owner(bucket) == account

    # -- buckets -----------------------------------------------------------------------------
    def bucket_dir(self, bucket: str) -> Path:
        reason = bucket_problem(bucket)
        if reason:
            raise ServiceError("InvalidBucketName", f"The specified bucket is not valid: {reason}")
        return self.root / bucket

    def require_bucket(self, bucket: str) -> Path:
        path = self.bucket_dir(bucket)
        if not path.is_dir() or path.is_symlink():
            raise no_such_bucket(bucket)
        return path

    # -- objects -----------------------------------------------------------------------------
    def uri(self, bucket: str, key: str) -> str:
        """The object's URI once the root can hold its name faithfully."""
        uri = f"s3://{bucket}/{key}"
        self.path(uri)
        return uri

    def path(self, uri: str) -> Path:
        try:
            return self.objects.path_for(uri)
        except UnmappableKey as error:
            raise unmappable(error) from error

    def file(self, bucket: str, key: str) -> Path:
        self.require_bucket(bucket)
        path = self.path(f"s3://{bucket}/{key}")
        if not path.is_file():
            raise no_such_key(key)
        return path

    def _meta_path(self, bucket: str, key: str) -> Path:
        digest = hashlib.sha256(f"{bucket}\0{key}".encode()).hexdigest()
        return self.meta_dir / digest[:2] / f"{digest}.json"

    def metadata(self, bucket: str, key: str, path: Path) -> dict[str, Any]:
        """Stored metadata if it still describes the file on disk, else what the file shows.

        Size and LastModified come from the file's stat. A file written some other way (by a
        runner, by hand) has no ETag stored: it is hashed once and the ETag kept for as long as
        the file stays the same one, so listings and reads do not hash it again."""
        stat = path.stat()
        try:
            meta: dict[str, Any] = json.loads(self._meta_path(bucket, key).read_text())
        except (OSError, ValueError):
            meta = {}
        if not _describes(meta, stat):
            meta = {"ETag": self._hashed_etag(bucket, key, path, stat)}
        meta["size"] = stat.st_size
        meta["LastModified"] = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(microsecond=0)
        return meta

    def _hashed_etag(self, bucket: str, key: str, path: Path, stat: os.stat_result) -> str:
        with path.open("rb") as fh:
            etag = f'"{hashlib.file_digest(fh, "md5").hexdigest()}"'
        with self.lock:
            try:
                unchanged = _signature(path.stat()) == _signature(stat)
            except OSError:
                unchanged = False
            if unchanged:  # else it changed while being hashed: keep nothing
                self._write_meta(bucket, key, {"ETag": etag, **_signature(stat)})
        return etag

    def _write_meta(self, bucket: str, key: str, record: dict[str, Any]) -> None:
        meta_path = self._meta_path(bucket, key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = meta_path.with_name(f".{meta_path.name}.{uuid.uuid4().hex}")
        tmp.write_text(json.dumps(record))
        tmp.replace(meta_path)

    def put(
        self, bucket: str, key: str, data: bytes, attributes: dict[str, Any], etag: str | None = None
    ) -> str:
        self.require_bucket(bucket)
        uri = self.uri(bucket, key)
        etag = etag or f'"{hashlib.md5(data).hexdigest()}"'
        with self.lock:
            try:
                self.objects.put(uri, data)
            except UnmappableKey as error:
                raise unmappable(error) from error
            stat = self.path(uri).stat()
            self._write_meta(bucket, key, {**attributes, "ETag": etag, **_signature(stat)})
        return etag

    def delete(self, bucket: str, key: str) -> None:
        self.require_bucket(bucket)
        uri = self.uri(bucket, key)
        with self.lock:
            self.objects.delete(uri)
            self._meta_path(bucket, key).unlink(missing_ok=True)

    def is_empty(self, bucket: str) -> bool:
        self.require_bucket(bucket)
        return next(iter(self.objects.walk(bucket)), None) is None

    def listed(self, bucket: str, key: str) -> dict[str, Any] | None:
        """A listing's entry for a key the walk just named, or None if it is gone since."""
        try:
            meta = self.metadata(bucket, key, self.root / bucket / key)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None  # deleted (or made a folder) since it was listed: no object now
        return {
            "Key": key,
            "LastModified": meta["LastModified"],
            "ETag": meta["ETag"],
            "Size": meta["size"],
            "StorageClass": "STANDARD",
        }


def _signature(stat: os.stat_result) -> dict[str, int]:
    """What stored metadata records of its file, to tell later whether it is still that file:
    a write through the object store replaces the file, so it is a new inode."""
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino}


def _describes(meta: dict[str, Any], stat: os.stat_result) -> bool:
    """Whether stored metadata is that of the file now on disk (records written before the
    inode was kept are trusted on size and modification time)."""
    return all(meta.get(name, value) == value for name, value in _signature(stat).items()) and (
        "size" in meta and "mtime_ns" in meta
    )


_ATTRIBUTE_MEMBERS = (
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
)


def _attributes(params: dict[str, Any]) -> dict[str, Any]:
    attributes = {m: params[m] for m in _ATTRIBUTE_MEMBERS if params.get(m)}
    if "ContentEncoding" in attributes:
        kept = [e for e in str(attributes["ContentEncoding"]).split(",") if e.strip() != "aws-chunked"]
        attributes["ContentEncoding"] = ",".join(kept)
        if not kept:
            del attributes["ContentEncoding"]
    metadata = params.get("Metadata")
    if metadata:
        attributes["Metadata"] = {str(k).lower(): v for k, v in metadata.items()}
    return attributes


def _refuse_unsupported(params: dict[str, Any]) -> None:
    for member in _UNSUPPORTED_MEMBERS:
        if member in params:
            raise not_implemented(member)


def _encode(value: str, encoding: str | None) -> str:
    return quote(value, safe="/~") if encoding == "url" else value


class S3Operations:
    """The S3 subset, transport-free; each method is a handler ``(params, context) -> result``."""

    def __init__(self, store: ObjectRoot) -> None:
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        names = [
            "ListBuckets",
            "CreateBucket",
            "HeadBucket",
            "DeleteBucket",
            "GetBucketLocation",
            "PutObject",
            "GetObject",
            "HeadObject",
            "DeleteObject",
            "DeleteObjects",
            "CopyObject",
            "ListObjectsV2",
            "ListObjects",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "AbortMultipartUpload",
        ]
        unchecked = ("ListBuckets", "CreateBucket")  # they check ownership themselves
        return {
            name: getattr(self, _snake(name))
            if name in unchecked
            else self._owned(getattr(self, _snake(name)))
            for name in names
        }

    def _owned(self, handler: Handler) -> Handler:
        """``handler`` run only for the account that owns the request's bucket."""

        def checked(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            self.store.check_owner(params["Bucket"], ctx.account_id)
            return handler(params, ctx)

        return checked

    # -- buckets -----------------------------------------------------------------------------
    def list_buckets(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        root = self.store.root
        buckets = []
        if root.is_dir():
            folders = sorted(
                p
                for p in root.iterdir()
                if p.is_dir()
                and not p.is_symlink()
                and not bucket_problem(p.name)
                and self.store.visible_to(p.name, ctx.account_id)
            )
            for path in folders:
                created = dt.datetime.fromtimestamp(path.stat().st_ctime, dt.UTC).replace(microsecond=0)
                if not params.get("Prefix") or path.name.startswith(params["Prefix"]):
                    buckets.append({"Name": path.name, "CreationDate": created, "BucketRegion": ctx.region})
        return {"Buckets": buckets, "Owner": _OWNER}

    def create_bucket(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        bucket = params["Bucket"]
        if not _BUCKET_NAME.match(bucket):
            raise ServiceError("InvalidBucketName", f"The specified bucket is not valid: {bucket}")
        path = self.store.bucket_dir(bucket)
        with self.store.lock:
            if path.is_dir():
                if not self.store.visible_to(bucket, ctx.account_id):
                    raise ServiceError(
                        "BucketAlreadyExists",
                        "The requested bucket name is not available. Please select a different name.",
                        409,
                    )
                raise ServiceError(
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                    409,
                )
            path.mkdir(parents=True)
            self.store.set_owner(bucket, ctx.account_id)
        return {"Location": f"/{bucket}"}

    def head_bucket(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.store.require_bucket(params["Bucket"])
        return {"BucketRegion": ctx.region}

    def delete_bucket(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        bucket = params["Bucket"]
        path = self.store.require_bucket(bucket)
        if not self.store.is_empty(bucket):
            raise ServiceError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409)
        shutil.rmtree(path)
        self.store.set_owner(bucket, None)
        return {}

    def get_bucket_location(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.store.require_bucket(params["Bucket"])
        return {"LocationConstraint": "" if ctx.region == "us-east-1" else ctx.region}

    # -- objects -----------------------------------------------------------------------------
    def put_object(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        _refuse_unsupported(params)
        data = _body_bytes(params.get("Body"))
        verify_checksums(params, data)
        bucket, key = params["Bucket"], params["Key"]
        self._check_write_conditions(params, bucket, key)
        etag = self.store.put(bucket, key, data, _attributes(params))
        return {"ETag": etag}

    def _check_write_conditions(self, params: dict[str, Any], bucket: str, key: str) -> None:
        if "IfNoneMatch" not in params and "IfMatch" not in params:
            return
        try:
            path = self.store.file(bucket, key)
            etag: str | None = self.store.metadata(bucket, key, path)["ETag"]
        except ServiceError:
            etag = None
        if params.get("IfNoneMatch") == "*" and etag is not None:
            raise ServiceError(
                "PreconditionFailed", "At least one of the preconditions you specified did not hold", 412
            )
        if "IfMatch" in params and (etag is None or params["IfMatch"] not in ("*", etag)):
            raise ServiceError(
                "PreconditionFailed", "At least one of the preconditions you specified did not hold", 412
            )

    def _readable(self, params: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
        """The object GetObject/HeadObject name, once its read preconditions hold."""
        _refuse_unsupported(params)
        bucket, key = params["Bucket"], params["Key"]
        path = self.store.file(bucket, key)
        meta = self.store.metadata(bucket, key, path)
        self._check_read_conditions(params, meta)
        return path, meta

    def get_object(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        path, meta = self._readable(params)
        data = path.read_bytes()
        result = self._describe(meta, params)
        if params.get("Range"):
            start, end = _parse_range(params["Range"], len(data))
            data = data[start : end + 1]
            result["ContentRange"] = f"bytes {start}-{end}/{meta['size']}"
        result["ContentLength"] = len(data)
        result["Body"] = data
        return result

    def head_object(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        _, meta = self._readable(params)
        result = self._describe(meta, params)
        result["ContentLength"] = meta["size"]
        return result

    @staticmethod
    def _check_read_conditions(params: dict[str, Any], meta: dict[str, Any]) -> None:
        if "IfMatch" in params and params["IfMatch"] not in ("*", meta["ETag"]):
            raise ServiceError(
                "PreconditionFailed", "At least one of the preconditions you specified did not hold", 412
            )
        if "IfNoneMatch" in params and params["IfNoneMatch"] in ("*", meta["ETag"]):
            raise ServiceError("NotModified", "Not Modified", 304)
        modified: dt.datetime = meta["LastModified"]
        if "IfModifiedSince" in params and modified <= params["IfModifiedSince"]:
            raise ServiceError("NotModified", "Not Modified", 304)
        if "IfUnmodifiedSince" in params and modified > params["IfUnmodifiedSince"]:
            raise ServiceError(
                "PreconditionFailed", "At least one of the preconditions you specified did not hold", 412
            )

    @staticmethod
    def _describe(meta: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ETag": meta["ETag"],
            "LastModified": meta["LastModified"],
            "ContentType": meta.get("ContentType", _DEFAULT_CONTENT_TYPE),
            "AcceptRanges": "bytes",
            "Metadata": meta.get("Metadata", {}),
        }
        for member in _ATTRIBUTE_MEMBERS[1:]:
            if member in meta:
                result[member] = meta[member]
        for member in _ATTRIBUTE_MEMBERS:
            override = params.get(f"Response{member}")
            if override:
                result[member] = override
        return result

    def delete_object(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        _refuse_unsupported(params)
        self.store.delete(params["Bucket"], params["Key"])
        return {}

    def delete_objects(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        bucket = params["Bucket"]
        self.store.require_bucket(bucket)
        deleted, errors = [], []
        for item in params["Delete"].get("Objects", []):
            if "VersionId" in item:
                errors.append(
                    {"Key": item["Key"], "Code": "NotImplemented", "Message": "versions are not supported"}
                )
                continue
            try:
                self.store.delete(bucket, item["Key"])
            except ServiceError as error:
                errors.append({"Key": item["Key"], "Code": error.code, "Message": error.message})
                continue
            deleted.append({"Key": item["Key"]})
        quiet = params["Delete"].get("Quiet", False)
        return {"Deleted": [] if quiet else deleted, "Errors": errors}

    def copy_object(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        _refuse_unsupported(params)
        source = unquote(str(params["CopySource"])).lstrip("/")
        if "?versionId=" in source:
            raise not_implemented("copying a specific version")
        source_bucket, _, source_key = source.partition("/")
        self.store.check_owner(source_bucket, ctx.account_id)
        path = self.store.file(source_bucket, source_key)
        source_meta = self.store.metadata(source_bucket, source_key, path)
        data = path.read_bytes()
        if params.get("MetadataDirective") == "REPLACE":
            attributes = _attributes(params)
        else:
            attributes = {k: v for k, v in source_meta.items() if k in (*_ATTRIBUTE_MEMBERS, "Metadata")}
        etag = self.store.put(params["Bucket"], params["Key"], data, attributes)
        copied = self.store.metadata(
            params["Bucket"], params["Key"], self.store.file(params["Bucket"], params["Key"])
        )
        return {"CopyObjectResult": {"ETag": etag, "LastModified": copied["LastModified"]}}

    def list_objects_v2(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        token = params.get("ContinuationToken")
        after = params.get("StartAfter", "")
        if token:
            try:
                after = max(after, base64.urlsafe_b64decode(token.encode()).decode())
            except (ValueError, UnicodeDecodeError) as exc:
                raise ServiceError("InvalidArgument", "The continuation token provided is incorrect") from exc
        page = self._list(params, after, owner=bool(params.get("FetchOwner")))
        encoding = params.get("EncodingType")
        result: dict[str, Any] = {
            **page.result(encoding),
            "Name": params["Bucket"],
            "KeyCount": len(page.contents) + len(page.prefixes),
        }
        if token:
            result["ContinuationToken"] = token
        if "StartAfter" in params:
            result["StartAfter"] = _encode(params["StartAfter"], encoding)
        if page.truncated and page.last:
            result["NextContinuationToken"] = base64.urlsafe_b64encode(page.last.encode()).decode()
        return result

    def list_objects(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        page = self._list(params, params.get("Marker", ""), owner=True)
        encoding = params.get("EncodingType")
        result: dict[str, Any] = {
            **page.result(encoding),
            "Name": params["Bucket"],
            "Marker": _encode(params.get("Marker", ""), encoding),
        }
        if page.truncated and page.last and params.get("Delimiter"):
            result["NextMarker"] = _encode(page.last, encoding)
        return result

    def _list(self, params: dict[str, Any], after: str, *, owner: bool) -> _ListPage:
        """One page: the walk reads folders only as far as the page goes, and metadata (one
        stat and one sidecar read) only for the objects on it. ``owner``: each object names
        its owner (ListObjects always, ListObjectsV2 when asked with FetchOwner)."""
        prefix = params.get("Prefix", "")
        delimiter = params.get("Delimiter", "")
        max_keys = params.get("MaxKeys", 1000)
        if not 0 <= max_keys <= MAX_KEYS_ARGUMENT:
            raise ServiceError(
                "InvalidArgument", f"Argument maxKeys must be an integer between 0 and {MAX_KEYS_ARGUMENT}"
            )
        bucket = params["Bucket"]
        self.store.require_bucket(bucket)
        page = _ListPage(prefix, delimiter, max_keys)
        if max_keys == 0:
            return page  # S3 answers an empty page that is not truncated
        for item in self.store.objects.walk(bucket, prefix, after=after, delimiter=delimiter):
            if item.common_prefix:
                if not page.add_prefix(item.name):
                    break
                continue
            if page.full():
                if (self.store.root / bucket / item.name).is_file():
                    page.truncated = True  # an object is left for the next page
                    break
                continue
            entry = self.store.listed(bucket, item.name)
            if entry is not None:
                page.add_object({**entry, "Owner": _OWNER} if owner else entry)
        return page

    # -- multipart ---------------------------------------------------------------------------
    def _upload_dir(self, upload_id: str, bucket: str, key: str) -> Path:
        """The state of an upload this server created; any other id names nothing."""
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise ServiceError("NoSuchUpload", "The specified upload does not exist", 404)
        path = self.store.uploads_dir / upload_id
        try:
            record = json.loads((path / "upload.json").read_text())
        except (OSError, ValueError) as exc:
            raise ServiceError(
                "NoSuchUpload", f"The specified upload does not exist: {upload_id}", 404
            ) from exc
        if record["Bucket"] != bucket or record["Key"] != key:
            raise ServiceError("NoSuchUpload", f"The specified upload does not exist: {upload_id}", 404)
        return path

    def create_multipart_upload(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        _refuse_unsupported(params)
        bucket, key = params["Bucket"], params["Key"]
        self.store.require_bucket(bucket)
        self.store.uri(bucket, key)
        upload_id = uuid.uuid4().hex
        path = self.store.uploads_dir / upload_id
        path.mkdir(parents=True)
        record = {"Bucket": bucket, "Key": key, "attributes": _attributes(params)}
        (path / "upload.json").write_text(json.dumps(record))
        result = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        if params.get("ChecksumAlgorithm"):
            result["ChecksumAlgorithm"] = params["ChecksumAlgorithm"]
        return result

    def upload_part(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        path = self._upload_dir(params["UploadId"], params["Bucket"], params["Key"])
        data = _body_bytes(params.get("Body"))
        verify_checksums(params, data)
        number = params["PartNumber"]
        if not 1 <= number <= 10000:
            raise ServiceError("InvalidArgument", "Part number must be an integer between 1 and 10000")
        (path / f"{number:05d}.part").write_bytes(data)
        return {"ETag": f'"{hashlib.md5(data).hexdigest()}"'}

    def complete_multipart_upload(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        bucket, key = params["Bucket"], params["Key"]
        path = self._upload_dir(params["UploadId"], bucket, key)
        parts = params.get("MultipartUpload", {}).get("Parts", [])
        if not parts:
            raise ServiceError("MalformedXML", "The XML you provided did not list any part")
        numbers = [p["PartNumber"] for p in parts]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise ServiceError("InvalidPartOrder", "The list of parts was not in ascending order")
        chunks, digests = [], []
        for part in parts:
            part_file = path / f"{part['PartNumber']:05d}.part"
            if not part_file.is_file():
                raise ServiceError("InvalidPart", f"part {part['PartNumber']} was not uploaded")
            data = part_file.read_bytes()
            digest = hashlib.md5(data).digest()
            if part.get("ETag") and part["ETag"].strip('"') != digest.hex():
                raise ServiceError("InvalidPart", f"part {part['PartNumber']} has a different ETag")
            chunks.append(data)
            digests.append(digest)
        record = json.loads((path / "upload.json").read_text())
        etag = f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(parts)}"'
        self.store.put(bucket, key, b"".join(chunks), record["attributes"], etag=etag)
        shutil.rmtree(path, ignore_errors=True)
        return {"Location": f"/{bucket}/{quote(key)}", "Bucket": bucket, "Key": key, "ETag": etag}

    def abort_multipart_upload(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        path = self._upload_dir(params["UploadId"], params["Bucket"], params["Key"])
        shutil.rmtree(path, ignore_errors=True)
        return {}


class _ListPage:
    """One page of a listing: objects and common prefixes up to MaxKeys, and whether more follow."""

    def __init__(self, prefix: str, delimiter: str, max_keys: int) -> None:
        self.prefix, self.delimiter, self.max_keys = prefix, delimiter, max_keys
        self.contents: list[dict[str, Any]] = []
        self.prefixes: list[str] = []
        self.truncated = False
        self.last = ""

    def full(self) -> bool:
        return len(self.contents) + len(self.prefixes) >= self.max_keys

    def add_object(self, entry: dict[str, Any]) -> None:
        self.contents.append(entry)
        self.last = entry["Key"]

    def add_prefix(self, prefix: str) -> bool:
        """False (and the page truncated) if it is full: the prefix goes on the next page."""
        if self.full():
            self.truncated = True
            return False
        self.prefixes.append(prefix)
        self.last = prefix
        return True

    def result(self, encoding: str | None) -> dict[str, Any]:
        contents = [{**c, "Key": _encode(c["Key"], encoding)} for c in self.contents]
        result: dict[str, Any] = {
            "IsTruncated": self.truncated,
            "Prefix": _encode(self.prefix, encoding),
            "MaxKeys": self.max_keys,
            "CommonPrefixes": [{"Prefix": _encode(p, encoding)} for p in self.prefixes],
        }
        if contents:
            result["Contents"] = contents
        if self.delimiter:
            result["Delimiter"] = _encode(self.delimiter, encoding)
        if encoding:
            result["EncodingType"] = encoding
        return result


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    return bytes(body)


def _parse_range(header: str, size: int) -> tuple[int, int]:
    match = _RANGE.match(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        raise ServiceError("InvalidRange", f"unsupported Range {header!r}", 416)
    first, last = _position(match.group(1)), _position(match.group(2))
    if first is None:
        start, end = max(size - (last or 0), 0), size - 1
    else:
        start, end = first, min(last, size - 1) if last is not None else size - 1
    if start >= size or start > end:
        raise ServiceError("InvalidRange", "The requested range is not satisfiable", 416)
    return start, end


def _position(digits: str) -> int | None:
    if not digits:
        return None
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= _RANGE_DIGITS else 10**_RANGE_DIGITS


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _checksum_headers() -> dict[str, str]:
    shape = service_model("s3").operation_model("PutObject").input_shape
    members = shape.members.items() if shape is not None else ()
    return {
        str(member.serialization["name"]).lower(): name
        for name, member in members
        if member.serialization.get("location") == "header"
        and str(member.serialization["name"]).lower().startswith("x-amz-checksum-")
    }


_CHECKSUM_HEADERS = _checksum_headers()
"""Checksum members by header name (``x-amz-checksum-crc32`` -> ``ChecksumCRC32``), from the model."""

S3_WIRE = XmlWire(
    namespace="http://s3.amazonaws.com/doc/2006-03-01/",
    roots={
        "ListBuckets": "ListAllMyBucketsResult",
        "ListObjects": "ListBucketResult",
        "ListObjectsV2": "ListBucketResult",
        "CreateMultipartUpload": "InitiateMultipartUploadResult",
        "CompleteMultipartUpload": "CompleteMultipartUploadResult",
        "DeleteObjects": "DeleteResult",
        "GetBucketLocation": "LocationConstraint",
    },
    unwrapped=frozenset({"GetBucketLocation"}),
)
"""What S3's wire adds to botocore's model: the documents' namespace and root elements."""


class S3Service(RestService):
    """The S3 wire, path-style only (a configured host name such as ``pipelines.internal`` is
    never read as a virtual-hosted bucket): aws-chunked uploads decoded, ranged reads answered
    206, objects served as their own content type."""

    def __init__(self, store: ObjectRoot, *, strict_shapes: bool = False) -> None:
        super().__init__(
            "s3",
            S3Operations(store).handlers(),
            strict_shapes=strict_shapes,
            codec=RestXmlCodec("s3", S3_WIRE),
        )

    def prepare_body(self, request: Any, body: bytes) -> bytes:
        if not body or not is_aws_chunked(request.headers):
            return body
        decoded, trailers = decode_aws_chunked(body)
        declared = request.headers.get("x-amz-decoded-content-length")
        if declared is not None and declared.strip() != str(len(decoded)):
            raise ServiceError(
                "IncompleteBody",
                f"the aws-chunked body holds {len(decoded)} bytes, not the {declared} "
                "x-amz-decoded-content-length declares",
            )
        # A trailing checksum is the checksum header sent after the data: checked the same way.
        verify_checksums(
            {_CHECKSUM_HEADERS[name]: value for name, value in trailers.items() if name in _CHECKSUM_HEADERS},
            decoded,
        )
        return decoded

    def finish(
        self, operation: OperationModel, result: dict[str, Any], response: HttpResponse
    ) -> HttpResponse:
        if operation.name in ("GetObject", "HeadObject"):
            # The payload's own type (the ContentType member), never an XML type.
            response.headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
            response.headers["Content-Type"] = result["ContentType"]
            # An object is the user's data, never a page of this origin: a stored HTML file
            # opened in a browser runs sandboxed (an opaque origin), so it cannot call the API.
            response.headers["Content-Security-Policy"] = "sandbox"
            response.headers["X-Content-Type-Options"] = "nosniff"
        if operation.name == "GetObject" and "ContentRange" in result:
            response.status = 206
        return response
