"""The cloud store: the Store protocol over two DynamoDB tables, every transition one transaction.

Every record is a JSON ``body`` (the same pydantic dump the SQLite store keeps); the attributes
beside it are only what keys, indexes and conditions need. The design is documented in
docs/dynamodb.md; in short:

State table (``pk``/``sk`` strings, GSI ``gsi1`` and ``gsi2`` on ``gsiNpk``/``gsiNsk``, TTL ``expiresAt``):

================================  ======================  =====================================
item                              pk / sk                 index keys and other attributes
================================  ======================  =====================================
pipeline                          PIPELINE#<arn> / #META  gsi1 PIPELINES / <created>#<name>; v
pipeline last run                 PIPELINE#<arn> /        at (LastRunTime; one small update per start);
                                  #LAST_RUN               written with the pipeline, deleted with it
pipeline version                  PIPELINE#<arn> /
                                  VERSION#<id, 10 digits>
execution                         EXECUTION#<id> / #META  v, st; the outbox (below)
execution listing entry           EXECUTION#<id> /        gsi1 PIPELINE#<arn>#EXECUTIONS, gsi2
                                  #LISTING                EXECUTIONS (both <created>#<id>);
                                                          written once, with the execution
execution definition snapshot     EXECUTION#<id> /        written once, with the execution
                                  #DEFINITION
step                              EXECUTION#<id> /        v, st
                                  STEP#<name>
active execution marker           ACTIVE_EXECUTIONS /     exists while Executing or Stopping
                                  <created>#<id>
callback token                    CALLBACK#<token> / #META  expiresAt
experiment / trial                EXPERIMENT#, TRIAL#     gsi1 by parent, gsi2 every trial
                                  / #META
run (trial component)             TRIAL#<trial> /         gsi2 every run (runs written before
                                  COMPONENT#<name>        this layout: TRIAL_COMPONENT#<name>
                                                          with gsi1 TRIAL#<trial>#COMPONENTS)
idempotency record                IDEMPOTENCY#<op>#<token>  expiresAt
driver lease                      LEASE#<execution id>    owner, heartbeatAt
runtime task token                TASK_TOKEN#<key>        token, expiresAt (cloud runtime only)
tracking warning                  TRACKING_WARNINGS#<id>  one per dropped MLflow write; outside
                                  / <at>#<ns>#<random>    the execution's partition, so
                                                          ``load_state`` never reads them
outbox (unpublished events of     on the execution item:  o<version> (the events, compressed),
one transition)                   EXECUTION#<id> / #META  c<version> (claimant, claimed at)
================================  ======================  =====================================

Cache table: ``pk`` = ``<pipeline>#<cache key>``, ``sk`` = ``<completed>#<execution id>#<step>``,
``expiresAt`` = completion + ``cache_ttl``; the newest entry is one Query in reverse order.

One execution's records share a partition, so ``load_state`` is a single strongly consistent
Query (of everything but the definition snapshot, which never changes and is read once per
container), and it is memoised by execution version exactly as the SQLite store does: a state
whose version still matches one cheap GetItem is what the full read would return.

Every transition is one TransactWriteItems: the execution item is conditional on its version,
each step item on its own version (or on not existing), inserted tokens and idempotency records
on not existing. Any lost condition, or a conflicting concurrent transaction, is a StaleWrite
and nothing is written. Experiment, trial and run records are insert-if-absent updates; they,
and cache entries, ride in the same transaction unless it would exceed DynamoDB's 100 actions,
in which case they are written right after it (idempotently).

DeletePipeline is one transaction too when the pipeline's items fit one; a pipeline with more
versions loses its pipeline item first and the rest after, in an order that lets the next
CreatePipeline of the name clear what a crash left (docs/dynamodb.md, "Deleting a pipeline").

Items stay far below DynamoDB's 400 KB: a body larger than ``inline_limit`` is stored in S3
(content-addressed, so a retried write is harmless) and the item keeps a ``ref`` to it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import time
import uuid
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel

from pipelines import aws
from pipelines.errors import ValidationError
from pipelines.objects.base import ObjectStore
from pipelines.store.base import (
    ACTIVE_EXECUTION_STATUSES,
    MAX_CACHED_STATES,
    TERMINAL_EXECUTION_STATUSES,
    CacheEntry,
    CallbackTokenRecord,
    ExecutionRecord,
    ExecutionState,
    ExperimentRecord,
    IdempotencyRecord,
    LeaseRecord,
    ListQuery,
    OutboxRecord,
    Page,
    PipelineRecord,
    PipelineVersionRecord,
    PipelineWrite,
    RecordNotFound,
    StaleWrite,
    StepRecord,
    Store,
    TrackingWarningRecord,
    Transition,
    TrialComponentRecord,
    TrialRecord,
    decode_token,
    encode_token,
    pipeline_key,
    step_listing_key,
    timestamp,
)
from pipelines.store.mapping import dump, load, parse_timestamp

R = TypeVar("R", bound=BaseModel)
N = TypeVar("N", ExperimentRecord, TrialRecord, TrialComponentRecord)
Item = dict[str, Any]

TTL_ATTRIBUTE = "expiresAt"
MAX_TRANSACTION_ACTIONS = 100
DEFAULT_INLINE_LIMIT = 32 * 1024
"""Bodies above this go to S3: 100 transaction actions x 32 KB stays under DynamoDB's 4 MB."""
MAX_INLINE_WITHOUT_OFFLOAD = 350 * 1024
DEFAULT_COMPRESS_ABOVE = 512
"""Bodies above this many bytes are stored zlib-compressed (binary ``bodyz``)."""
DEFAULT_CACHE_TTL = timedelta(days=400)
DEFAULT_CALLBACK_TTL = timedelta(days=366)
"""A callback token outlives any Standard state machine execution (at most one year)."""
DEFAULT_IDEMPOTENCY_TTL = timedelta(days=30)
"""How long a ClientRequestToken replays its first outcome. Clients retry within minutes; past
this the record expires (DynamoDB TTL), so the table does not grow by one item per call."""

TRANSITION_RECORD_LIMIT = 90
"""The most step and token records one transition writes: a transaction holds 100 items, and
the execution's own items (the execution, which also holds the decision's status events, its
listing entry, its active marker or its run, the request's idempotency record) ride along."""

