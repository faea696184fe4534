"""In the cloud, the job, model and registry operations are SageMaker's own: forwarded.

The cloud runtime's jobs and models are real SageMaker resources, created by the StepRunner
under the pipeline's role, so the api Lambda answers Describe/List/Stop*Job, ListTraining-
JobsForHyperParameterTuningJob and Describe/List/DeleteModel by calling SageMaker itself. A
caller's SigV4 signature is for our API and cannot be replayed to another host, so the calls are
made with the api Lambda's role, which IAM allows only on resources whose names carry the
pipeline job prefix (``pipelines-`` by default, the names the engine gives jobs and models);
these handlers refuse any other name before calling, and List* answers keep only such names.
Model registry reads and writes (model package groups and packages, approval included) go to
the real registry: SageMaker then emits its own "Model Package State Change" events.

Only the deployment's own account sees them: a sharing account is refused, as it may read a
shared pipeline's executions but not the owner's jobs.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pipelines.api.errors import AccessDenied, ServiceError
from pipelines.api.ops import snake_case
from pipelines.api.ops.jobs import JOB_APIS
from pipelines.api.wire import CallContext, Handler
from pipelines.errors import ResourceNotFound

DEFAULT_JOB_PREFIX = "pipelines-"
# (operation, member naming the resource) for jobs and models our pipelines made
_NAMED_READS = [
    *((api.describe_operation, f"{api.noun}Name") for api in JOB_APIS),
    *((api.stop_operation, f"{api.noun}Name") for api in JOB_APIS),
    ("ListTrainingJobsForHyperParameterTuningJob", "HyperParameterTuningJobName"),
    ("DescribeModel", "ModelName"),
    ("DeleteModel", "ModelName"),
]
# List operation -> (summaries member, name member in each summary)
_LISTS = {
    **{api.list_operation: (f"{api.noun}Summaries", f"{api.noun}Name") for api in JOB_APIS},
    "ListModels": ("Models", "ModelName"),
}
REGISTRY_OPERATIONS = (
    "CreateModelPackageGroup",
    "DescribeModelPackageGroup",
    "ListModelPackageGroups",
    "DeleteModelPackageGroup",
    "CreateModelPackage",
    "DescribeModelPackage",
    "ListModelPackages",
    "UpdateModelPackage",
    "DeleteModelPackage",
)


class SageMakerForwarder:
    """Handlers that call SageMaker with ``client`` (the api Lambda's role) for ``account_id``."""

    def __init__(self, client: Any, account_id: str, *, job_prefix: str = DEFAULT_JOB_PREFIX) -> None:
        self.client = client
        self.account_id = account_id
        self.job_prefix = job_prefix

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {op: self._named(op, member) for op, member in _NAMED_READS}
        handlers.update({op: self._listed(op, *members) for op, members in _LISTS.items()})
        handlers.update({op: self._call_for(op) for op in REGISTRY_OPERATIONS})
        return handlers

    def _call(self, operation: str, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        if ctx.account_id != self.account_id:
            raise AccessDenied(
                f"User: arn:aws:iam::{ctx.account_id}:root is not authorized to perform: "
                f"sagemaker:{operation}: jobs, models and the model registry belong to the deployment's account"
            )
        try:
            response = dict(getattr(self.client, snake_case(operation))(**params))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            raise ServiceError(
                str(error.get("Code", "ValidationException")), str(error.get("Message", exc)), status
            ) from exc
        response.pop("ResponseMetadata", None)
        return response

    def _ours(self, name: str) -> bool:
        return name.lower().startswith(self.job_prefix.lower())

    def _call_for(self, operation: str) -> Handler:
        return lambda params, ctx: self._call(operation, params, ctx)

    def _named(self, operation: str, member: str) -> Handler:
        def forward(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            name = str(params[member])
            if not self._ours(name):
                # not one of ours: as if it did not exist (the role could not read it anyway)
                raise ResourceNotFound(f"Could not find requested job with name {name}")
            return self._call(operation, params, ctx)

        return forward

    def _listed(self, operation: str, summaries: str, name: str) -> Handler:
        def forward(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
            asked = dict(params)
            contains = asked.get("NameContains")
            if not contains:  # let SageMaker narrow the listing to our names
                asked["NameContains"] = self.job_prefix.rstrip("-")
            response = self._call(operation, asked, ctx)
            response[summaries] = [s for s in response.get(summaries, []) if self._ours(str(s.get(name, "")))]
            return response

        return forward


def forwarded_handlers(
    client: Any, account_id: str, *, job_prefix: str = DEFAULT_JOB_PREFIX
) -> dict[str, Handler]:
    return SageMakerForwarder(client, account_id, job_prefix=job_prefix).handlers()
