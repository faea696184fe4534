"""Why a local job could not run or did not succeed.

Every failure is a :class:`StepFailed` (the engine's contract) whose ``error_code`` says how the
engine should classify it: ``ClientError`` for problems in the request or its inputs (retrying
cannot help), ``AlgorithmError`` for the user's code failing, ``InternalServerError`` for the
local machinery failing, and ``JobStopped`` when the execution was stopped.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipelines.runners.base import StepFailed

CLIENT_ERROR = "ClientError"
ALGORITHM_ERROR = "AlgorithmError"
INTERNAL_ERROR = "InternalServerError"
STOPPED = "JobStopped"
MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"

FAILURE_REASON_LIMIT = 1024  # DescribeTrainingJob.FailureReason is at most 1024 characters


def clip_reason(text: str, limit: int = FAILURE_REASON_LIMIT) -> str:
    """Keep the start (what failed) and the end (the error itself) of an overlong reason."""
    if len(text) <= limit:
        return text
    head = limit // 3
    return f"{text[:head]} ... {text[-(limit - head - 5) :]}"


class JobError(StepFailed):
    """A local job failed; ``reason`` already names the step, the job and the cause. Each
    subclass is one failure class (its ``kind_error_code``); a plain JobError names its code."""

    kind_error_code: ClassVar[str | None] = None

    def __init__(
        self, reason: str, *, error_code: str | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        code = error_code or self.kind_error_code
        if code is None:
            raise TypeError(f"{type(self).__name__} needs an error_code")
        super().__init__(clip_reason(reason), error_code=code, metadata=metadata)


class JobRequestError(JobError):
    """The job's request cannot be carried out here (bad field, unsupported feature, unmapped image)."""

    kind_error_code = CLIENT_ERROR


class InputNotFound(JobError):
    """An input object or prefix the job reads does not exist in the object store."""

    kind_error_code = CLIENT_ERROR


class AlgorithmError(JobError):
    """The job's own code failed: non-zero exit or a /opt/ml/output/failure file."""

    kind_error_code = ALGORITHM_ERROR


class MaxRuntimeExceeded(JobError):
    """StoppingCondition.MaxRuntimeInSeconds ran out; the job was killed."""

    kind_error_code = MAX_RUNTIME_EXCEEDED


class JobStopped(JobError):
    """The execution was stopped while the job ran; the job was killed (the step ends Stopped)."""

    kind_error_code = STOPPED


class SandboxUnavailable(JobError):
    """The private mount namespace that presents /opt/ml cannot be created on this machine."""

    kind_error_code = INTERNAL_ERROR


class WarmStartError(Exception):
    """A warm interpreter could not start a job; the job then starts cold (runners/jobs/warm.py)."""
