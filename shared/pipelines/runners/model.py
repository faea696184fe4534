"""Model steps (``Type: "Model"``, a CreateModel request): record the model in the local registry.

The model is named after the attempt's job name, as the service names it, and the step's
properties are the DescribeModel response (``Steps.X.ModelName`` is what later steps read).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import ValidationError
from pipelines.registry import ModelRegistry, RegistryConflict
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult


class ModelRunner:
    step_type: ClassVar[str] = "Model"

    def check(self, step: Step, config: Config) -> str | None:
        return None  # nothing outside the state database is needed

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        if not isinstance(request.arguments, dict):
            raise StepFailed(
                "Arguments must be a CreateModel request object", error_code="ValidationException"
            )
        registry = ModelRegistry.from_config(ctx.config)
        create: dict[str, Any] = {**request.arguments, "ModelName": request.job_name}
        try:
            model = registry.create_model(create)
        except RegistryConflict:
            # The job name is unique to this attempt, so the model is ours from an earlier,
            # interrupted run of the same attempt: reuse it instead of failing.
            model = registry.describe_model(request.job_name)
        except ValidationError as exc:
            raise StepFailed(str(exc), error_code=exc.code) from exc
        ctx.log(f"created model {model['ModelName']} ({model['ModelArn']})")
        return StepResult(properties=model, metadata={"Model": {"Arn": model["ModelArn"]}})


RUNNERS = [ModelRunner()]