_META = "#META"
_DEFINITION = "#DEFINITION"
_DEFINITION_PREFIX = "DEFINITION#"
_DEFINITION_ATTRIBUTE = "dh"
_LISTING = "#LISTING"
_LAST_RUN = "#LAST_RUN"
_COMPONENT = "COMPONENT#"
_ACTIVE = "ACTIVE_EXECUTIONS"
_RUN = "RUN#"
_SORT_LOW = "0"  # below every timestamp
_SORT_HIGH = "~"  # above every timestamp (0x7E sorts after digits, letters and '#')
_ORPHAN_MARKER_AGE = timedelta(hours=1)
_MAX_REASON = 32_768  # SendTaskSuccess output and a Fail state's Cause stay far below their limits
_STALE_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_EVENTS_PREFIX = "o"
_CLAIM_PREFIX = "c"
_OUTBOX_ATTRIBUTE = re.compile(r"^o(\d+)$")
"""The outbox on the execution item: ``o<version>`` holds the status events of the transition
that wrote that version, ``c<version>`` its claim; they leave the item once published."""
_REWRITTEN = ("body", "bodyz", "ref", _DEFINITION_ATTRIBUTE, "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
"""The execution item's attributes a rewrite removes when the new item lacks them (an update
keeps whatever it does not name: the outbox attributes must stay, these must not)."""
_EVENTS_DICTIONARY = (
    b'"stepStartTime":"","stepEndTime":"","failureReason":"","cacheHitResult":{"sourcePipelineExecutionArn"'
    b':""},"metadata":{"processingJob":{"arn":""},"trainingJob":{"arn":""},"transformJob":{"arn":""},'
    b'"model":{"arn":""},"registerModel":{"arn":""},"condition":{"outcome":"True"}},"stepType":"Processing",'
    b'"Training","Transform","Model","RegisterModel","Condition","previousStepStatus":"Starting",'
    b'"currentStepStatus":"Executing","Succeeded","Failed","Stopping","Stopped","eventId":"",'
    b'"pipelineExecutionDisplayName":"","currentPipelineExecutionStatus":"Executing",'
    b'"previousPipelineExecutionStatus":"","executionStartTime":"","executionEndTime":"",'
    b'"pipelineExecutionDescription":"","pipelineArn":"arn:aws:sagemaker:us-east-1:000000000000:pipeline/",'
    b'"pipelineExecutionArn":"arn:aws:sagemaker:us-east-1:000000000000:pipeline//execution/",'
    b'"detail-type":"SageMaker Model Building Pipeline Execution Status Change",'
    b'{"version":"0","id":"","detail-type":"SageMaker Model Building Pipeline Execution Step Status Change",'
    b'"source":"selfhosted.sagemaker.pipelines","account":"000000000000","time":"2026-01-01T00:00:00Z",'
    b'"region":"us-east-1","resources":["arn:aws:sagemaker:us-east-1:000000000000:pipeline/",'
    b'"arn:aws:sagemaker:us-east-1:000000000000:pipeline//execution/"],"detail":{"stepName":"'
)
"""A preset zlib dictionary of what every status event repeats (member names, detail-types,
statuses, ARN prefixes): a decision's few events then compress to a few hundred bytes, so they
fit beside the execution in the KB its write is billed for anyway. Stored events name the
dictionary they were packed with (the format byte): never edit it, add another."""
_EVENTS_ONLY = b"\x01"  # a JSON list of the events
_EVENTS_AND_LAUNCHES = b"\x02"  # {"e": the events, "l": the launched (step, attempt) pairs}
_DELETE_ATTEMPTS = 5
"""DeletePipeline rereads and tries again this often when an UpdatePipeline keeps changing it."""


class ItemTooLarge(ValidationError):
    """A record is too large for a DynamoDB item and no S3 offload is configured."""


@dataclass(frozen=True)
class TableNames:
    state: str
    cache: str


class BodyCodec:
    """Record bodies as item attributes: inline text, zlib-compressed binary once larger than
    ``compress_above`` (DynamoDB bills writes per KB, x2 inside a transaction, and record JSON
    compresses several times over), or a pointer to S3 when even that is too large."""

    def __init__(
        self,
        objects: ObjectStore | None = None,
        base_uri: str | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        compress_above: int = DEFAULT_COMPRESS_ABOVE,
    ) -> None:
        if (objects is None) != (base_uri is None):
            raise ValueError("offloading needs both an object store and a base s3:// URI")
        self.objects = objects
        self.base_uri = base_uri.rstrip("/") if base_uri else None
        self.inline_limit = inline_limit if objects is not None else MAX_INLINE_WITHOUT_OFFLOAD
        self.compress_above = compress_above

    def encode(self, text: str, what: str) -> Item:
        data = text.encode()
        if len(data) <= self.compress_above:
            return {"body": {"S": text}}
        packed = zlib.compress(data, 6)
        if len(packed) <= self.inline_limit:
            return {"bodyz": {"B": packed}}
        if self.objects is None or self.base_uri is None:
            raise ItemTooLarge(
                f"{what} is {len(data)} bytes, over what a DynamoDB item holds; configure the S3 "
                "payload bucket (PAYLOAD_BUCKET) so large bodies are offloaded"
            )
        uri = f"{self.base_uri}/{hashlib.sha256(data).hexdigest()}.json"
        self.objects.put(uri, data)
        return {"ref": {"S": uri}}

    def decode(self, item: Mapping[str, Any]) -> str:
        if "body" in item:
            return str(item["body"]["S"])
        if "bodyz" in item:
            return zlib.decompress(item["bodyz"]["B"]).decode()
        if self.objects is None:
            raise ItemTooLarge(
                f"item {item['pk']['S']}/{item['sk']['S']} points to S3 but no object store is set"
            )
        return self.objects.get(item["ref"]["S"]).decode()


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def _key(pk: str, sk: str = _META) -> Item:
    return {"pk": _s(pk), "sk": _s(sk)}


def _epoch(value: datetime) -> int:
    return int(value.timestamp())


def definition_digest(text: str) -> str:
    """The key a definition text is kept under: its SHA-256, base64url without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")


def _definition_pk(digest: str) -> str:
    return f"{_DEFINITION_PREFIX}{digest}"


def _definition_ref(meta: Item) -> tuple[str, str]:
    """The key of the item holding an execution item's definition: the content-addressed one
    its digest names, or (written before digests) the snapshot in the execution's partition."""
    if _DEFINITION_ATTRIBUTE in meta:
        return _definition_pk(meta[_DEFINITION_ATTRIBUTE]["S"]), _META
    return meta["pk"]["S"], _DEFINITION


def _pipeline_pk(arn: str) -> str:
    """Pipelines are keyed by ARN (store/base.py ``pipeline_key``): names are per account."""
    return f"PIPELINE#{pipeline_key(arn)}"


def _execution_pk(execution_id: str) -> str:
    return f"EXECUTION#{execution_id}"


def pack_outbox(events: Sequence[Mapping[str, Any]], launched: Sequence[tuple[str, int]]) -> bytes:
    """A transition's status event envelopes and launches as stored in the outbox (format byte,
    then zlib with the preset dictionary; the step names of the launches are in the events
    already, so they cost next to nothing)."""
    packer = zlib.compressobj(9, zdict=_EVENTS_DICTIONARY)
    body = {"e": list(events), "l": [list(a) for a in launched]}
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return _EVENTS_AND_LAUNCHES + packer.compress(text) + packer.flush()


def unpack_outbox(data: bytes) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """The events and launches :func:`pack_outbox` packed."""
    if data[:1] not in (_EVENTS_ONLY, _EVENTS_AND_LAUNCHES):
        raise ValueError(f"unknown outbox events format {data[:1]!r}")
    unpacker = zlib.decompressobj(zdict=_EVENTS_DICTIONARY)
    body = json.loads(unpacker.decompress(data[1:]) + unpacker.flush())
    if data[:1] == _EVENTS_ONLY:
        return body, []
    return body["e"], [(str(step), int(attempt)) for step, attempt in body["l"]]


def _claim_prefix(claimant: str, claimed_at: datetime) -> str:
    return f"{timestamp(claimed_at)} {claimant} "


def _claim_value(claimant: str, claimed_at: datetime, held: bool) -> Item:
    """``c<version>``: ``<claimed at> <claimant> <1 while held, else 0>`` (a claim is a
    compare-and-swap on its prefix)."""
    return _s(_claim_prefix(claimant, claimed_at) + ("1" if held else "0"))


def _outbox_versions(item: Item) -> list[int]:
    """The versions whose events an execution item still holds, oldest first."""
    return sorted(int(m.group(1)) for m in map(_OUTBOX_ATTRIBUTE.match, item) if m is not None)


def _version_sk(version_id: int) -> str:
    return f"VERSION#{version_id:010d}"


def _step_sk(step_name: str) -> str:
    return f"STEP#{step_name}"


def _sort_key(created: datetime, ident: str) -> str:
    return f"{timestamp(created)}#{ident}"


def task_token_key(kind: str, *parts: str | int) -> str:
    """The key of a runtime task token, e.g. ``task_token_key("finish", execution_id, run)``."""
    return "#".join([kind, *(str(p) for p in parts)])


class DynamoDBStore(Store):
    """See the module docstring. ``client`` is a shared low-level DynamoDB client; pass
    ``objects`` and ``payload_uri`` (``s3://bucket/prefix``) to offload large bodies to S3."""

    transition_limit: int | None = TRANSITION_RECORD_LIMIT

    def __init__(
        self,
        tables: TableNames,
        *,
        client: Any | None = None,
        region: str | None = None,
        objects: ObjectStore | None = None,
        payload_uri: str | None = None,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        cache_ttl: timedelta = DEFAULT_CACHE_TTL,
        callback_ttl: timedelta = DEFAULT_CALLBACK_TTL,
        idempotency_ttl: timedelta = DEFAULT_IDEMPOTENCY_TTL,
    ) -> None:
        self.tables = tables
        self.client = client if client is not None else aws.client("dynamodb", region)
        self.codec = BodyCodec(objects, payload_uri, inline_limit)
        self.cache_ttl = cache_ttl
        self.callback_ttl = callback_ttl
        self.idempotency_ttl = idempotency_ttl
        super().__init__()
        self._snapshots: dict[tuple[str, str], str] = {}  # definition texts by the key of their item
        self._refs: dict[str, tuple[str, str]] = {}  # execution id -> the key of its definition's item
        self._unlisted: set[str] = set()
        self._experiments: set[str] = set()  # known to exist (they are never deleted)
        self._runs: dict[tuple[str, str], None] = {}  # runs this process recorded (oldest first)

    def close(self) -> None:
        with self._states_lock:
            self._states.clear()

    # -- pipelines ------------------------------------------------------------------------------

    def _write_pipeline(self, write: PipelineWrite) -> None:
        pipeline = self._pipeline_item(write.pipeline)
        if write.expected_version is None:
            # a new pipeline gets its last-run item at once, without a time: a start only ever
            # updates that item (record_last_run), so it cannot bring back a deleted pipeline's;
            # the put also replaces one a deleted pipeline of the ARN left by a crash
            actions = [
                self._put(pipeline, "attribute_not_exists(pk)"),
                {
                    "Put": {
                        "TableName": self.tables.state,
                        "Item": _key(_pipeline_pk(write.pipeline.arn), _LAST_RUN),
                    }
                },
            ]
        else:
            actions = [self._put(pipeline, "v = :expected", {":expected": _n(write.expected_version)})]
        if write.new_version is not None:
            actions.append(self._put(self._version_item(write.new_version), "attribute_not_exists(pk)"))
        if write.changed_version is not None:
            actions.append(self._put(self._version_item(write.changed_version), "attribute_exists(pk)"))
        try:
            self._transact(actions)
        except StaleWrite:
            if write.expected_version is not None or not self._clear_deleted(write.pipeline.arn):
                raise
            self._transact(actions)  # the name was free but for a deleted pipeline's leftovers

    def delete_pipeline(
        self, arn: str, *, expected_version: int | None = None, request: IdempotencyRecord | None = None
    ) -> None:
        """The pipeline item, its last-run item, the request's token and every other item of
        its partition (versions) in one transaction, on condition that the pipeline is unchanged
        since they were read (an UpdatePipeline in between may have added a version). A pipeline
        with more versions than a transaction holds loses its pipeline and last-run items (with
        the token) first, at once for every reader, then the rest in :meth:`_sweep_deleted`'s
        crash-safe order; what a crash there leaves is cleared by the next CreatePipeline of the
        name, or DeletePipeline."""
        pk = _pipeline_pk(arn)
        token = (
            []
            if request is None
            else [self._put(self._idempotency_item(request), "attribute_not_exists(pk)")]
        )
        for _ in range(_DELETE_ATTEMPTS):
            items = self._partition_keys(pk)
            meta = next((i for i in items if i["sk"]["S"] == _META), None)
            rest = [{"pk": i["pk"], "sk": i["sk"]} for i in items if i["sk"]["S"] not in (_META, _LAST_RUN)]
            if meta is None:
                with contextlib.suppress(StaleWrite):  # a new pipeline took the name meanwhile
                    if items:
                        self._sweep_deleted(pk, [{"pk": i["pk"], "sk": i["sk"]} for i in items])
                raise RecordNotFound(f"Pipeline {arn} does not exist.")
            if expected_version is not None and int(meta["v"]["N"]) != expected_version:
                raise StaleWrite(f"Pipeline {arn} is not at version {expected_version}.")
            # the last-run item goes in the first transaction whether it was read or not: a start
            # that makes one does so on condition that the pipeline item exists (record_last_run)
            first = [
                {
                    "Delete": {
                        "TableName": self.tables.state,
                        "Key": _key(pk),
                        "ConditionExpression": "v = :v",
                        "ExpressionAttributeValues": {":v": meta["v"]},
                    }
                },
                self._delete(_key(pk, _LAST_RUN)),
                *token,
            ]
            whole = len(first) + len(rest) <= MAX_TRANSACTION_ACTIONS
            try:
                self._transact([*first, *map(self._delete, rest)] if whole else first)
            except StaleWrite:
                continue
            if not whole:
                self._sweep_deleted(pk, rest)
            return
        raise StaleWrite(f"Pipeline {arn} changed while it was being deleted; try again.")

    def _clear_deleted(self, arn: str) -> bool:
        """Delete what a deleted pipeline of ``arn`` left behind; False when the pipeline
        exists or nothing was left."""
        items = self._partition_keys(_pipeline_pk(arn))
        if not items or any(i["sk"]["S"] == _META for i in items):
            return False
        self._sweep_deleted(_pipeline_pk(arn), [{"pk": i["pk"], "sk": i["sk"]} for i in items])
        return True

    def _partition_keys(self, pk: str) -> list[Item]:
        """The keys (and ``v``) of every item of a partition, without their bodies."""
        return list(
            self._query_all(
                TableName=self.tables.state,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": _s(pk)},
                ProjectionExpression="pk, sk, v",
                ConsistentRead=True,
            )
        )

    def _sweep_deleted(self, pk: str, keys: list[Item]) -> None:
        """Delete the items a deleted pipeline's partition still holds, newest version first,
        each transaction on condition that no pipeline took the ARN meanwhile. The first version
        goes in the last transaction: until then a CreatePipeline of the name fails on it (and
        clears the rest itself), so no crash lets a new pipeline see a deleted one's versions."""
        ordered = sorted(keys, key=lambda key: str(key["sk"]["S"]), reverse=True)
        absent = {
            "ConditionCheck": {
                "TableName": self.tables.state,
                "Key": _key(pk),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        size = MAX_TRANSACTION_ACTIONS - 1
        for start in range(0, len(ordered), size):
            self._transact([absent, *map(self._delete, ordered[start : start + size])])

    def record_last_run(self, arn: str, started_at: datetime) -> None:
        """A small item of its own (one write unit, no index), not a rewrite of the pipeline
        item with its definition and index entry: every start moves it. It is only ever updated,
        never created, by a start (CreatePipeline writes it), so a start racing DeletePipeline
        cannot recreate a deleted pipeline's: the update finds no item and writes nothing."""
        key = _key(_pipeline_pk(arn), _LAST_RUN)
        at = _s(timestamp(started_at))
        for _ in range(_DELETE_ATTEMPTS):
            if self._conditional(
                self.client.update_item,
                Key=key,
                UpdateExpression="SET #at = :at",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#at) OR #at < :at)",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": at},
            ) or self._exists(key):  # moved; or a later start already moved it further
                return
            # no last-run item: a pipeline created before CreatePipeline wrote one and never
            # run, or no pipeline at all; make it only while the pipeline item exists
            try:
                self._transact(
                    [
                        {
                            "ConditionCheck": {
                                "TableName": self.tables.state,
                                "Key": _key(_pipeline_pk(arn)),
                                "ConditionExpression": "attribute_exists(pk)",
                            }
                        },
                        self._put({**key, "at": at}, "attribute_not_exists(pk)"),
                    ]
                )
                return
            except StaleWrite:
                if not self._exists(_key(_pipeline_pk(arn))):
                    return  # deleted (or never created): nothing of it is written
                # another start made the item meanwhile: move it (the loop's first write)

    def get_pipeline(self, arn: str) -> PipelineRecord | None:
        # the pipeline item and its last-run item ("#LAST_RUN" < "#META"), in one Query
        items = {item["sk"]["S"]: item for item in self._query_partition(_pipeline_pk(arn), "#")}
        meta = items.get(_META)
        if meta is None:
            return None
        return _with_last_run(self._record(PipelineRecord, meta), items.get(_LAST_RUN))

    def list_pipelines(self, query: ListQuery) -> Page[PipelineRecord]:
        records = [self._record(PipelineRecord, i) for i in self._query_index("gsi1", "PIPELINES")]
        last_runs = self._batch_get([_key(_pipeline_pk(r.arn), _LAST_RUN) for r in records])
        records = [_with_last_run(r, last_runs.get((_pipeline_pk(r.arn), _LAST_RUN))) for r in records]
        if query.name_prefix:
            prefix = query.name_prefix.lower()
            records = [r for r in records if r.name.lower().startswith(prefix)]
        by_name = query.sort_by == "Name"
        return _page_in_memory(
            "pipelines",
            [(r.name if by_name else timestamp(r.created_at), r.arn, r.created_at, r) for r in records],
            query,
        )

    def get_pipeline_version(self, arn: str, version_id: int) -> PipelineVersionRecord | None:
        item = self._get(_key(_pipeline_pk(arn), _version_sk(version_id)))
        return self._record(PipelineVersionRecord, item) if item else None

    def list_pipeline_versions(self, arn: str, query: ListQuery) -> Page[PipelineVersionRecord]:
        records = [
            self._record(PipelineVersionRecord, i)
            for i in self._query_partition(_pipeline_pk(arn), "VERSION#")
        ]
        return _page_in_memory(
            f"versions:{pipeline_key(arn)}",
            [(timestamp(r.created_at), str(r.version_id), r.created_at, r) for r in records],
            query,
        )

    def _pipeline_item(self, pipeline: PipelineRecord) -> Item:
        return {
            **_key(_pipeline_pk(pipeline.arn)),
            "gsi1pk": _s("PIPELINES"),
            "gsi1sk": _s(_sort_key(pipeline.created_at, pipeline.name)),
            "v": _n(pipeline.version),
            **self.codec.encode(dump(pipeline), f"pipeline {pipeline.name}"),
        }

    def _version_item(self, version: PipelineVersionRecord) -> Item:
        return {
            **_key(_pipeline_pk(version.pipeline_arn), _version_sk(version.version_id)),
            **self.codec.encode(
                dump(version), f"pipeline {version.pipeline_name} version {version.version_id}"
            ),
        }

    # -- executions -----------------------------------------------------------------------------

    def _commit(self, transition: Transition) -> None:
        execution = transition.execution
        # Idempotent writes around the transaction, at half its price: ``before`` puts items that
        # only a new execution refers to (a start that then loses leaves items no reader counts),
        # ``after`` deletes the active marker of an execution that just ended (a crash in between
        # leaves a marker list_unfinished_executions skips and removes).
        before: list[Item] = []
        after: list[Item] = []
        core = self._execution_actions(transition, before, after)
        for write in transition.steps:
            condition = (
                ("attribute_not_exists(pk)", {})
                if write.expected_version is None
                else ("v = :expected", {":expected": _n(write.expected_version)})
            )
            core.append(self._put(self._step_item(write.record), condition[0], condition[1]))
        for token in transition.callback_tokens:
            core.append(self._put(self._callback_item(token), "attribute_not_exists(pk)"))
        for token_value in transition.release_callback_tokens:
            core.append({"Delete": {"TableName": self.tables.state, "Key": _key(f"CALLBACK#{token_value}")}})
        if transition.idempotency is not None:
            core.append(self._put(self._idempotency_item(transition.idempotency), "attribute_not_exists(pk)"))
        side = self._side_actions(transition)
        if len(core) > MAX_TRANSACTION_ACTIONS:
            raise ValidationError(
                f"Pipeline execution {execution.execution_id}: one decision changes {len(core)} records, more "
                f"than a DynamoDB transaction holds ({MAX_TRANSACTION_ACTIONS})"
            )
        together = len(core) + len(side) <= MAX_TRANSACTION_ACTIONS
        self._batch_write(before)
        if transition.expected_version is None:  # its definition's item exists now
            self._keep_definition(self._refs_of(execution.execution_id), execution.definition)
        try:
            self._transact(core + side if together else core)
        except StaleWrite:
            raise StaleWrite(f"Pipeline execution {execution.execution_id} changed concurrently.") from None
        if not together:
            for action in side:  # idempotent: if-absent updates and keyed puts
                self._write_one(action)
        self._batch_write(after)

    def _definition_write(self, text: str) -> tuple[str, list[Item]]:
        """The digest a new execution's definition is kept under, and the put that stores it
        when no execution stored that text before (content-addressed: one item per distinct
        text, so a start that then loses leaves only an item a later start of the text uses)."""
        digest = definition_digest(text)
        key = (_definition_pk(digest), _META)
        with self._states_lock:
            known = key in self._snapshots
        if not known and self._exists(_key(*key)):
            self._keep_definition(key, text)
            known = True
        if known:
            return digest, []
        item = {**_key(*key), **self.codec.encode(text, f"definition {digest}")}
        return digest, [{"PutRequest": {"Item": item}}]

    def _execution_actions(self, transition: Transition, before: list[Item], after: list[Item]) -> list[Item]:
        """The transaction's execution items; the idempotent writes that go around it are
        added to ``before`` and ``after``."""
        execution = transition.execution
        pk = _execution_pk(execution.execution_id)
        item = {
            **_key(pk),
            "v": _n(execution.version),
            "st": _s(execution.status),
            **self.codec.encode(dump(execution), f"execution {execution.execution_id}"),
        }
        settled: list[str] = []
        if transition.outbox is not None:
            item.update(self._outbox_attributes(transition.outbox))
            settled = [
                f"{prefix}{version}"
                for version in transition.outbox.settles
                for prefix in (_EVENTS_PREFIX, _CLAIM_PREFIX)
            ]
        active_now = execution.status in ACTIVE_EXECUTION_STATUSES
        # the status events of an execution that ends stay findable by a sweep (through its
        # marker) until they are published: delete_outbox removes the marker then
        keep_marker = transition.outbox is not None
        marker = {**_key(_ACTIVE, _sort_key(execution.created_at, execution.execution_id))}
        marker_item = {**marker, "id": _s(execution.execution_id)}
        if transition.expected_version is None:
            digest, definition_put = self._definition_write(execution.definition)
            item[_DEFINITION_ATTRIBUTE] = _s(digest)
            with self._states_lock:
                self._keep_ref(execution.execution_id, (_definition_pk(digest), _META))
            before += [*definition_put, {"PutRequest": {"Item": self._listing_item(execution)}}]
            actions = [self._put(item, "attribute_not_exists(pk)")]
            if active_now or keep_marker:
                before.append({"PutRequest": {"Item": marker_item}})
            if execution.status in TERMINAL_EXECUTION_STATUSES:
                # ended in its start decision (its first steps failed at once): the run's final
                # status is what the PipelineExecution machine reads instead of waiting
                actions.append(self._finish_run(execution))
            return actions
        definition = self._definition_attribute(execution.execution_id)
        if definition is not None:
            item[_DEFINITION_ATTRIBUTE] = definition
        actions = [
            self._rewrite(item, "v = :expected", {":expected": _n(transition.expected_version)}, settled)
        ]
        if self._unlisted_take(execution.execution_id):
            actions.append({"Put": {"TableName": self.tables.state, "Item": self._listing_item(execution)}})
        was_active = self._known_active(execution.execution_id, transition.expected_version)
        if active_now and was_active is not True:
            # an ended execution made active again (RetryPipelineExecution): in the transaction,
            # so removing a stale marker (list_unfinished_executions) cannot race with it
            actions.append({"Put": {"TableName": self.tables.state, "Item": marker_item}})
        elif not active_now and was_active is not False and not keep_marker:
            after.append({"DeleteRequest": {"Key": marker}})
        if execution.status in TERMINAL_EXECUTION_STATUSES:
            actions.append(self._finish_run(execution))
        return actions

    def _listing_item(self, execution: ExecutionRecord) -> Item:
        """The execution's entry in the two execution listings (gsi1 per pipeline, gsi2 all):
        keys only, written once with the execution. The execution item itself carries no index
        keys, so the transitions that rewrite it write no index entries."""
        order = _sort_key(execution.created_at, execution.execution_id)
        return {
            **_key(_execution_pk(execution.execution_id), _LISTING),
            "gsi1pk": _s(f"{_pipeline_pk(execution.pipeline_arn)}#EXECUTIONS"),
            "gsi1sk": _s(order),
            "gsi2pk": _s("EXECUTIONS"),
            "gsi2sk": _s(order),
        }

    def _unlisted_take(self, execution_id: str) -> bool:
        """True (once) for an execution read without a listing item: one written before listing
        items existed, whose execution item held the index keys until this rewrite drops them."""
        with self._states_lock:
            if execution_id in self._unlisted:
                self._unlisted.discard(execution_id)
                return True
        return False

    def _finish_run(self, execution: ExecutionRecord) -> Item:
        """The run item's final status, written with the terminal status: the PipelineExecution
        machine stores its task token on this item only while it has none (see
        pipelines.stepfunctions.asl), so one of the two always completes the token."""
        names = {"#status": "finalStatus", "#reason": "failureReason"}
        values: Item = {":status": _s(execution.status)}
        update = "SET #status = :status"
        if execution.failure_reason:
            values[":reason"] = _s(execution.failure_reason[:_MAX_REASON])
            update += ", #reason = :reason"
        else:
            update += " REMOVE #reason"
        return {
            "Update": {
                "TableName": self.tables.state,
                "Key": _key(_execution_pk(execution.execution_id), f"{_RUN}{execution.run}"),
                "UpdateExpression": update,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _known_active(self, execution_id: str, version: int) -> bool | None:
        """Whether the execution was active at ``version``, if the memo knows (saves a write)."""
        with self._states_lock:
            cached = self._states.get(execution_id)
        if cached is None or cached.execution.version != version:
            return None
        return cached.execution.status in ACTIVE_EXECUTION_STATUSES

    def _side_actions(self, transition: Transition) -> list[Item]:
        actions: list[Item] = [
            {"Put": {"TableName": self.tables.cache, "Item": self._cache_item(e)}}
            for e in transition.cache_entries
        ]
        for experiment in transition.experiments:
            if self._experiment_exists(experiment.name):
                continue  # every execution of a pipeline names its experiment: a read, not a write
            actions.append(
                self._insert_if_absent(
                    f"EXPERIMENT#{experiment.name}",
                    experiment,
                    gsi1=("EXPERIMENTS", _sort_key(experiment.created_at, experiment.name)),
                )
            )
        for trial in transition.trials:
            actions.append(
                self._insert_if_absent(
                    f"TRIAL#{trial.name}",
                    trial,
                    gsi1=(
                        f"EXPERIMENT#{trial.experiment_name}#TRIALS",
                        _sort_key(trial.created_at, trial.name),
                    ),
                )
            )
        return actions

    def _experiment_exists(self, name: str) -> bool:
        with self._states_lock:
            if name in self._experiments:
                return True
        found = self._exists(_key(f"EXPERIMENT#{name}"))
        if found:
            with self._states_lock:
                self._experiments.add(name)
        return found

    def _insert_if_absent(
        self,
        pk: str,
        record: BaseModel,
        *,
        sk: str = _META,
        gsi1: tuple[str, str] | None = None,
    ) -> Item:
        """INSERT OR IGNORE as an update: it never fails its transaction when the item exists."""
        values: Item = {}
        sets: list[str] = []
        if gsi1 is not None:
            values.update({":g1p": _s(gsi1[0]), ":g1s": _s(gsi1[1])})
            sets += ["gsi1pk = if_not_exists(gsi1pk, :g1p)", "gsi1sk = if_not_exists(gsi1sk, :g1s)"]
        encoded = self.codec.encode(dump(record), pk)
        for name, value in encoded.items():
            values[f":{name}"] = value
            sets.append(f"#{name} = if_not_exists(#{name}, :{name})")
        return {
            "Update": {
                "TableName": self.tables.state,
                "Key": _key(pk, sk),
                "UpdateExpression": "SET " + ", ".join(sets),
                "ExpressionAttributeNames": {f"#{name}": name for name in encoded},
                "ExpressionAttributeValues": values,
            }
        }

    def _step_item(self, record: StepRecord) -> Item:
        return {
            **_key(_execution_pk(record.execution_id), _step_sk(record.step_name)),
            "v": _n(record.version),
            "st": _s(record.status),
            **self.codec.encode(dump(record), f"step {record.step_name} of {record.execution_id}"),
        }

    def _callback_item(self, token: CallbackTokenRecord) -> Item:
        return {
            **_key(f"CALLBACK#{token.token}"),
            TTL_ATTRIBUTE: _n(_epoch(token.created_at + self.callback_ttl)),
            "body": _s(dump(token)),
        }

    def _cache_item(self, entry: CacheEntry) -> Item:
        return {
            "pk": _s(f"{pipeline_key(entry.pipeline_arn)}#{entry.cache_key}"),
            "sk": _s(f"{timestamp(entry.completed_at)}#{entry.execution_id}#{entry.step_name}"),
            TTL_ATTRIBUTE: _n(_epoch(entry.completed_at + self.cache_ttl)),
            **self.codec.encode(dump(entry), f"cache entry of step {entry.step_name}"),
        }

    def _idempotency_item(self, record: IdempotencyRecord) -> Item:
        return {
            **_key(f"IDEMPOTENCY#{record.operation}#{record.token}"),
            "body": _s(dump(record)),
            TTL_ATTRIBUTE: _n(_epoch(record.created_at + self.idempotency_ttl)),
        }

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        meta = self._get(_key(_execution_pk(execution_id)))
        return None if meta is None else self._execution(meta)

    def _execution(self, meta: Item) -> ExecutionRecord:
        found = self._executions([meta])
        if not found:
            raise RecordNotFound(f"Pipeline execution {meta['pk']['S']} has no definition.")
        return found[0]

    def _stored_version(self, execution_id: str) -> int | None:
        head = self.client.get_item(
            TableName=self.tables.state,
            Key=_key(_execution_pk(execution_id)),
            ConsistentRead=True,
            ProjectionExpression="v",
        ).get("Item")
        return None if head is None else int(head["v"]["N"])

    def _read_state(self, execution_id: str) -> ExecutionState | None:
        # Everything but a definition snapshot (executions written before definitions were
        # kept once per text have one in their partition), which never changes.
        items = list(
            self._query_all(
                TableName=self.tables.state,
                KeyConditionExpression="pk = :pk AND sk > :definition",
                ExpressionAttributeValues={
                    ":pk": _s(_execution_pk(execution_id)),
                    ":definition": _s(_DEFINITION),
                },
                ConsistentRead=True,
            )
        )
        meta = next((i for i in items if i["sk"]["S"] == _META), None)
        if meta is None:
            return None
        if "gsi1pk" in meta and not any(i["sk"]["S"] == _LISTING for i in items):
            with self._states_lock:
                self._unlisted.add(execution_id)
        steps = [self._step_record(i) for i in items if i["sk"]["S"].startswith("STEP#")]
        return ExecutionState(self._execution(meta), {record.step_name: record for record in steps})

    def _step_record(self, item: Item) -> StepRecord:
        return self._record(
            StepRecord,
            item,
            execution_id=item["pk"]["S"].removeprefix("EXECUTION#"),
            step_name=item["sk"]["S"].removeprefix("STEP#"),
            status=item["st"]["S"],
            version=int(item["v"]["N"]),
        )

    def _record(self, model: type[R], item: Item, **beside: Any) -> R:
        return load(model, self.codec.decode(item), **beside)

    def _executions(self, metas: Sequence[Item]) -> list[ExecutionRecord]:
        """Execution records from their items, with their definitions (memoised; the others in
        one BatchGetItem). An execution whose definition is missing is left out."""
        refs = {meta["pk"]["S"]: _definition_ref(meta) for meta in metas}
        with self._states_lock:
            known = {ref: self._snapshots[ref] for ref in refs.values() if ref in self._snapshots}
            for pk, ref in refs.items():
                self._keep_ref(pk.removeprefix("EXECUTION#"), ref)
        missing = sorted({ref for ref in refs.values() if ref not in known})
        for ref, item in self._batch_get([_key(*ref) for ref in missing]).items():
            known[ref] = self.codec.decode(item)
            self._keep_definition(ref, known[ref])
        executions = []
        for meta in metas:
            text = known.get(refs[meta["pk"]["S"]])
            if text is None:
                continue
            executions.append(
                self._record(
                    ExecutionRecord,
                    meta,
                    definition=text,
                    execution_id=meta["pk"]["S"].removeprefix("EXECUTION#"),
                    status=meta["st"]["S"],
                    version=int(meta["v"]["N"]),
                )
            )
        return executions

    def _definition_attribute(self, execution_id: str) -> Item | None:
        """What an execution item rewrite carries to find its definition again: the digest
        (None for an execution written before digests, whose snapshot is in its partition)."""
        with self._states_lock:
            ref = self._refs.get(execution_id)
        if ref is None:
            item = self.client.get_item(
                TableName=self.tables.state,
                Key=_key(_execution_pk(execution_id)),
                ConsistentRead=True,
                ProjectionExpression="pk, #digest",
                ExpressionAttributeNames={"#digest": _DEFINITION_ATTRIBUTE},
            ).get("Item")
            if item is None:
                return None
            ref = _definition_ref(item)
            with self._states_lock:
                self._keep_ref(execution_id, ref)
        return _s(ref[0].removeprefix(_DEFINITION_PREFIX)) if ref[0].startswith(_DEFINITION_PREFIX) else None

    def _refs_of(self, execution_id: str) -> tuple[str, str]:
        with self._states_lock:
            return self._refs[execution_id]

    def _keep_ref(self, execution_id: str, ref: tuple[str, str]) -> None:
        """Remember where an execution's definition is (call holding ``_states_lock``)."""
        self._refs[execution_id] = ref
        if len(self._refs) > MAX_CACHED_STATES * 16:
            self._refs.pop(next(iter(self._refs)))

    def _keep_definition(self, ref: tuple[str, str], text: str) -> None:
        with self._states_lock:
            self._snapshots[ref] = text
            if len(self._snapshots) > MAX_CACHED_STATES:
                self._snapshots.pop(next(iter(self._snapshots)))

    def list_executions(self, pipeline_arn: str | None, query: ListQuery) -> Page[ExecutionRecord]:
        if pipeline_arn:
            index, index_pk, listing = (
                "gsi1",
                f"{_pipeline_pk(pipeline_arn)}#EXECUTIONS",
                f"executions:{pipeline_key(pipeline_arn)}",
            )
        else:
            index, index_pk, listing = "gsi2", "EXECUTIONS", "executions:"
        entries, token = self._page_index(index, index_pk, listing, query)
        # listing entries hold keys only (an execution item written before they existed is its
        # own entry): the current execution items are one BatchGetItem. An entry whose start
        # never committed (it is written just before) has no execution item and is skipped.
        return Page(items=self._executions_by_id([i["pk"]["S"] for i in entries]), next_token=token)

    def list_unfinished_executions(self) -> list[ExecutionRecord]:
        """The executions an ``ACTIVE_EXECUTIONS`` marker names that are still active. A marker
        is put before its execution's start transaction and deleted after the one that ends it,
        so every active execution has one; one left by a crash in between is removed here."""
        markers = {_execution_pk(i["id"]["S"]): i for i in self._query_partition(_ACTIVE)}
        found = self._batch_get([_key(pk) for pk in markers])
        executions = self._executions([found[(pk, _META)] for pk in markers if (pk, _META) in found])
        by_pk = {_execution_pk(e.execution_id): e for e in executions}
        for pk, marker in markers.items():
            execution = by_pk.get(pk)
            if execution is None and (pk, _META) not in found:
                self._remove_orphan_marker(marker)
            elif (
                execution is not None
                and execution.status not in ACTIVE_EXECUTION_STATUSES
                and not _outbox_versions(found[(pk, _META)])  # its events go first (delete_outbox)
            ):
                self._remove_ended_marker(marker, execution)
        return [e for e in executions if e.status in ACTIVE_EXECUTION_STATUSES]

    def _remove_orphan_marker(self, marker: Item) -> None:
        """A marker of an execution that does not exist: its start never committed. Removed
        once older than any start still in flight (a Lambda runs 15 minutes at most)."""
        created = parse_timestamp(marker["sk"]["S"].partition("#")[0])
        if datetime.now(UTC) - created > _ORPHAN_MARKER_AGE:
            self.client.delete_item(TableName=self.tables.state, Key={"pk": marker["pk"], "sk": marker["sk"]})

    def _remove_ended_marker(self, marker: Item, execution: ExecutionRecord) -> None:
        """A marker of an ended execution (its engine died after the ending transaction).
        Deleted only if the execution is still at the version read: a retry that made it active
        meanwhile put the marker in its own transaction, which then wins."""
        with contextlib.suppress(StaleWrite):  # the execution moved on: the marker is its own again
            self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self.tables.state,
                            "Key": _key(_execution_pk(execution.execution_id)),
                            "ConditionExpression": "v = :read",
                            "ExpressionAttributeValues": {":read": _n(execution.version)},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.tables.state,
                            "Key": {"pk": marker["pk"], "sk": marker["sk"]},
                        }
                    },
                ]
            )

    def _executions_by_id(self, pks: Sequence[str]) -> list[ExecutionRecord]:
        found = self._batch_get([_key(pk) for pk in pks])
        return self._executions([found[(pk, _META)] for pk in pks if (pk, _META) in found])

    def list_steps(self, execution_id: str, query: ListQuery) -> Page[StepRecord]:
        records = [self._step_record(i) for i in self._query_partition(_execution_pk(execution_id), "STEP#")]
        rows: list[tuple[str, str, datetime | None, StepRecord]] = [
            (step_listing_key(r), r.step_name, None, r) for r in records
        ]
        return _page_in_memory(f"steps:{execution_id}", rows, query)

    # -- cache and callbacks ----------------------------------------------------------------------

    def find_cache_entry(self, pipeline_arn: str, cache_key: str, newer_than: datetime) -> CacheEntry | None:
        lower = timestamp(newer_than) if newer_than.year > 1 else _SORT_LOW
        response = self.client.query(
            TableName=self.tables.cache,
            KeyConditionExpression="pk = :pk AND sk >= :lower",
            ExpressionAttributeValues={
                ":pk": _s(f"{pipeline_key(pipeline_arn)}#{cache_key}"),
                ":lower": _s(lower),
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return self._record(CacheEntry, items[0]) if items else None

    def get_callback(self, token: str) -> CallbackTokenRecord | None:
        item = self._get(_key(f"CALLBACK#{token}"))
        return self._record(CallbackTokenRecord, item) if item else None

    # -- experiments ------------------------------------------------------------------------------

    def list_experiments(self, query: ListQuery) -> Page[ExperimentRecord]:
        return self._list_named(
            "experiments", self._query_index("gsi1", "EXPERIMENTS"), ExperimentRecord, query
        )

    def list_trials(self, experiment_name: str | None, query: ListQuery) -> Page[TrialRecord]:
        names = [experiment_name] if experiment_name else self._experiment_names()
        items = [i for name in names for i in self._query_index("gsi1", f"EXPERIMENT#{name}#TRIALS")]
        if not experiment_name:
            items += self._query_index("gsi2", "TRIALS")  # trials written with an all-trials entry
        return self._list_named(f"trials:{experiment_name or ''}", items, TrialRecord, query)

    def list_trial_components(self, trial_name: str | None, query: ListQuery) -> Page[TrialComponentRecord]:
        """Runs live in their experiment's partition (``COMPONENT#<trial>#<run>``), so every run
        is one Query per experiment and writing one costs no index entry. Runs written before
        are listed too: ``TRIAL#<trial>`` / ``COMPONENT#<run>`` with a gsi2 entry, and earlier
        ``TRIAL_COMPONENT#<run>`` with a gsi1 entry."""
        if trial_name:
            trial = self._get(_key(f"TRIAL#{trial_name}"))
            experiments = [self._record(TrialRecord, trial).experiment_name] if trial else []
            prefix = f"{_COMPONENT}{trial_name}#"
            items = [
                *self._query_index("gsi1", f"TRIAL#{trial_name}#COMPONENTS"),
                *self._query_partition(f"TRIAL#{trial_name}", _COMPONENT),
            ]
        else:
            experiments, prefix = self._experiment_names(), _COMPONENT
            items = self._query_index("gsi2", "TRIAL_COMPONENTS")
        items += [i for name in experiments for i in self._query_partition(f"EXPERIMENT#{name}", prefix)]
        return self._list_named(f"runs:{trial_name or ''}", items, TrialComponentRecord, query)

    def record_run(self, run: TrialComponentRecord) -> None:
        """In its experiment's partition: listing runs needs no index entry (see above), and
        outside any transaction (the runtime records it before it starts the job). A run this
        process recorded is not written again (a redelivered report batch re-sends the starts of
        every running step, and each would record its run again)."""
        key = (f"EXPERIMENT#{run.experiment_name}", f"{_COMPONENT}{run.trial_name}#{run.name}")
        with self._states_lock:
            if key in self._runs:
                return
        self._write_one(self._insert_if_absent(key[0], run, sk=key[1]))
        with self._states_lock:
            self._runs[key] = None
            if len(self._runs) > MAX_CACHED_STATES * 16:
                self._runs.pop(next(iter(self._runs)))

    def _experiment_names(self) -> list[str]:
        return [i["pk"]["S"].removeprefix("EXPERIMENT#") for i in self._query_index("gsi1", "EXPERIMENTS")]

    def _list_named(self, listing: str, items: Iterable[Item], model: type[N], query: ListQuery) -> Page[N]:
        """A page of named records (one per name: a record found in two layouts counts once)."""
        records = {record.name: record for record in (self._record(model, i) for i in items)}
        return _page_in_memory(
            listing, [(timestamp(r.created_at), r.name, r.created_at, r) for r in records.values()], query
        )

    # -- idempotency ------------------------------------------------------------------------------

    def get_idempotency(self, token: str, operation: str) -> IdempotencyRecord | None:
        item = self._get(_key(f"IDEMPOTENCY#{operation}#{token}"))
        return self._record(IdempotencyRecord, item) if item else None

    def put_idempotency(self, record: IdempotencyRecord) -> bool:
        return self._put_if(self._idempotency_item(record), "attribute_not_exists(pk)")

    # -- tracking warnings --------------------------------------------------------------------------

    def add_tracking_warning(self, warning: TrackingWarningRecord) -> None:
        # ordered by time (ties: by when written), never overwritten
        sk = f"{timestamp(warning.at)}#{time.time_ns():020d}#{uuid.uuid4().hex[:8]}"
        item = {**_key(f"TRACKING_WARNINGS#{warning.execution_id}", sk), "body": _s(dump(warning))}
        self.client.put_item(TableName=self.tables.state, Item=item)

    def list_tracking_warnings(self, execution_id: str) -> list[TrackingWarningRecord]:
        items = self._query_partition(f"TRACKING_WARNINGS#{execution_id}")
        return [self._record(TrackingWarningRecord, item) for item in items]

    # -- the outbox -----------------------------------------------------------------------------------

    def list_outbox(
        self, execution_id: str | None, limit: int = 100, skip: Collection[int] = ()
    ) -> list[OutboxRecord]:
        if execution_id is not None:
            item = self._get(_key(_execution_pk(execution_id)))
            items = [item] if item is not None else []
        else:  # every execution holding events has its marker (an ended one's stays until then)
            pks = sorted({_execution_pk(i["id"]["S"]) for i in self._query_partition(_ACTIVE)})
            found = self._batch_get([_key(pk) for pk in pks])
            items = [found[(pk, _META)] for pk in pks if (pk, _META) in found]
        records = [
            self._outbox_record(item, version)
            for item in sorted(items, key=lambda i: i["pk"]["S"])
            for version in _outbox_versions(item)
            if version not in skip  # not decoded
        ]
        return sorted(records, key=lambda r: (r.execution_id, r.version))[:limit]

    def claim_outbox(self, record: OutboxRecord, claimant: str, now: datetime) -> OutboxRecord | None:
        claimed = self._conditional(
            self.client.update_item,
            Key=_key(_execution_pk(record.execution_id)),
            UpdateExpression="SET #claim = :claim",
            ConditionExpression="begins_with(#claim, :held)",
            ExpressionAttributeNames={"#claim": f"{_CLAIM_PREFIX}{record.version}"},
            ExpressionAttributeValues={
                ":claim": _claim_value(claimant, now, bool(record.launched)),
                ":held": _s(_claim_prefix(record.claimant, record.claimed_at)),
            },
        )
        return (
            record.model_copy(update={"claimant": claimant, "claimed_at": now, "settles": []})
            if claimed
            else None
        )

    def delete_outbox(self, records: Sequence[OutboxRecord]) -> None:
        """One update per execution removes its published versions' attributes; an execution
        that ended and holds no more events then loses its active marker (kept for the sweep)."""
        by_execution: dict[str, set[int]] = {}
        for record in records:
            by_execution.setdefault(record.execution_id, set()).add(record.version)
        for execution_id, versions in by_execution.items():
            names = {
                f"#{kind}{index}": f"{prefix}{version}"
                for index, version in enumerate(sorted(versions))
                for kind, prefix in (("o", _EVENTS_PREFIX), ("c", _CLAIM_PREFIX))
            }
            try:
                response = self.client.update_item(
                    TableName=self.tables.state,
                    Key=_key(_execution_pk(execution_id)),
                    UpdateExpression="REMOVE " + ", ".join(names),
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames=names,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if _code(exc) == "ConditionalCheckFailedException":
                    continue  # the execution is gone (its pipeline was deleted)
                raise
            item = response["Attributes"]
            if item["st"]["S"] not in ACTIVE_EXECUTION_STATUSES and not _outbox_versions(item):
                # as the ending transaction's own marker delete does when it holds no events
                beside = {"status": item["st"]["S"], "version": int(item["v"]["N"]), "definition": ""}
                ended = load(ExecutionRecord, self.codec.decode(item), execution_id=execution_id, **beside)
                marker = _key(_ACTIVE, _sort_key(ended.created_at, execution_id))
                self.client.delete_item(TableName=self.tables.state, Key=marker)

    def _outbox_attributes(self, record: OutboxRecord) -> Item:
        packed = pack_outbox(record.events, record.launched)
        what = f"status events of {record.execution_id} version {record.version}"
        if len(packed) > self.codec.inline_limit:
            raise ItemTooLarge(f"{what} are {len(packed)} bytes packed, over what an item holds")
        return {
            f"{_EVENTS_PREFIX}{record.version}": {"B": packed},
            f"{_CLAIM_PREFIX}{record.version}": _claim_value(
                record.claimant, record.claimed_at, bool(record.launched)
            ),
        }

    def _outbox_record(self, item: Item, version: int) -> OutboxRecord:
        claimed_at, claimant, held = item[f"{_CLAIM_PREFIX}{version}"]["S"].split(" ", 2)
        events, launched = unpack_outbox(item[f"{_EVENTS_PREFIX}{version}"]["B"])
        # launched holds while the hold was not dropped and the execution is active
        holds = held == "1" and item["st"]["S"] in ACTIVE_EXECUTION_STATUSES
        return OutboxRecord(
            execution_id=item["pk"]["S"].removeprefix("EXECUTION#"),
            version=version,
            claimant=claimant,
            claimed_at=parse_timestamp(claimed_at),
            events=events,
            launched=launched if holds else [],
        )

    # -- leases (embedded driver ownership; kept so every Store behaves alike) ---------------------

    def _take_lease(self, lease: LeaseRecord, holder: str, stale_before: datetime | None) -> bool:
        condition = "attribute_not_exists(pk) OR #owner = :holder"
        values = {":holder": _s(holder)}
        if stale_before is not None:
            condition += " OR heartbeatAt < :stale"
            values[":stale"] = _s(timestamp(stale_before))
        return self._put_if(self._lease_item(lease), condition, values)

    def renew_lease(self, execution_id: str, owner: str, now: datetime) -> bool:
        return self._conditional(
            self.client.update_item,
            Key=_key(f"LEASE#{execution_id}"),
            UpdateExpression="SET heartbeatAt = :now",
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":now": _s(timestamp(now)), ":owner": _s(owner)},
        )

    def release_lease(self, execution_id: str, owner: str) -> None:
        self._conditional(  # False: the lease is not ours (any more)
            self.client.delete_item,
            Key=_key(f"LEASE#{execution_id}"),
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":owner": _s(owner)},
        )

    def get_lease(self, execution_id: str) -> LeaseRecord | None:
        item = self._get(_key(f"LEASE#{execution_id}"))
        if item is None:
            return None
        heartbeat = parse_timestamp(item["heartbeatAt"]["S"])
        return LeaseRecord(execution_id=execution_id, owner=item["owner"]["S"], heartbeat_at=heartbeat)

    @staticmethod
    def _lease_item(lease: LeaseRecord) -> Item:
        return {
            **_key(f"LEASE#{lease.execution_id}"),
            "owner": _s(lease.owner),
            "heartbeatAt": _s(timestamp(lease.heartbeat_at)),
        }

    # -- runtime task tokens (cloud runtime: Step Functions tokens it must complete later) ------------

    def put_task_token(self, key: str, token: str, expires_at: datetime) -> None:
        self.client.put_item(
            TableName=self.tables.state,
            Item={**_key(f"TASK_TOKEN#{key}"), "token": _s(token), TTL_ATTRIBUTE: _n(_epoch(expires_at))},
        )

    def get_task_token(self, key: str) -> str | None:
        item = self._get(_key(f"TASK_TOKEN#{key}"))
        return str(item["token"]["S"]) if item else None

    def delete_task_token(self, key: str) -> None:
        self.client.delete_item(TableName=self.tables.state, Key=_key(f"TASK_TOKEN#{key}"))

    def finish_token(self, execution_id: str, run: int) -> str | None:
        """The PipelineExecution machine's task token for ``run``, if it stored one."""
        item = self._get(_key(_execution_pk(execution_id), f"{_RUN}{run}"))
        return str(item["token"]["S"]) if item and "token" in item else None

    # -- primitives -------------------------------------------------------------------------------

    def _get(self, key: Item) -> Item | None:
        item: Item | None = self.client.get_item(
            TableName=self.tables.state, Key=key, ConsistentRead=True
        ).get("Item")
        return item

    def _put(self, item: Item, condition: str, values: Mapping[str, Any] | None = None) -> Item:
        put: Item = {"TableName": self.tables.state, "Item": item, "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = dict(values)
        if "#owner" in condition:
            put["ExpressionAttributeNames"] = {"#owner": "owner"}
        return {"Put": put}

    def _rewrite(
        self, item: Item, condition: str, values: Mapping[str, Any], settled: Sequence[str] = ()
    ) -> Item:
        """An Update action that makes the execution item ``item`` as a Put would, except that
        it keeps the outbox attributes (the unpublished events of earlier transitions): SET
        every attribute ``item`` has, REMOVE those of ``_REWRITTEN`` it lacks and ``settled``
        (the outbox attributes of versions known published)."""
        names: dict[str, str] = {}
        placeholders: Item = dict(values)
        assignments = []
        for index, (name, value) in enumerate(a for a in item.items() if a[0] not in ("pk", "sk")):
            names[f"#a{index}"] = name
            placeholders[f":a{index}"] = value
            assignments.append(f"#a{index} = :a{index}")
        removed = [name for name in _REWRITTEN if name not in item] + list(settled)
        for index, name in enumerate(removed):
            names[f"#r{index}"] = name
        expression = "SET " + ", ".join(assignments)
        if removed:
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removed)))
        return {
            "Update": {
                "TableName": self.tables.state,
                "Key": _key(item["pk"]["S"], item["sk"]["S"]),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": placeholders,
            }
        }

    def _delete(self, key: Item) -> Item:
        """An unconditional Delete action of a transaction."""
        return {"Delete": {"TableName": self.tables.state, "Key": key}}

    def _put_if(self, item: Item, condition: str, values: Mapping[str, Any] | None = None) -> bool:
        """A single conditional put: False when the condition does not hold."""
        return self._conditional(self.client.put_item, **self._put(item, condition, values)["Put"])

    def _conditional(self, write: Callable[..., Any], **request: Any) -> bool:
        """One conditional write (``put_item``, ``update_item``, ``delete_item``) on the state
        table: False when its condition does not hold, and nothing was written."""
        try:
            write(**{"TableName": self.tables.state, **request})
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _write_one(self, action: Item) -> None:
        if "Put" in action:
            self.client.put_item(**action["Put"])
        elif "Update" in action:
            self.client.update_item(**action["Update"])
        else:
            raise AssertionError(f"not a side action: {sorted(action)}")

    def _transact(self, actions: list[Item]) -> None:
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException":
                reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
                if reasons & _STALE_REASONS or not reasons:
                    raise StaleWrite("a conditional write lost") from exc
            if _code(exc) == "TransactionConflictException":
                raise StaleWrite("a concurrent transaction touched the same records") from exc
            raise

    def _query_partition(self, pk: str, sk_prefix: str | None = None) -> list[Item]:
        condition = "pk = :pk"
        values: Item = {":pk": _s(pk)}
        if sk_prefix:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = _s(sk_prefix)
        return list(
            self._query_all(
                TableName=self.tables.state,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
            )
        )

    def _query_index(self, index: str, index_pk: str) -> list[Item]:
        return list(
            self._query_all(
                TableName=self.tables.state,
                IndexName=index,
                KeyConditionExpression=f"{index}pk = :pk",
                ExpressionAttributeValues={":pk": _s(index_pk)},
            )
        )

    def _query_all(self, **request: Any) -> Iterator[Item]:
        while True:
            response = self.client.query(**request)
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _page_index(
        self, index: str, index_pk: str, listing: str, query: ListQuery
    ) -> tuple[list[Item], str | None]:
        """Keyset pagination straight on an index whose sort key is ``<created>#<id>``."""
        low = timestamp(query.created_after) + "#" + _SORT_HIGH if query.created_after else _SORT_LOW
        high = timestamp(query.created_before) if query.created_before else _SORT_HIGH
        request: Item = {
            "TableName": self.tables.state,
            "IndexName": index,
            "KeyConditionExpression": f"{index}pk = :pk AND {index}sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": _s(index_pk), ":low": _s(low), ":high": _s(high)},
            "ScanIndexForward": query.ascending,
        }
        if query.next_token:
            last_sort, last_id = decode_token(listing, query.next_token)
            request["ExclusiveStartKey"] = {
                **_key(_execution_pk(last_id), _LISTING),
                f"{index}pk": _s(index_pk),
                f"{index}sk": _s(f"{last_sort}#{last_id}"),
            }
        if high < low:
            return [], None
        limit = max(1, query.limit)
        items: list[Item] = []
        while len(items) <= limit:
            request["Limit"] = limit + 1 - len(items)
            response = self.client.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        token = None
        if len(items) > limit:
            created, _, ident = items[limit - 1][f"{index}sk"]["S"].partition("#")
            token = encode_token(listing, [created, ident])
        return items[:limit], token

    def _batch_get(self, keys: Sequence[Item]) -> dict[tuple[str, str], Item]:
        found: dict[tuple[str, str], Item] = {}
        for start in range(0, len(keys), 100):
            pending: Item = {
                self.tables.state: {"Keys": list(keys[start : start + 100]), "ConsistentRead": True}
            }
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self.tables.state, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                pending = response.get("UnprocessedKeys") or {}
        return found

    def _batch_delete(self, keys: Iterable[Item]) -> None:
        self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])

    def _batch_write(self, requests: Sequence[Item]) -> None:
        """Unconditional puts and deletes in the state table, 25 a call, until all are done."""
        for start in range(0, len(requests), 25):
            pending: Item = {self.tables.state: list(requests[start : start + 25])}
            while pending:
                pending = self.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def _exists(self, key: Item) -> bool:
        return "Item" in self.client.get_item(
            TableName=self.tables.state, Key=key, ConsistentRead=True, ProjectionExpression="pk"
        )

    # -- the execution-state memo ------------------------------------------------------------------


