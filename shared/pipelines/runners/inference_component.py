"""InferenceComponent steps (the v3 SDK's ``InferenceComponentStep``) on local endpoints
(:mod:`pipelines.hosting.components`).

The step's Arguments are a CreateInferenceComponent request. The component is created, or
updated to the request's Specification and RuntimeConfig when one of that name exists ("the
pipeline chooses create-vs-update based on component existence"), then the step waits until it
is InService; a model that cannot load fails the step with the component's FailureReason. Its
properties are the DescribeInferenceComponent response. Neither cached nor retried, as the SDK
documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import ValidationError
from pipelines.hosting import EndpointHost
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult

UPDATE_MEMBERS = ("InferenceComponentName", "Specification", "RuntimeConfig", "DeploymentConfig")
"""The members of a CreateInferenceComponent request that UpdateInferenceComponent takes."""


class InferenceComponentRunner:
    step_type: ClassVar[str] = "InferenceComponent"

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        if not isinstance(request.arguments, Mapping):
            raise StepFailed(
                "Arguments must be a CreateInferenceComponent request object",
                error_code="ValidationException",
            )
        arguments = {k: v for k, v in request.arguments.items() if k != "Tags"}
        components = EndpointHost.for_config(ctx.config).components
        name = str(arguments.get("InferenceComponentName"))
        try:
            updating = components.exists(name)
            if updating:
                ctx.log(f"updating inference component {name}")
                components.update({k: v for k, v in arguments.items() if k in UPDATE_MEMBERS})
            else:
                ctx.log(f"creating inference component {name} on endpoint {arguments.get('EndpointName')}")
                components.create(arguments)
            record = components.wait(name, cancel=ctx.cancel)
        except ValidationError as exc:
            raise StepFailed(str(exc), error_code=exc.code) from exc
        metadata = {"InferenceComponent": {"Arn": record["InferenceComponentArn"]}}
        status = record["InferenceComponentStatus"]
        if ctx.cancel.is_set() and status != "InService":
            raise StepFailed(f"step {request.step_name}: stopped while inference component {name} came up")
        if status != "InService" or (updating and record.get("FailureReason")):
            reason = record.get("FailureReason") or f"inference component {name} is {status}"
            raise StepFailed(
                f"step {request.step_name}: inference component {name}: {reason}", metadata=metadata
            )
        ctx.log(
            f"inference component {name} is InService on endpoint {record['EndpointName']}, served by this "
            "process while it runs (invocations start a server for it in pipelines serve after)"
        )
        return StepResult(properties=record, metadata=metadata)


RUNNERS = [InferenceComponentRunner()]
