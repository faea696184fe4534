"""Registering a definition as a pipeline (with versions), for runs that start from a file, and
recording when a pipeline last ran."""

from __future__ import annotations

import logging
from datetime import datetime

from pipelines.definition import DefinitionError, check_definition
from pipelines.engine.clock import Clock, SystemClock
from pipelines.engine.decisions import compile_definition
from pipelines.engine.ids import pipeline_arn
from pipelines.store.base import (
    PipelineRecord,
    PipelineVersionRecord,
    RecordExists,
    RoleGrant,
    StaleWrite,
    Store,
)

log = logging.getLogger(__name__)


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
