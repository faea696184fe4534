"""Registering a definition as a pipeline (with versions), for runs that start from a file;
recording when a pipeline last ran; and deleting a pipeline so that nothing keeps pointing at it.

Deleting races whatever registers something that points at the pipeline by ARN (a schedule, an
EventBridge rule target, a RAM share): those live in other stores, so no transaction spans them.
Two writes-then-reads close the race instead (:func:`delete_pipeline`, :func:`attach`):

* DeletePipeline first marks the pipeline ``Deleting`` (a conditional write), then runs the
  cleanup hooks (each removes what points at the pipeline), then deletes the record with the
  request's ClientRequestToken in the same write.
* A registration is refused for a pipeline that is not ``Active``; and after writing, it reads the
  pipeline again, and undoes its write if the pipeline is no longer the Active one it checked.

Whichever way the two interleave, nothing is left: if the registration's second read comes
before the ``Deleting`` mark, its write came before it too, so the cleanup (after the mark)
finds and removes it; if the read comes after, it sees the mark and undoes the write itself.
A crash anywhere leaves either the pipeline ``Deleting`` (the retry, or any DeletePipeline,
runs the cleanup again and finishes) or nothing (the token replays the answer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from pipelines.definition import DefinitionError, check_definition
from pipelines.engine.clock import Clock, SystemClock
from pipelines.engine.decisions import compile_definition
from pipelines.engine.errors import PipelineNotFound
from pipelines.engine.idempotency import RequestToken
from pipelines.engine.ids import pipeline_arn
from pipelines.errors import ConflictError
from pipelines.store.base import (
    PipelineRecord,
    PipelineVersionRecord,
    RecordExists,
    RoleGrant,
    StaleWrite,
    Store,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_DELETE_ATTEMPTS = 10


def upsert_pipeline(
    store: Store,
    name: str,
    definition: str,
    *,
    region: str = "us-east-1",
    account_id: str = "000000000000",
    role_arn: str | None = None,
    description: str | None = None,
    parallelism: int | None = None,
    clock: Clock | None = None,
) -> PipelineRecord:
    """Create the pipeline, or add a version when the definition changed; validates first
    (and keeps the parse and the DAG for the engine: see ``compile_definition``).

    ``role_arn`` is recorded as passed by the account's root: whoever runs a definition file
    against the store acts as its owner (see :mod:`pipelines.engine.roles`)."""
    report = check_definition(definition)
    if report.definition is None or report.errors:
        raise DefinitionError(report.errors)
    compile_definition(definition, report.definition, report.graph)
    now = (clock or SystemClock()).now()
    arn = pipeline_arn(region, account_id, name)
    for _ in range(10):
        existing = store.get_pipeline(arn)
        if existing is None:
            record = PipelineRecord(
                name=name,
                arn=arn,
                definition=definition,
                role_arn=role_arn,
                role_grants=[]
                if role_arn is None
                else [
                    RoleGrant(role_arn=role_arn, passed_by=f"arn:aws:iam::{account_id}:root", passed_at=now)
                ],
                description=description,
                parallelism=parallelism,
                created_at=now,
                modified_at=now,
            )
            try:
                store.create_pipeline(
                    record,
                    PipelineVersionRecord(
                        pipeline_name=name,
                        pipeline_arn=arn,
                        version_id=1,
                        definition=definition,
                        created_at=now,
                    ),
                )
                return record
            except RecordExists:
                continue
        refuse_deleting(existing)
        if existing.definition == definition and (parallelism is None or existing.parallelism == parallelism):
            return existing
        new_version = None
        update: dict[str, object] = {"modified_at": now, "version": existing.version + 1}
        if parallelism is not None:
            update["parallelism"] = parallelism
        if existing.definition != definition:
            version_id = existing.latest_version_id + 1
            update.update(definition=definition, latest_version_id=version_id)
            new_version = PipelineVersionRecord(
                pipeline_name=existing.name,
                pipeline_arn=arn,
                version_id=version_id,
                definition=definition,
                created_at=now,
            )
        record = existing.model_copy(update=update)
        try:
            store.update_pipeline(record, existing.version, new_version)
            return record
        except StaleWrite:
            continue
    raise StaleWrite(f"Pipeline {name} kept changing while it was being updated.")


def record_last_run(store: Store, pipeline: PipelineRecord, started_at: datetime) -> None:
    """Move the pipeline's LastRunTime forward to ``started_at`` (``Store.record_last_run``).

    The execution has already started when this runs, so a store error leaves LastRunTime as
    it is (logged) rather than failing a start whose execution exists: a client retrying it
    would start a second one.
    """
    try:
        store.record_last_run(pipeline.arn, started_at)
    except Exception:
        log.exception("LastRunTime of pipeline %s not recorded", pipeline.name)


class PipelineDeleting(ConflictError):
    """A change of a pipeline a DeletePipeline is deleting."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Pipeline {name} is being deleted.")


