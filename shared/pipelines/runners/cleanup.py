"""Cleanup steps in the embedded runtime: delete from the local object root what the engine
located (``pipelines.engine.cleanup``), and local endpoints and endpoint configs
(``pipelines.hosting``). EMR Serverless applications exist only in the cloud: a Cleanup naming
one fails that source with the reason."""

from __future__ import annotations

from typing import ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.engine.cleanup import (
    ENDPOINT,
    ENDPOINT_CONFIG,
    CleanupError,
    CleanupStatus,
    ResourceCleaner,
    Target,
    clean,
)
from pipelines.hosting import EndpointHost, EndpointNotFound, delete_local_endpoint
from pipelines.runners.base import RunContext, StepRequest, StepResult


class CleanupRunner:
    step_type: ClassVar[str] = "Cleanup"

    def check(self, step: Step, config: Config) -> str | None:
        return None  # the object root is always there

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        targets = request.step_fields.get("CleanupTargets") or []
        return clean(request.step_name, list(targets), ctx.objects, local_resources(ctx), ctx.log)


def local_resources(ctx: RunContext) -> ResourceCleaner:
    """Local endpoints and endpoint configs; EMR Serverless applications exist only in the cloud."""

    def cleaner(target: Target) -> tuple[CleanupStatus, str]:
        name = str(target.resource)
        if target.kind == ENDPOINT:
            return "Cleaned", "" if delete_local_endpoint(ctx.config, name) else "it was already gone"
        if target.kind == ENDPOINT_CONFIG:
            try:
                EndpointHost.for_config(ctx.config).delete_endpoint_config(name)
            except EndpointNotFound:
                return "Cleaned", "it was already gone"
            return "Cleaned", ""
        raise CleanupError(
            f"EMR Serverless application {name} of step {target.step_name!r}: the embedded runtime "
            "has no EMR Serverless applications (its Spark jobs run locally); deploy to clean one up"
        )

    return cleaner


RUNNERS = [CleanupRunner()]
