"""``pipelines endpoints``: the local endpoints (list, delete), wherever they are served.

Endpoints are served by ``pipelines serve`` (which brings every recorded endpoint back when it
starts) or by the ``pipelines run`` that deployed them, while it runs; both read the same
records in the state database (:mod:`pipelines.hosting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pipelines.cli.app import ConfigOption, app
from pipelines.cli.run_commands import JsonOption, _clean_errors, _print_listing
from pipelines.config import load_config
from pipelines.hosting import EndpointHost, EndpointNotFound

endpoints_app = typer.Typer(
    help="Local endpoints: list them (the default), delete one, show their logs.", invoke_without_command=True
)
app.add_typer(endpoints_app, name="endpoints")


def endpoints_listing(host: EndpointHost) -> list[dict[str, Any]]:
    """Each endpoint's DescribeEndpoint response plus where it listens (``Url``), whether a
    live process serves it now (``Served``) and the inference components deployed onto it
    (``InferenceComponents``: name -> status)."""
    components: dict[str, dict[str, str]] = {}
    for component in host.components.list():
        components.setdefault(str(component["EndpointName"]).lower(), {})[
            str(component["InferenceComponentName"])
        ] = str(component["InferenceComponentStatus"])
    listing = []
    for row in host.records.endpoints():
        served = row.serving.host is not None and host.is_hosted(row)
        urls = {v.variant_name: f"http://127.0.0.1:{v.port}" for v in row.serving.variants}
        listing.append(
            {
                **row.record,
                "VariantUrls": urls if served else {},
                "Served": served,
                "InferenceComponents": components.get(row.name.lower(), {}),
            }
        )
    return listing


def endpoints_table(endpoints: Sequence[Mapping[str, Any]]) -> Table:
    table = Table("endpoint", "status", "config", "served at", "reason")
    for item in endpoints:
        urls = ", ".join(f"{k}: {v}" for k, v in item["VariantUrls"].items())
        if not urls and item.get("InferenceComponents"):
            urls = "components: " + ", ".join(f"{k} ({v})" for k, v in item["InferenceComponents"].items())
        table.add_row(
            str(item["EndpointName"]),
            str(item["EndpointStatus"]),
            str(item.get("EndpointConfigName", "")),
            urls
            or ("-" if item["EndpointStatus"] == "Failed" else "not served (pipelines serve brings it back)"),
            str(item.get("FailureReason", "")),
        )
    return table


@endpoints_app.callback()
def endpoints_command(ctx: typer.Context, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List the local endpoints with their status and where they listen."""
    if ctx.invoked_subcommand is not None:
        return
    with _clean_errors():
        listing = endpoints_listing(EndpointHost(load_config(config)))
    _print_listing(listing, as_json=as_json, table=endpoints_table, empty="no endpoints yet")


@endpoints_app.command("delete")
def delete_command(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    config: ConfigOption = None,
) -> None:
    """Delete an endpoint: its model servers stop (wherever they run) and its record goes."""
    with _clean_errors():
        host = EndpointHost(load_config(config))
        try:
            host.delete_endpoint(name)
        except EndpointNotFound as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"deleted endpoint {name}")


@endpoints_app.command("logs")
def logs_command(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    variant: Annotated[str | None, typer.Option("--variant", help="Only this production variant.")] = None,
    tail: Annotated[int, typer.Option("--tail", min=1, help="Lines from the end of each log.")] = 100,
    config: ConfigOption = None,
) -> None:
    """The model servers' output (requests, errors, the user's prints) of an endpoint's variants."""
    with _clean_errors():
        row = EndpointHost(load_config(config)).records.get_endpoint(name)
    shown = [v for v in row.serving.variants if variant is None or v.variant_name == variant]
    if not shown:
        reason = row.record.get("FailureReason")
        typer.echo(
            f"endpoint {name} has no running variant{f' {variant}' if variant else ''} ({row.status})"
            + (f": {reason}" if reason else ""),
            err=True,
        )
        raise typer.Exit(2)
    for item in shown:
        typer.echo(f"== {name} / {item.variant_name} ({item.log_path})")
        path = Path(item.log_path) if item.log_path else None
        if path is None or not path.is_file():
            typer.echo("(no output yet)")
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in lines[-tail:]:
            typer.echo(line)
