"""What a failure does to the rest of the execution: the one place this policy lives.

Our reading (DESIGN.md "Failure"): once a step has failed for good, no new step starts; the
steps already running finish, then the execution is Failed. A Fail step fails the execution,
also only after the concurrent steps complete. Its ErrorMessage is the *step's* FailureReason;
the execution's reason is the service's generic "Step failure: One or multiple steps failed"
(naming the failed steps), as for any other failure: the SageMaker SDK's integration tests
assert exactly that (``tests/integ/sagemaker/workflow/test_fail_steps.py``). A stop ends Stopped,
or Failed when a step that was not asked to stop (a Lambda) failed meanwhile.

Run conditions (the v3 SDK's ``DependsOn`` triggers, see readiness.py) refine this. A failure
that some step waits for (a ``Failed`` or ``Any`` trigger on the failed step, that step being
allowed to run) is *catchable*: it does not stop other steps from starting. When a handler of
this run was reached through the failure, the failure is *handled*, and an execution whose
only failures are handled ends ``CompletedWithFailures`` (the SDK's ``StepDependency`` docs: "A
pipeline whose steps run on a failed upstream step ends in the CompletedWithFailures status
instead of Failed"). A catchable failure whose handler never ran (its other dependencies were
not met) is unhandled and fails the execution as usual. A Fail step always fails it.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import UTC, datetime

from pipelines.store.base import StepRecord

GENERIC_FAILURE = "Step failure: One or multiple steps failed."
COMPLETED_WITH_FAILURES = "CompletedWithFailures"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def blocks(record: StepRecord, catchable: Set[str] = frozenset()) -> bool:
    """Whether this record of the current run stops new steps from starting: it failed for good
    and nothing waits for that failure (``catchable``)."""
    return record.status == "Failed" and record.step_name not in catchable


def final_status(
    stopping: bool, current_steps: list[StepRecord], handled: Set[str] = frozenset()
) -> tuple[str, str | None]:
    """(status, FailureReason) of an execution with nothing left running or startable;
    ``handled`` names the failed steps a run-condition handler was reached through."""
    failed = [r for r in current_steps if r.status == "Failed"]
    unhandled = [r for r in failed if r.step_name not in handled or r.step_type == "Fail"]
    if unhandled:
        return "Failed", _naming(unhandled)
    if stopping:
        return "Stopped", None
    if failed:
        return COMPLETED_WITH_FAILURES, _naming(failed)
    return "Succeeded", None


def _naming(failed: list[StepRecord]) -> str:
    """Earliest failure first (then by name), whatever order the store returned the records in."""
    ordered = sorted(failed, key=lambda r: (r.ended_at or r.started_at or _EPOCH, r.step_name))
    return f"{GENERIC_FAILURE} Failed steps: {', '.join(r.step_name for r in ordered)}."
