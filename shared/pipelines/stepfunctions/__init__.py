"""The cloud runtime's Step Functions side: the two fixed state machines (PipelineExecution and
StepRunner) and the translation of each definition step into a StepRunner input.

Nothing here calls AWS: the engine starts executions with these inputs, CDK deploys these
definitions, and ``pipelines asl`` / ``pipelines plan`` print them.
"""

from __future__ import annotations

from pipelines.stepfunctions.asl import (
    DEFINITION_SUBSTITUTIONS,
    ENGINE_ACTIONS,
    pipeline_execution_definition,
    render_definition,
    step_runner_definition,
)
from pipelines.stepfunctions.errors import (
    RunnerInputTooLarge,
    SubstitutionMissing,
    UnresolvedRequest,
    UnsupportedInCloud,
    UnsupportedStep,
)
from pipelines.stepfunctions.naming import step_runner_execution_name
from pipelines.stepfunctions.plan import PlannedStep, plan_definition
from pipelines.stepfunctions.requests import dump_input, step_runner_input
from pipelines.stepfunctions.routes import CLOUD_STEP_TYPES, ROUTES, Route, RouteSpec, StepRoute, route_for

__all__ = [
    "CLOUD_STEP_TYPES",
    "DEFINITION_SUBSTITUTIONS",
    "ENGINE_ACTIONS",
    "ROUTES",
    "PlannedStep",
    "Route",
    "RouteSpec",
    "RunnerInputTooLarge",
    "StepRoute",
    "SubstitutionMissing",
    "UnresolvedRequest",
    "UnsupportedInCloud",
    "UnsupportedStep",
    "dump_input",
    "pipeline_execution_definition",
    "plan_definition",
    "render_definition",
    "route_for",
    "step_runner_definition",
    "step_runner_execution_name",
    "step_runner_input",
]
