"""The engine runs an execution only as a role its pipeline records as passed.

CreatePipeline and UpdatePipeline record each ``RoleArn`` with the principal that passed it
(:class:`~pipelines.store.RoleGrant`), after the caller's ``iam:PassRole`` check. An execution
binds its pipeline's role at start (``ExecutionRecord.role_arn``); before launching any step
the engine checks that this role is still granted on the pipeline. A role that is not -- one
written into the store directly, a pipeline deleted meanwhile, or a record from before grants
existed -- is never assumed: no new step starts, and once the running ones end the execution
fails naming the role and why.

What this defends: a writer of the ``role_arn`` field (of a pipeline or an execution) cannot
make the engine act as another role, since that needs a grant, which only the API writes after
``iam:PassRole``. A writer who forges a whole grant record as well is outside it (the store is
the engine's trust root); docs/deploy.md says so.

Grants only ever accumulate while a pipeline exists, so a positive answer is cached for
:data:`GRANT_CACHE_SECONDS` per (pipeline, role); a refusal is never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pipelines.store import ExecutionRecord, Store

GRANT_CACHE_SECONDS = 60.0


def untrusted_role_reason(execution: ExecutionRecord, pipeline_exists: bool) -> str:
    """The FailureReason of an execution whose role is not granted on its pipeline."""
    why = (
        f"its pipeline {execution.pipeline_arn} no longer exists"
        if not pipeline_exists
        else f"the role is not recorded as passed for pipeline {execution.pipeline_arn} by an authorized "
        "principal (pass it again with UpdatePipeline RoleArn, which checks iam:PassRole)"
    )
    return f"The execution's role {execution.role_arn} was not assumed: {why}."


class RoleCheck:
    """Whether an execution's role is granted on its pipeline (see the module docstring)."""

    def __init__(self, store: Store, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now
        self._granted: dict[tuple[str, str], datetime] = {}

    def refusal(self, execution: ExecutionRecord) -> str | None:
        """None when ``execution`` may run as its role (or has none), else why it may not."""
        role = execution.role_arn
        if not role:
            return None
        key = (execution.pipeline_arn, role)
        now = self.now()
        seen = self._granted.get(key)
        if seen is not None and (now - seen).total_seconds() < GRANT_CACHE_SECONDS:
            return None
        pipeline = self.store.get_pipeline(execution.pipeline_arn)
        if pipeline is None or pipeline.granted(role) is None:
            self._granted.pop(key, None)
            return untrusted_role_reason(execution, pipeline is not None)
        self._granted[key] = now
        return None
