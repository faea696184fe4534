"""EndpointConfig and Endpoint steps on local endpoints (:mod:`pipelines.hosting`).

``EndpointConfig`` (a CreateEndpointConfig request) records the config; the same request again
(a retried or resumed attempt, a cached re-run) gets the existing config back. Its properties
are the DescribeEndpointConfig response.

``Endpoint`` (a CreateEndpoint request) creates the endpoint, or updates it to the request's
config when it exists ("the pipeline chooses create-vs-update based on endpoint existence"),
then waits until it is InService; a model that cannot load fails the step with the endpoint's
FailureReason. Its properties are the DescribeEndpoint response. The endpoint is served by
this process's :class:`~pipelines.hosting.EndpointHost`: by ``pipelines serve`` for the
executions it drives, by a ``pipelines run`` while it runs (the next ``pipelines serve`` brings
it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.errors import ValidationError
from pipelines.hosting import EndpointHost
from pipelines.runners.base import RunContext, StepFailed, StepRequest, StepResult


def _request(request: StepRequest, name: str) -> dict[str, Any]:
    if not isinstance(request.arguments, Mapping):
        raise StepFailed(f"Arguments must be a {name} request object", error_code="ValidationException")
    return {k: v for k, v in request.arguments.items() if k != "Tags" or v}


class EndpointConfigRunner:
    step_type: ClassVar[str] = "EndpointConfig"

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        arguments = _request(request, "CreateEndpointConfig")
        try:
            record = EndpointHost.for_config(ctx.config).create_endpoint_config(arguments)
        except ValidationError as exc:
            raise StepFailed(str(exc), error_code=exc.code) from exc
        ctx.log(f"endpoint config {record['EndpointConfigName']} ({record['EndpointConfigArn']})")
        return StepResult(
            properties=record, metadata={"EndpointConfig": {"Arn": record["EndpointConfigArn"]}}
        )


class EndpointRunner:
    step_type: ClassVar[str] = "Endpoint"

    def check(self, step: Step, config: Config) -> str | None:
        return None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        arguments = _request(request, "CreateEndpoint")
        host = EndpointHost.for_config(ctx.config)
        name = str(arguments.get("EndpointName"))
        try:
            existing = host.records.find_endpoint(name)
            if existing is None:
                ctx.log(f"creating endpoint {name}")
                host.create_endpoint(arguments)
            else:
                ctx.log(f"updating endpoint {name} to config {arguments.get('EndpointConfigName')}")
                host.update_endpoint(
                    {k: v for k, v in arguments.items() if k in ("EndpointName", "EndpointConfigName")}
                )
            record = host.wait(name, cancel=ctx.cancel)
        except ValidationError as exc:
            raise StepFailed(str(exc), error_code=exc.code) from exc
        metadata = {"Endpoint": {"Arn": record["EndpointArn"]}}
        if ctx.cancel.is_set() and record["EndpointStatus"] != "InService":
            raise StepFailed(
                f"step {request.step_name}: stopped while endpoint {name} came up", metadata=metadata
            )
        if record["EndpointStatus"] != "InService" or (existing is not None and record.get("FailureReason")):
            reason = record.get("FailureReason") or f"endpoint {name} is {record['EndpointStatus']}"
            raise StepFailed(f"step {request.step_name}: endpoint {name}: {reason}", metadata=metadata)
        _, port = host.target(name)
        ctx.log(
            f"endpoint {name} is InService on http://127.0.0.1:{port}, served by this process while it runs "
            "(pipelines serve brings it back after)"
        )
        return StepResult(properties=record, metadata=metadata)


RUNNERS = [EndpointConfigRunner(), EndpointRunner()]
