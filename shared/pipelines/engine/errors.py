"""Typed errors of the engine; each carries the service's message and error code."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.errors import ConflictError, ResourceNotFound, ValidationError


class ExecutionNotFound(ResourceNotFound):
    def __init__(self, execution_ref: str) -> None:
        super().__init__(f"Pipeline execution '{execution_ref}' does not exist.")


class PipelineNotFound(ResourceNotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Pipeline '{name}' does not exist.")


class PipelineVersionNotFound(ResourceNotFound):
    def __init__(self, pipeline_arn: str, version_id: int) -> None:
        super().__init__(f"Pipeline version {version_id} of {pipeline_arn} does not exist.")


class UnsupportedRunConditions(ValidationError):
    """DependsOn triggers this engine cannot honour; refused rather than run as plain dependencies."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("The pipeline cannot run here:\n" + "\n".join(self.problems))


class UnsupportedSteps(ValidationError):
    """Steps whose type has no runner in this runtime; raised before anything starts."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"step {name}: {reason}" for name, reason in self.problems]
        super().__init__("The pipeline cannot run here:\n" + "\n".join(lines))


class InvalidSelection(ValidationError):
    """A SelectiveExecutionConfig the service would reject."""


class ExecutionStateConflict(ConflictError):
    """The execution is not in a state that allows the operation (stop, retry, update)."""


class CallbackTokenNotFound(ResourceNotFound):
    """A callback token that is unknown, already used, or belongs to a finished attempt."""

    def __init__(self, token: str) -> None:
        super().__init__(f"Callback token '{token}' is not valid or has expired.")


class CallbackStepConflict(ConflictError):
    """The token's step is no longer waiting for a callback."""


class InvalidCallbackOutputs(ValidationError):
    """Callback output parameters the service would reject."""
