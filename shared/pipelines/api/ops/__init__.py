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
from pipelines.api.ops.pipelines import PipelineExists, PipelineOperations
from pipelines.api.ops.search import SearchOperations
from pipelines.api.wire import Handler

PIPELINE_OPERATIONS = (
    "CreatePipeline",
    "UpdatePipeline",
    "DeletePipeline",
    "DescribePipeline",
    "ListPipelines",
    "ListPipelineVersions",
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


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def sagemaker_handlers(ops: Operations) -> dict[str, Handler]:
    """Operation name -> handler, for :class:`pipelines.api.wire.JsonService`."""
    pipelines = PipelineOperations(ops)
    executions = ExecutionOperations(ops)
    handlers: dict[str, Handler] = {name: getattr(pipelines, _snake(name)) for name in PIPELINE_OPERATIONS}
    handlers.update({name: getattr(executions, _snake(name)) for name in EXECUTION_OPERATIONS})
    handlers["Search"] = SearchOperations(ops).search
    experiments = ExperimentOperations(ops)
    handlers.update({name: getattr(experiments, _snake(name)) for name in EXPERIMENT_OPERATIONS})
    return handlers


__all__ = [
    "ALLOW_EXECUTION_ACTIONS",
    "ALLOW_EXECUTION_PERMISSION",
    "EXECUTION_OPERATIONS",
    "EXPERIMENT_OPERATIONS",
    "PERMISSION_ACTIONS",
    "PIPELINE_OPERATIONS",
    "READ_ONLY_ACTIONS",
    "READ_ONLY_PERMISSION",
    "ExecutionRuntime",
    "NoSharing",
    "Operations",
    "PipelineExists",
    "SharingPolicy",
    "sagemaker_handlers",
]
