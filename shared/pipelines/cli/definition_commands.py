"""``pipelines validate`` and ``pipelines graph``: check definitions, draw their DAG."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from pipelines.cli.app import ConfigOption, app, checked_config
from pipelines.config import Config
from pipelines.definition import Problem, Report, check_definition
from pipelines.definition.diagram import to_dot, to_mermaid


class GraphFormat(StrEnum):
    MERMAID = "mermaid"
    DOT = "dot"


def _read(path: Path) -> tuple[bytes | None, Problem | None]:
    try:
        return path.read_bytes(), None
    except OSError as exc:
        return None, Problem(kind="io", message=f"cannot read the file: {exc.strerror or exc}")


def check_file(path: Path) -> Report:
    """A report for a file, including the file that cannot be read."""
    data, problem = _read(path)
    if data is None:
        assert problem is not None
        return Report(definition=None, errors=[problem], warnings=[])
    return check_definition(data)


def _print_problem(console: Console, problem: Problem, style: str, label: str) -> None:
    where = problem.path
    if problem.line is not None:
        position = f"line {problem.line}, column {problem.column}"
        where = f"{where} ({position})" if where else position
    where = where or "(document)"
    console.print(f"  [{style}]{label}[/] [bold]{escape(where)}[/] [dim]{problem.kind}[/]")
    console.print(f"      {escape(problem.message)}")
    if problem.snippet:
        console.print(escape(problem.snippet), style="dim")


def _print_report(console: Console, path: Path, report: Report) -> None:
    if report.ok:
        steps = sum(1 for _ in report.definition.all_steps()) if report.definition else 0
        note = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        console.print(f"[green]✓[/] [bold]{escape(str(path))}[/]: valid ({steps} steps{note})")
    else:
        console.print(f"[red]✗[/] [bold]{escape(str(path))}[/]: {len(report.errors)} error(s)")
    for problem in report.errors:
        _print_problem(console, problem, "red", "error")
    for problem in report.warnings:
        _print_problem(console, problem, "yellow", "warning")


@app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Pipeline definition JSON files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Check definitions against the service's rules. Exit 0 when every file is valid, 1 otherwise.

    With ``--config``, steps that the embedded runtime cannot run under that config (an
    unmapped image or Lambda ARN, a step type it does not run) are warnings of kind
    ``embedded-runtime``: the service would accept the definition, ``pipelines run`` would not.
    """
    reports = [(path, check_file(path)) for path in files]
    if config is not None:
        reports = [(path, _with_local_warnings(report, checked_config(config))) for path, report in reports]
    all_valid = all(report.ok for _, report in reports)
    if as_json:
        document: dict[str, Any] = {
            "valid": all_valid,
            "files": [{"file": str(path), **report.to_dict()} for path, report in reports],
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        console = Console(highlight=False, soft_wrap=True)
        for path, report in reports:
            _print_report(console, path, report)
    raise typer.Exit(0 if all_valid else 1)


def _with_local_warnings(report: Report, config: Config) -> Report:
    if not report.ok or report.definition is None:
        return report
    from pipelines.runners.registry import default_registry

    problems = default_registry().unsupported_steps(report.definition, config)
    local = [
        Problem(kind="embedded-runtime", message=f"step {name}: {reason}", severity="warning")
        for name, reason in problems
    ]
    return replace(report, warnings=[*report.warnings, *local])


@app.command("graph")
def graph_command(
    file: Annotated[Path, typer.Argument(help="Pipeline definition JSON file.")],
    output_format: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Mermaid flowchart or Graphviz DOT.")
    ] = GraphFormat.MERMAID,
    config: ConfigOption = None,
) -> None:
    """Print the step DAG with step types; condition branches are edges labelled if/else.

    A definition that parses is drawn even when it breaks a rule (a cycle is worth seeing);
    its errors go to stderr. One that does not parse exits 1. ``--config`` is checked (the
    drawing does not depend on it).
    """
    if config is not None:
        checked_config(config)
    report = check_file(file)
    if report.graph is None:
        _print_report(Console(stderr=True, highlight=False, soft_wrap=True), file, report)
        raise typer.Exit(1)
    text = to_mermaid(report.graph) if output_format is GraphFormat.MERMAID else to_dot(report.graph)
    sys.stdout.write(text)
    if report.errors:
        message = (
            f"note: {file} has {len(report.errors)} validation error(s); see `pipelines validate {file}`"
        )
        Console(stderr=True, highlight=False, soft_wrap=True).print(escape(message), style="yellow")