def _with_last_run(pipeline: PipelineRecord, item: Item | None) -> PipelineRecord:
    """The pipeline with the LastRunTime of its last-run item, when that is later (pipeline
    items written before last-run items existed hold it in their body)."""
    if item is None or "at" not in item:
        return pipeline
    at = parse_timestamp(item["at"]["S"])
    if pipeline.last_run_at is not None and pipeline.last_run_at >= at:
        return pipeline
    return pipeline.model_copy(update={"last_run_at": at})


def _page_in_memory(
    listing: str, rows: list[tuple[str, str, datetime | None, R]], query: ListQuery
) -> Page[R]:
    """The SQLite store's keyset pagination, over a collection read whole (small collections).
    Each row is (sort value, id, creation time for the time filters or None, record)."""
    if query.created_after is not None:
        after = query.created_after
        rows = [r for r in rows if r[2] is None or r[2] > after]
    if query.created_before is not None:
        before = query.created_before
        rows = [r for r in rows if r[2] is None or r[2] < before]
    rows.sort(key=lambda r: (r[0], r[1]), reverse=not query.ascending)
    if query.next_token:
        last = tuple(decode_token(listing, query.next_token))
        if query.ascending:
            rows = [r for r in rows if (r[0], r[1]) > last]
        else:
            rows = [r for r in rows if (r[0], r[1]) < last]
    limit = max(1, query.limit)
    token = encode_token(listing, [rows[limit - 1][0], rows[limit - 1][1]]) if len(rows) > limit else None
    return Page(items=[r[3] for r in rows[:limit]], next_token=token)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# -- table definitions (tests, benchmarks and `pipelines` tooling; CDK declares the same) ----------

