"""Model steps (``Type: "Model"``, a CreateModel request): record the model in the local registry.

The model is named after the attempt's job name, as the service names it, and the step's
properties are the DescribeModel response (``Steps.X.ModelName`` is what later steps read).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import ValidationError
from pipelines.registry import ModelRegistry, RegistryConflict
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult


class RegistryStepRunner(ABC):
    """Steps whose only effect is a record in the local model registry (Model, RegisterModel).

    They need nothing outside the state database, and a request the registry refuses fails the
    step with the registry's service code (not retryable), as the service's own API call would.
    """

    step_type: ClassVar[str]
    request_name: ClassVar[str]  # the SageMaker API request the step's Arguments are

    def check(self, step: Step, config: Config) -> str | None:
        return None  # nothing outside the state database is needed

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        if not isinstance(request.arguments, dict):
            raise StepFailed(
                f"Arguments must be a {self.request_name} request object", error_code="ValidationException"
            )
        registry = ModelRegistry.from_config(ctx.config)
        try:
            return self.record(registry, request.arguments, request.job_name, ctx)
        except ValidationError as exc:
            raise StepFailed(str(exc), error_code=exc.code) from exc

    @abstractmethod
    def record(
        self, registry: ModelRegistry, arguments: dict[str, Any], job_name: str, ctx: RunContext
    ) -> StepResult:
        """Write the step's record (``job_name`` is unique to the attempt) and return its properties."""


class ModelRunner(RegistryStepRunner):
    step_type: ClassVar[str] = "Model"
    request_name: ClassVar[str] = "CreateModel"

    def record(
        self, registry: ModelRegistry, arguments: dict[str, Any], job_name: str, ctx: RunContext
    ) -> StepResult:
        try:
            model = registry.create_model({**arguments, "ModelName": job_name})
        except RegistryConflict:
            # The job name is unique to this attempt, so the model is ours from an earlier,
            # interrupted run of the same attempt: reuse it instead of failing.
            model = registry.describe_model(job_name)
        ctx.log(f"created model {model['ModelName']} ({model['ModelArn']})")
        return StepResult(properties=model, metadata={"Model": {"Arn": model["ModelArn"]}})


RUNNERS = [ModelRunner()]
