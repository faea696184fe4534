"""Lineage steps in the embedded runtime: records in the state database's lineage tables
(``pipelines.lineage``), which ``pipelines lineage EXECUTION`` shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.lineage.sqlite import SqliteLineageStore
from pipelines.lineage.step import LocalLineageApi, Recording, record_lineage
from pipelines.runners.base import RunContext, StepRequest, StepResult


class LineageRunner:
    step_type: ClassVar[str] = "Lineage"

    def check(self, step: Step, config: Config) -> str | None:
        return None  # nothing outside the state database is needed

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        recording = Recording(
            SqliteLineageStore(ctx.config.database_path),
            request.execution_arn,
            request.step_name,
            lambda: datetime.now(UTC),
        )
        api = LocalLineageApi(recording, region=ctx.config.region, account_id=ctx.config.account_id)
        return record_lineage(request.step_name, request.arguments, api, ctx.log)


RUNNERS = [LineageRunner()]
