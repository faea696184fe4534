"""RegisterModel steps (a CreateModelPackage request): add a version to the local model registry.

The group is created when absent, as the service does for pipelines; the version number grows
per group; the approval status is the request's or ``PendingManualApproval``. The attempt's job
name is the registration's idempotency key, so an interrupted attempt that runs again gets its
first version back instead of registering a second one.
"""

from __future__ import annotations

from typing import ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import ValidationError
from pipelines.registry import ModelRegistry
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult


class RegisterModelRunner:
    step_type: ClassVar[str] = "RegisterModel"

    def check(self, step: Step, config: Config) -> str | None:
        return None  # nothing outside the state database is needed

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        if not isinstance(request.arguments, dict):
            raise StepFailed(
                "Arguments must be a CreateModelPackage request object", error_code="ValidationException"
            )
        registry = ModelRegistry.from_config(ctx.config)
        try:
            package = registry.create_model_package(
                request.arguments, create_group=True, idempotency_key=request.job_name
            )
        except ValidationError as exc:
            raise StepFailed(str(exc), error_code=exc.code) from exc
        ctx.log(
            f"registered {package['ModelPackageArn']} ({package.get('ModelApprovalStatus', 'unversioned')})"
        )
        return StepResult(properties=package, metadata={"RegisterModel": {"Arn": package["ModelPackageArn"]}})


RUNNERS = [RegisterModelRunner()]
