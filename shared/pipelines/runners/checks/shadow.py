"""The shadow endpoint ClarifyCheck's MODEL_BIAS and MODEL_EXPLAINABILITY jobs query.

Clarify serves the step's ``ModelName`` on a temporary endpoint for the length of the job and
sends it the dataset's features (Guide ``clarify-model-monitor-bias-drift-baseline``). Locally the
endpoint is a local model server under the SageMaker hosting contract (``POST /invocations``),
started from the model's registry record and stopped when the job ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.runners.base import RunContext, StepFailed, StepRequest


@contextmanager
def shadow_endpoint(model_name: str, request: StepRequest, ctx: RunContext) -> Iterator[str]:
    """Serve ``model_name`` while the block runs; yields the endpoint's base URL."""
    raise StepFailed(
        f"step {request.step_name}: {request.step_fields.get('CheckType')} needs a shadow endpoint serving "
        f"model {model_name}, and this runtime cannot host local endpoints yet",
        error_code="ValidationException",
    )
    yield ""  # pragma: no cover - unreachable until local hosting exists
