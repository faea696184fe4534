"""``pipelines plan``: the translation of a definition into StepRunner states, before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.definition.models import PipelineDefinition
from pipelines.stepfunctions.asl import BACKOFF, DONE, REPORT, ROUTE
from pipelines.stepfunctions.errors import UnsupportedInCloud, UnsupportedStep
from pipelines.stepfunctions.requests import runner_input_template
from pipelines.stepfunctions.routes import ENGINE_CALLS, Route, route_for

JOB_NAME_PLACEHOLDER = "${JobName}"
ROLE_ARN_PLACEHOLDER = "${PipelineRoleArn}"
EXECUTION_ARN_PLACEHOLDER = "${PipelineExecutionArn}"
ATTEMPT_PLACEHOLDER = "${Attempt}"
DELAY_PLACEHOLDER = "${RetryDelaySeconds}"
CALLBACK_TOKEN_PLACEHOLDER = "${CallbackToken}"
EXPERIMENT_CONFIG_TEMPLATE = {"ExperimentName": "${ExperimentName}", "TrialName": "${TrialName}"}


@dataclass(frozen=True)
class PlannedStep:
    """One step's route and StepRunner input template (None for steps the engine decides)."""

    name: str
    type: str
    route: Route
    integrations: tuple[str, ...]
    states: tuple[str, ...]
    input_template: dict[str, Any] | None

    @property
    def credentials(self) -> dict[str, str] | None:
        """The Task ``Credentials`` the route's states run with."""
        return None if self.input_template is None else {"RoleArn": self.input_template["roleArn"]}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "route": self.route.value,
            "integrations": list(self.integrations),
            "states": list(self.states),
            "credentials": self.credentials,
            "input": self.input_template,
        }


def plan_definition(definition: PipelineDefinition) -> list[PlannedStep]:
    """Every step (condition branches included, depth-first), with its route and template.

    Raises :class:`UnsupportedInCloud` naming every step the cloud cannot run.
    """
    planned: list[PlannedStep] = []
    unsupported: list[UnsupportedStep] = []
    experiment_config = EXPERIMENT_CONFIG_TEMPLATE if definition.experiments_enabled else None
    for step in definition.all_steps():
        try:
            step_route = route_for(step)
        except UnsupportedInCloud as exc:
            unsupported.extend(exc.steps)
            continue
        template = runner_input_template(
            step,
            job_name=JOB_NAME_PLACEHOLDER,
            role_arn=ROLE_ARN_PLACEHOLDER,
            execution_arn=EXECUTION_ARN_PLACEHOLDER,
            attempt=ATTEMPT_PLACEHOLDER,
            delay=DELAY_PLACEHOLDER,
            experiment_config=experiment_config,
            callback_token=CALLBACK_TOKEN_PLACEHOLDER,
        )
        states = (BACKOFF, ROUTE, *step_route.states, REPORT, DONE) if step_route.runs_in_step_runner else ()
        integrations = step_route.integrations or ENGINE_CALLS.get(step.type, ())
        planned.append(PlannedStep(step.name, step.type, step_route.route, integrations, states, template))
    if unsupported:
        raise UnsupportedInCloud(unsupported)
    return planned
