"""Cleanup steps in the embedded runtime: delete from the local object root what the engine
located (``pipelines.engine.cleanup``). Endpoints and EMR Serverless applications are cloud
resources; a Cleanup naming them fails that source with the reason."""

from __future__ import annotations

from typing import ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.engine.cleanup import clean
from pipelines.runners.base import RunContext, StepRequest, StepResult


class CleanupRunner:
    step_type: ClassVar[str] = "Cleanup"

    def check(self, step: Step, config: Config) -> str | None:
        return None  # the object root is always there

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        targets = request.step_fields.get("CleanupTargets") or []
        return clean(request.step_name, list(targets), ctx.objects, log=ctx.log)


RUNNERS = [CleanupRunner()]
