"""The SageMaker pipeline operations, transport-free: ``handler(params, context) -> result``.

Requests arrive validated against botocore's model (:mod:`pipelines.api.validation`);
results are plain dicts with ``datetime`` values, shaped for the wire by
:mod:`pipelines.api.shapes`. The same table serves ``pipelines serve`` (embedded) and the
api Lambda (cloud); only the :class:`Operations` dependencies differ.
"""

from __future__ import annotations

from pipelines.api.ops.access import (
    ALLOW_EXECUTION_ACTIONS,
    ALLOW_EXECUTION_PERMISSION,
    PERMISSION_ACTIONS,
    READ_ONLY_ACTIONS,
    READ_ONLY_PERMISSION,
    NoSharing,
    SharingPolicy,
)
from pipelines.api.ops.context import ExecutionRuntime, Operations
from pipelines.api.ops.executions import ExecutionOperations
from pipelines.api.ops.experiments import EXPERIMENT_OPERATIONS, ExperimentOperations
from pipelines.api.ops.jobs import JOB_APIS, JobSource, job_handlers
from pipelines.api.ops.pipelines import PipelineExists, PipelineOperations
from pipelines.api.ops.registry import Publish, registry_handlers
from pipelines.api.ops.search import SearchOperations
from pipelines.api.wire import Handler
from pipelines.registry import ModelRegistry

PIPELINE_OPERATIONS = (
    "CreatePipeline",
    "UpdatePipeline",
    "DeletePipeline",
    "DescribePipeline",
    "ListPipelines",
    "ListPipelineVersions",
    "UpdatePipelineVersion",
    "ListTags",
    "AddTags",
    "DeleteTags",
)
EXECUTION_OPERATIONS = (
    "StartPipelineExecution",
    "DescribePipelineExecution",
    "ListPipelineExecutions",
    "ListPipelineExecutionSteps",
    "StopPipelineExecution",
    "RetryPipelineExecution",
    "UpdatePipelineExecution",
    "DescribePipelineDefinitionForExecution",
    "ListPipelineParametersForExecution",
    "SendPipelineExecutionStepSuccess",
    "SendPipelineExecutionStepFailure",
)


def snake_case(name: str) -> str:
    """``DescribeProcessingJob`` -> ``describe_processing_job`` (handler and boto3 method names)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def sagemaker_handlers(
    ops: Operations,
    *,
    jobs: JobSource | None = None,
    registry: ModelRegistry | None = None,
    publish: Publish | None = None,
) -> dict[str, Handler]:
    """Operation name -> handler, for :class:`pipelines.api.wire.JsonService`; with ``jobs``
    (the embedded runtime's job records) also the job Describe/List/Stop operations, with
    ``registry`` the model and model registry operations (approvals announced by ``publish``)."""
    pipelines = PipelineOperations(ops)
    executions = ExecutionOperations(ops)
    handlers: dict[str, Handler] = {
        name: getattr(pipelines, snake_case(name)) for name in PIPELINE_OPERATIONS
    }
    handlers.update({name: getattr(executions, snake_case(name)) for name in EXECUTION_OPERATIONS})
    handlers["Search"] = SearchOperations(ops).search
    experiments = ExperimentOperations(ops)
    handlers.update({name: getattr(experiments, snake_case(name)) for name in EXPERIMENT_OPERATIONS})
    if jobs is not None:
        handlers.update(job_handlers(ops, jobs))
    if registry is not None:
        handlers.update(registry_handlers(ops, registry, publish or (lambda _events: None)))
    return handlers


__all__ = [
    "ALLOW_EXECUTION_ACTIONS",
    "ALLOW_EXECUTION_PERMISSION",
    "EXECUTION_OPERATIONS",
    "EXPERIMENT_OPERATIONS",
    "JOB_APIS",
    "PERMISSION_ACTIONS",
    "PIPELINE_OPERATIONS",
    "READ_ONLY_ACTIONS",
    "READ_ONLY_PERMISSION",
    "ExecutionRuntime",
    "JobSource",
    "NoSharing",
    "Operations",
    "PipelineExists",
    "SharingPolicy",
    "sagemaker_handlers",
    "snake_case",
]
