"""What a failure does to the rest of the execution: the one place this policy lives.

Our reading (DESIGN.md "Failure"): once a step has failed for good, no new step starts; the
steps already running finish, then the execution is Failed. A Fail step fails the execution
with its ErrorMessage, also only after the concurrent steps complete. A stop ends Stopped,
or Failed when a step that was not asked to stop (a Lambda) failed meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.store.base import StepRecord

GENERIC_FAILURE = "Step failure: One or multiple steps failed."


def blocks_new_starts(current_steps: Iterable[StepRecord]) -> bool:
    """True once any step of the current run has failed for good."""
    return any(record.status == "Failed" for record in current_steps)


def final_status(stopping: bool, current_steps: list[StepRecord]) -> tuple[str, str | None]:
    """(status, FailureReason) of an execution with nothing left running or startable."""
    failed = [r for r in current_steps if r.status == "Failed"]
    fail_steps = [r for r in failed if r.step_type == "Fail"]
    if fail_steps:
        message = fail_steps[0].metadata.get("Fail", {}).get("ErrorMessage")
        return "Failed", str(message) if message is not None else GENERIC_FAILURE
    if failed:
        names = ", ".join(r.step_name for r in failed)
        return "Failed", f"{GENERIC_FAILURE} Failed steps: {names}."
    if stopping:
        return "Stopped", None
    return "Succeeded", None