STATE_INDEXES = ("gsi1", "gsi2")


def create_tables(client: Any, tables: TableNames) -> None:
    """Create both tables as infra/constructs/data.py declares them (on-demand, TTL on)."""
    string = "S"
    client.create_table(
        TableName=tables.state,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": string}
            for name in ("pk", "sk", *(f"{i}{part}" for i in STATE_INDEXES for part in ("pk", "sk")))
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{index}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in STATE_INDEXES
        ],
    )
    client.create_table(
        TableName=tables.cache,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": string} for n in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    for name in (tables.state, tables.cache):
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )


def store_from_environment(
    environ: Mapping[str, str], *, client: Any | None = None, objects: ObjectStore | None = None
) -> DynamoDBStore:
    """The store of a deployed Lambda: STATE_TABLE, CACHE_TABLE and, if set, PAYLOAD_BUCKET."""
    bucket = environ.get("PAYLOAD_BUCKET")
    if bucket and objects is None:
        from pipelines.objects.s3 import S3ObjectStore

        objects = S3ObjectStore(region=environ.get("AWS_REGION"))
    return DynamoDBStore(
        TableNames(state=environ["STATE_TABLE"], cache=environ["CACHE_TABLE"]),
        client=client,
        region=environ.get("AWS_REGION"),
        objects=objects if bucket else None,
        payload_uri=f"s3://{bucket}/payloads" if bucket else None,
    )
