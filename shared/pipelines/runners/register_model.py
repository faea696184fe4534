"""RegisterModel steps (a CreateModelPackage request): add a version to the local model registry.

The group is created when absent, as the service does for pipelines; the version number grows
per group; the approval status is the request's or ``PendingManualApproval``. An unversioned
model whose name the SDK popped is named after the attempt's job name. The attempt's job
name is the registration's idempotency key, so an interrupted attempt that runs again gets its
first version back instead of registering a second one.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipelines.registry import ModelRegistry
from pipelines.runners.base import RunContext, StepResult
from pipelines.runners.model import RegistryStepRunner


class RegisterModelRunner(RegistryStepRunner):
    step_type: ClassVar[str] = "RegisterModel"
    request_name: ClassVar[str] = "CreateModelPackage"

    def record(
        self, registry: ModelRegistry, arguments: dict[str, Any], job_name: str, ctx: RunContext
    ) -> StepResult:
        if "ModelPackageGroupName" not in arguments and "ModelPackageName" not in arguments:
            # the SDK pops the ModelPackageName of an unversioned model ("it will be overridden at
            # pipeline execution time"): the service names the package like a job, after the step
            # (the SDK's test_model_steps.py finds "pytorch-register" in it)
            arguments = {**arguments, "ModelPackageName": job_name}
        package = registry.create_model_package(arguments, create_group=True, idempotency_key=job_name)
        ctx.log(
            f"registered {package['ModelPackageArn']} ({package.get('ModelApprovalStatus', 'unversioned')})"
        )
        return StepResult(properties=package, metadata={"RegisterModel": {"Arn": package["ModelPackageArn"]}})


RUNNERS = [RegisterModelRunner()]
