"""``pipelines serve`` (the API on 127.0.0.1) and ``pipelines schedules`` (the local schedules)."""

from __future__ import annotations

import enum
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipelines.cli.app import ConfigOption, app
from pipelines.config import load_config
from pipelines.errors import PipelinesError

# Kept literal (not imported from pipelines.api.server) so that every CLI call does not pay for
# importing the server's protocol layer; tests/cli checks they match.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_THREADS = 8


class LogLevel(str, enum.Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = DEFAULT_PORT,
    config: ConfigOption = None,
    strict: Annotated[
        bool, typer.Option(help="Fail responses that drift from botocore's output shapes (development).")
    ] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level",
            case_sensitive=False,
            help="info: one line per request (method, service, operation, status, time); "
            "warning: problems only; debug: everything.",
        ),
    ] = LogLevel.info,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Same as --log-level debug.")] = False,
    allow_unauthenticated: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated",
            help="Listen beyond loopback although [accounts] has no secret keys (anyone who reaches "
            "the port acts as the owner).",
        ),
    ] = False,
    threads: Annotated[
        int, typer.Option(min=1, max=256, help="Worker threads serving requests.")
    ] = DEFAULT_THREADS,
) -> None:
    """Serve the SageMaker pipeline API (plus Scheduler, RAM, S3, CloudWatch Logs and STS
    subsets) on one port.

    Point the SDKs at it with AWS_ENDPOINT_URL_SAGEMAKER, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME
    (InvokeEndpoint on the endpoints it hosts, brought back at start), AWS_ENDPOINT_URL_SCHEDULER,
    AWS_ENDPOINT_URL_RAM, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_CLOUDWATCH_LOGS and
    AWS_ENDPOINT_URL_STS = http://HOST:PORT. Without secret keys in [accounts] it is single-user
    and listens on loopback only (see the README's Security model).
    """
    from pipelines.api.embedded import build_embedded_api

    level = logging.DEBUG if verbose else getattr(logging, log_level.value.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    console = Console(stderr=True)
    try:
        api = build_embedded_api(load_config(config), strict_shapes=strict)
        server = api.server(host, port, allow_unauthenticated=allow_unauthenticated, threads=threads)
    except (PipelinesError, OSError) as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from exc
    console.print(
        f"Serving SageMaker Pipelines on {server.url} (state: {api.config.state_dir}); Ctrl-C stops.",
        soft_wrap=True,
    )
    console.print(f"Security: {api.describe_security()}.", markup=False, highlight=False, soft_wrap=True)
    needs_self = "self" not in api.config.serve.allowed_origins
    console.print(
        f"Web console: {server.url}/"
        + (' (to let it call the API, add allowed_origins = ["self"] under [serve])' if needs_self else ""),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping")


@app.command("schedules")
def schedules_command(
    config: ConfigOption = None,
    account: Annotated[
        str | None, typer.Option(help="Account whose schedules to list (default: account_id).")
    ] = None,
) -> None:
    """List the local schedules (PipelineSchedule triggers) and when each fires next."""
    from pipelines.api.embedded import build_embedded_api
    from pipelines.api.wire import CallContext

    console = Console()
    try:
        settings = load_config(config)
        api = build_embedded_api(settings)
        context = CallContext(account_id=account or settings.account_id, region=settings.region)
        summaries = api.scheduler.list_schedules({"MaxResults": 100}, context)["Schedules"]
        rows = [api.scheduler.get_schedule({"Name": s["Name"]}, context) for s in summaries]
        next_fires = api.scheduler.next_fires(context.account_id)
    except PipelinesError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table("Name", "Expression", "Time zone", "State", "Target", "Next fire (UTC)")
    for row in rows:
        next_fire = next_fires.get(row["Name"])
        table.add_row(
            row["Name"],
            row["ScheduleExpression"],
            row.get("ScheduleExpressionTimezone", "UTC"),
            row["State"],
            row["Target"]["Arn"],
            next_fire.isoformat() if next_fire else "-",
        )
    console.print(table)
    api.close()
