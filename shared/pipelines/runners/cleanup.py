"""Cleanup steps in the embedded runtime: delete from the local object root what the engine
located (``pipelines.engine.cleanup``), and local endpoints (``pipelines.hosting``). EMR
Serverless applications exist only in the cloud: a Cleanup naming one fails that source with
the reason."""

from __future__ import annotations

from typing import ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.engine.cleanup import ENDPOINT, clean
from pipelines.hosting import delete_local_endpoint
from pipelines.runners.base import RunContext, StepRequest, StepResult


class CleanupRunner:
    step_type: ClassVar[str] = "Cleanup"

    def check(self, step: Step, config: Config) -> str | None:
        return None  # the object root is always there

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        def delete_endpoint(_kind: str, name: str) -> None:
            if not delete_local_endpoint(ctx.config, name):
                ctx.log(f"endpoint {name} was already gone")

        targets = request.step_fields.get("CleanupTargets") or []
        return clean(request.step_name, list(targets), ctx.objects, {ENDPOINT: delete_endpoint}, ctx.log)


RUNNERS = [CleanupRunner()]
