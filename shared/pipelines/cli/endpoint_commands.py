"""``pipelines endpoints``: the local endpoints (list, delete), wherever they are served.

Endpoints are served by ``pipelines serve`` (which brings every recorded endpoint back when it
starts) or by the ``pipelines run`` that deployed them, while it runs; both read the same
records in the state database (:mod:`pipelines.hosting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from pipelines.cli.app import ConfigOption, app
from pipelines.cli.run_commands import JsonOption, _clean_errors, _print_listing
from pipelines.config import load_config
from pipelines.hosting import EndpointHost, EndpointNotFound

endpoints_app = typer.Typer(
    help="Local endpoints: list them (the default), delete one.", invoke_without_command=True
)
app.add_typer(endpoints_app, name="endpoints")


def endpoints_listing(host: EndpointHost) -> list[dict[str, Any]]:
    """Each endpoint's DescribeEndpoint response plus where it listens (``Url``) and whether a
    live process serves it now (``Served``)."""
    listing = []
    for row in host.records.endpoints():
        served = row.serving.host is not None and host.is_hosted(row)
        urls = {v.variant_name: f"http://127.0.0.1:{v.port}" for v in row.serving.variants}
        listing.append({**row.record, "VariantUrls": urls if served else {}, "Served": served})
    return listing


def endpoints_table(endpoints: Sequence[Mapping[str, Any]]) -> Table:
    table = Table("endpoint", "status", "config", "served at", "reason")
    for item in endpoints:
        urls = ", ".join(f"{k}: {v}" for k, v in item["VariantUrls"].items())
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
