"""``pipelines lineage EXECUTION``: the lineage an execution's Lineage steps recorded."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from pipelines.cli.app import ConfigOption, app
from pipelines.cli.progress import plain_table
from pipelines.cli.run_commands import (
    ExecutionArgument,
    _clean_errors,
    _opened_runtime,
    _stdout,
    resolve_execution,
)
from pipelines.cli.run_output import to_json
from pipelines.lineage.render import rows, to_dot, to_mermaid
from pipelines.lineage.sqlite import SqliteLineageStore


class LineageFormat(StrEnum):
    TABLE = "table"
    MERMAID = "mermaid"
    DOT = "dot"
    JSON = "json"


@app.command("lineage")
def lineage_command(
    execution: ExecutionArgument,
    output_format: Annotated[
        LineageFormat,
        typer.Option("--format", "-f", help="A table, a Mermaid flowchart, Graphviz DOT, or JSON rows."),
    ] = LineageFormat.TABLE,
    config: ConfigOption = None,
) -> None:
    """The actions, artifacts, contexts and associations an execution's Lineage steps recorded."""
    with _clean_errors(), _opened_runtime(config) as runtime:
        record = resolve_execution(runtime.store, execution)
        entities, associations = SqliteLineageStore(runtime.config.database_path).lineage_of(
            record.execution_arn
        )
    if output_format is LineageFormat.MERMAID:
        sys.stdout.write(to_mermaid(entities, associations))
    elif output_format is LineageFormat.DOT:
        sys.stdout.write(to_dot(entities, associations))
    elif output_format is LineageFormat.JSON:
        typer.echo(to_json(rows(entities, associations)))
    elif not entities and not associations:
        typer.echo(f"execution {record.execution_id} recorded no lineage")
    else:
        table = plain_table(("Kind", "Name", "Type", "ARN", "Step"), wrapping="ARN")
        for row in rows(entities, associations):
            table.add_row(*(str(row[k] or "") for k in ("Kind", "Name", "Type", "Arn", "StepName")))
        _stdout().print(table)
