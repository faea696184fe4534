"""``pipelines asl`` and ``pipelines plan``: what the cloud runtime deploys and how it runs a definition."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pipelines.cli.app import ConfigOption, app, checked_config
from pipelines.definition import PipelineDefinition, load_definition, parse_definition
from pipelines.errors import PipelinesError
from pipelines.stepfunctions import (
    CLOUD_STEP_TYPES,
    PlannedStep,
    UnsupportedInCloud,
    pipeline_execution_definition,
    plan_definition,
    render_definition,
    step_runner_definition,
)


class Machine(StrEnum):
    STEP_RUNNER = "step-runner"
    PIPELINE_EXECUTION = "pipeline-execution"
    BOTH = "both"


_MACHINES = {
    Machine.STEP_RUNNER: ("StepRunner", step_runner_definition),
    Machine.PIPELINE_EXECUTION: ("PipelineExecution", pipeline_execution_definition),
}


@app.command("asl")
def asl_command(
    machine: Annotated[Machine, typer.Option(help="Which state machine to print.")] = Machine.BOTH,
    out: Annotated[
        Path | None, typer.Option(help="Write <machine>.asl.json files into this folder instead of printing.")
    ] = None,
    engine_arn: Annotated[
        str | None,
        typer.Option(help="Fill ${EngineFunctionArn} (CDK does this at deploy time; otherwise it stays)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the Step Functions definitions (ASL) of the cloud runtime's two state machines.

    ``--config`` is checked; the state machines do not depend on it.
    """
    if config is not None:
        checked_config(config)
    chosen = list(_MACHINES) if machine is Machine.BOTH else [machine]
    documents: dict[Machine, str] = {}
    try:
        for key in chosen:
            definition = _MACHINES[key][1]()
            documents[key] = (
                render_definition(definition, {"EngineFunctionArn": engine_arn})
                if engine_arn is not None
                else json.dumps(definition, indent=2)
            )
    except PipelinesError as exc:
        _fail(str(exc))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for key, text in documents.items():
            path = out / f"{key.value}.asl.json"
            path.write_text(text + "\n", encoding="utf-8")
            typer.echo(str(path))
        return
    if len(documents) == 1:
        typer.echo(next(iter(documents.values())))
        return
    combined = {_MACHINES[key][0]: json.loads(text) for key, text in documents.items()}
    typer.echo(json.dumps(combined, indent=2))


@app.command("plan")
def plan_command(
    file: Annotated[Path, typer.Argument(help="Pipeline definition JSON.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    check: Annotated[
        bool,
        typer.Option(help="Check the definition against the service rules first (--no-check parses only)."),
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Show how the cloud runtime runs each step: its StepRunner route, states and request template.

    Exits 1, naming every such step, when a step type cannot run in the cloud. ``--config`` is
    checked; the cloud plan does not depend on the local config.
    """
    if config is not None:
        checked_config(config)
    try:
        definition = _load(file, check=check)
        planned = plan_definition(definition)
    except UnsupportedInCloud as exc:
        lines = [f"  - {step.describe()}" for step in exc.steps]
        runs = f"The cloud runtime runs these step types: {', '.join(sorted(CLOUD_STEP_TYPES))}"
        _fail("\n".join([f"error: {len(exc.steps)} step(s) cannot run in the cloud runtime:", *lines, runs]))
    except PipelinesError as exc:
        _fail(f"error: {exc}")
    if as_json:
        typer.echo(json.dumps([step.to_json() for step in planned], indent=2))
        return
    _print_plan(planned)


def _load(file: Path, *, check: bool) -> PipelineDefinition:
    data = file.read_bytes()
    return load_definition(data) if check else parse_definition(data)


def _print_plan(planned: list[PlannedStep]) -> None:
    for index, step in enumerate(planned):
        if index:
            typer.echo("")
        typer.echo(f"{step.name} ({step.type}) -> route {step.route.value}")
        if step.input_template is None:
            typer.echo("  no StepRunner: the engine decides this step itself")
            continue
        typer.echo(f"  states: {' -> '.join(step.states)}")
        for integration in step.integrations:
            typer.echo(f"  integration: {integration}")
        typer.echo(f"  credentials: {json.dumps(step.credentials)}")
        rendered = json.dumps(step.input_template, indent=2).replace("\n", "\n  ")
        typer.echo(f"  input: {rendered}")


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code=1)
