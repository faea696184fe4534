"""The shadow endpoint ClarifyCheck's MODEL_BIAS and MODEL_EXPLAINABILITY jobs query.

Clarify serves the step's ``ModelName`` on a temporary endpoint for the length of the job and
sends it the dataset's features (Guide ``clarify-model-monitor-bias-drift-baseline``). Locally
that is a model server of :mod:`pipelines.hosting` (the same server an Endpoint step starts,
``POST /invocations`` under the SageMaker hosting contract) for the model's registry record,
stopped when the job ends whatever its outcome. It has no endpoint record: nothing lists it and
nothing brings it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.hosting import ModelLoadFailed, start_model_server
from pipelines.registry import ModelRegistry, RegistryNotFound
from pipelines.runners.base import RunContext, StepFailed, StepRequest
from pipelines.runners.jobs.errors import CLIENT_ERROR


@contextmanager
def shadow_endpoint(model_name: str, request: StepRequest, ctx: RunContext) -> Iterator[str]:
    """Serve ``model_name`` while the block runs; yields the server's base URL."""
    check_type = request.step_fields.get("CheckType")
    try:
        model = ModelRegistry.from_config(ctx.config).describe_model(model_name)
    except RegistryNotFound as exc:
        raise StepFailed(
            f"step {request.step_name}: {check_type} queries model {model_name} (ModelName), which does not "
            f"exist: {exc}",
            error_code=CLIENT_ERROR,
        ) from exc
    try:
        server = start_model_server(
            ctx.config,
            model,
            name=f"{request.job_name}-shadow",
            objects=ctx.objects,
            log=lambda line: ctx.log(f"shadow endpoint: {line}"),
        )
    except ModelLoadFailed as exc:
        raise StepFailed(
            f"step {request.step_name}: the shadow endpoint for model {model_name} did not start: {exc}",
            error_code=CLIENT_ERROR,
        ) from exc
    try:
        yield server.url
    finally:
        server.stop()
        ctx.log(f"shadow endpoint for model {model_name} stopped")
