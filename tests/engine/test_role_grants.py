"""An execution runs only as a role its pipeline records as passed (pipelines.engine.roles),
on both stores, through the embedded runtime; and the SQLite migration that grants the role
of pipelines written before grants existed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from pipelines.engine import StartRequest, upsert_pipeline
from pipelines.engine.ids import pipeline_arn
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.store import Store
from pipelines.store.migrations import migrate
from pipelines.store.sqlite import SQLiteStore

from tests.legacy_state import write_legacy_store

from .fakes import ScriptedRunner, definition, processing_step

ROLE = "arn:aws:iam::000000000000:role/pipelines/Runner"
ATTACKER_ROLE = "arn:aws:iam::000000000000:role/pipelines/Admin"


def _register(store: Store, clock: Any) -> None:
    upsert_pipeline(store, "p", definition(processing_step("A")), role_arn=ROLE, clock=clock)


def test_the_role_is_recorded_with_who_passed_it(store: Store, clock: Any) -> None:
    _register(store, clock)
    record = store.get_pipeline(pipeline_arn("us-east-1", "000000000000", "p"))
    assert record is not None
    grant = record.granted(ROLE)
    assert grant is not None and grant.passed_by == "arn:aws:iam::000000000000:root"
    assert record.granted(ATTACKER_ROLE) is None


def test_a_granted_role_runs(
    runtime: EmbeddedRuntime, store: Store, clock: Any, jobs: ScriptedRunner
) -> None:
    _register(store, clock)
    final = runtime.run(request=StartRequest(pipeline_name="p"))
    assert (final.status, final.role_arn) == ("Succeeded", ROLE)
    assert [c.step_name for c in jobs.calls] == ["A"]


def test_a_role_written_into_the_store_directly_runs_nothing(
    runtime: EmbeddedRuntime, store: Store, clock: Any, jobs: ScriptedRunner
) -> None:
    _register(store, clock)
    stored = store.get_pipeline(pipeline_arn("us-east-1", "000000000000", "p"))
    assert stored is not None
    store.update_pipeline(
        stored.model_copy(update={"role_arn": ATTACKER_ROLE, "version": stored.version + 1}), stored.version
    )

    final = runtime.run(request=StartRequest(pipeline_name="p"))

    assert final.status == "Failed"
    assert final.failure_reason == (
        f"The execution's role {ATTACKER_ROLE} was not assumed: the role is not recorded as passed for "
        f"pipeline {stored.arn} by an authorized principal (pass it again with UpdatePipeline RoleArn, "
        "which checks iam:PassRole)."
    )
    assert jobs.calls == []


def test_the_migration_grants_existing_pipelines_their_role_as_passed_by_the_accounts_root(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path, isolation_level=None)
    write_legacy_store(conn, up_to=3)  # the schema as the release before grants left it
    arn = "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/old"
    for name, role in (("old", ROLE), ("norole", None)):
        body = {
            "name": name,
            "arn": arn.replace("old", name),
            "definition": definition(processing_step("A")),
            "role_arn": role,
            "created_at": "2026-01-02T03:04:05Z",
            "modified_at": "2026-01-02T03:04:05Z",
        }
        conn.execute(
            "INSERT INTO pipelines (arn, name, name_lower, created_at, version, body) VALUES (?, ?, ?, ?, 1, ?)",
            (body["arn"], name, name, body["created_at"], json.dumps(body)),
        )
    assert migrate(conn) >= 4
    conn.close()

    store = SQLiteStore(path)
    old = store.get_pipeline(arn)
    assert old is not None and [g.model_dump(mode="json") for g in old.role_grants] == [
        {"role_arn": ROLE, "passed_by": "arn:aws:iam::111111111111:root", "passed_at": "2026-01-02T03:04:05Z"}
    ]
    norole = store.get_pipeline(arn.replace("old", "norole"))
    assert norole is not None and norole.role_grants == []