def refuse_deleting(pipeline: PipelineRecord) -> PipelineRecord:
    """``pipeline``, if no DeletePipeline is deleting it (else PipelineDeleting): what changes a
    pipeline or starts it must not act on one that is going."""
    if pipeline.status != "Active":
        raise PipelineDeleting(pipeline.name)
    return pipeline


def still_active(store: Store, pipeline: PipelineRecord) -> bool:
    """Whether ``pipeline`` is still in the store, Active, and the same pipeline (not one
    created again under its name since it was read)."""
    current = store.get_pipeline(pipeline.arn)
    return current is not None and current.status == "Active" and current.created_at == pipeline.created_at


def attach(
    store: Store,
    pipelines: Iterable[PipelineRecord],
    write: Callable[[], T],
    undo: Callable[[], object],
    refusal: Callable[[PipelineRecord], Exception],
) -> T:
    """Register something that points at ``pipelines`` (read and checked Active by the caller):
    ``write`` it, then check each pipeline again; if one is being deleted, was deleted or was
    replaced meanwhile, ``undo`` the write and raise ``refusal(pipeline)``, as the check before
    the write would have (see the module docstring for why this leaves nothing behind)."""
    result = write()
    for pipeline in pipelines:
        if not still_active(store, pipeline):
            undo()
            raise refusal(pipeline)
    return result


def delete_pipeline(
    store: Store,
    pipeline: PipelineRecord,
    cleanup: Iterable[Callable[[str], object]],
    request: RequestToken | None,
    now: datetime,
) -> dict[str, str]:
    """DeletePipeline of ``pipeline`` (read and authorized by the caller): mark it Deleting,
    run every ``cleanup`` hook with its ARN (each idempotent: a retry runs them again), then
    delete the record, the request's token recorded in the same write. Returns the answer
    (``PipelineArn``), which a repeat of the request gets back."""
    answer = {"PipelineArn": pipeline.arn}
    hooks = list(cleanup)
    for _ in range(_DELETE_ATTEMPTS):
        if pipeline.status != "Deleting":
            deleting = pipeline.model_copy(update={"status": "Deleting", "version": pipeline.version + 1})
            try:
                store.update_pipeline(deleting, pipeline.version)
            except StaleWrite:
                pipeline = _current(store, pipeline)
                continue
            pipeline = deleting
        for hook in hooks:
            hook(pipeline.arn)
        try:
            store.delete_pipeline(
                pipeline.arn,
                expected_version=pipeline.version,
                request=None if request is None else request.answered(answer, now),
            )
        except StaleWrite:
            pipeline = _current(store, pipeline)
            continue
        return answer
    raise StaleWrite(f"Pipeline {pipeline.name} kept changing while it was being deleted; try again.")


def _current(store: Store, pipeline: PipelineRecord) -> PipelineRecord:
    current = store.get_pipeline(pipeline.arn)
    if current is None:
        raise PipelineNotFound(pipeline.name)
    return current
