"""The run side of the ``pipelines`` command: run a definition on this machine and manage
what it left behind (executions, steps, callbacks, the model registry, experiments).

Exit codes: 0 the command did what was asked (for ``run``/``retry``/``resume``: the execution
Succeeded); 1 the execution ended Failed, Stopped or CompletedWithFailures (its failures were
handled by DependsOn triggers, but steps still failed); 2 the input was refused (a bad definition,
parameter, config or reference) -- the message says what and how to fix it; 130 interrupted,
with the execution left for ``pipelines resume``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console, RenderableType
from rich.text import Text

from pipelines.callbacks import CallbackQueue, queue_name
from pipelines.cli.app import EXIT_REFUSED, ConfigOption, app
from pipelines.cli.progress import ProgressDisplay, final_line
from pipelines.cli.run_output import (
    callbacks_table,
    execution_json,
    executions_table,
    experiments_table,
    models_table,
    ordered_steps,
    steps_detail_table,
    to_json,
)
from pipelines.config import Config, load_config
from pipelines.definition import load_definition, parse_definition
from pipelines.engine import ExecutionNotFound, StartRequest
from pipelines.engine.ids import execution_id_of
from pipelines.errors import PipelinesError, ValidationError
from pipelines.registry import ModelRegistry
from pipelines.runtime.embedded import EmbeddedRuntime, Progress
from pipelines.store import (
    TERMINAL_EXECUTION_STATUSES,
    ExecutionRecord,
    ListQuery,
    Page,
    SelectiveExecutionConfig,
    StepRecord,
    Store,
)
from pipelines.tracking import embedded_tracking_uri, read_warnings, warning_json

EXIT_NOT_SUCCEEDED = 1
EXIT_INTERRUPTED = 130
LATEST = "latest"
_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (API member names) for scripts.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the final line.")]
ExecutionArgument = Annotated[str, typer.Argument(help="Execution id or ARN, or 'latest'.")]

callback_app = typer.Typer(
    help="Callback steps waiting for an answer: list, succeed, fail.", no_args_is_help=True
)
app.add_typer(callback_app, name="callback")


class UsageError(ValidationError):
    """A command-line value that cannot be used as given."""


# -- shared plumbing --------------------------------------------------------------------------


PIPED_WIDTH = 200


def _console(*, stderr: bool = False) -> Console:
    """Rich output; when piped (CI logs, files) lines may be long rather than wrapped at 80."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    return console


def _stdout() -> Console:
    return _console()


def _stderr() -> Console:
    return _console(stderr=True)


def _refuse(message: str) -> NoReturn:
    _stderr().print(Text(f"error: {message}", style="red"))
    raise typer.Exit(EXIT_REFUSED)


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Every refusal is one clean message and exit code 2, never a traceback."""
    try:
        yield
    except PipelinesError as exc:
        _refuse(str(exc))
    except OSError as exc:
        _refuse(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


def _runtime(config_path: Path | None, console: Console | None = None) -> EmbeddedRuntime:
    config = load_config(config_path)
    on_log = None
    if console is not None:

        def on_log(_execution_id: str, step_name: str, line: str) -> None:
            console.print(Text.assemble((f"{step_name}: ", "dim bold"), (line, "dim")), soft_wrap=True)

    return EmbeddedRuntime(config, on_log=on_log)


@contextmanager
def _opened_runtime(config_path: Path | None) -> Iterator[EmbeddedRuntime]:
    """The runtime for one short command, closed (waiting for any execution it drives on) once the
    command's work is done. A refusal skips the close: the process exits with its message at once."""
    runtime = _runtime(config_path)
    yield runtime
    runtime.close()


def _print_listing(
    listing: Sequence[Any],
    *,
    as_json: bool,
    table: Callable[[Any], RenderableType],
    empty: str,
    json_value: Any = None,
) -> None:
    """A listing as JSON (``json_value`` when it differs from the listing), a table, or why it is empty."""
    if as_json:
        typer.echo(to_json(listing if json_value is None else json_value))
    elif listing:
        _stdout().print(table(listing))
    else:
        _stdout().print(empty)


def parse_pairs(values: Sequence[str] | None, option: str) -> dict[str, str]:
    """``K=V`` items (the value may contain ``=``); a repeated key keeps the last value."""
    pairs: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {item!r} must look like NAME=VALUE")
        pairs[key.strip()] = value
    return pairs


def pipeline_name_for(file: Path, explicit: str | None, metadata: Any = None) -> str:
    """``--pipeline-name`` as given, else the definition's ``Metadata.PipelineName``, else the
    file's stem made into a valid pipeline name."""
    source = "--pipeline-name"
    if explicit is None and isinstance(metadata, dict) and isinstance(metadata.get("PipelineName"), str):
        explicit, source = metadata["PipelineName"], "the definition's Metadata.PipelineName"
    if explicit is not None:
        if not _PIPELINE_NAME.match(explicit):
            raise UsageError(
                f"{source} {explicit!r} is not a valid pipeline name: use letters, digits and "
                "single hyphens, starting and ending with a letter or digit (at most 256 characters)"
            )
        return explicit
    derived = re.sub(r"[^a-zA-Z0-9]+", "-", file.stem).strip("-")[:256]
    if not derived:
        raise UsageError(f"cannot derive a pipeline name from {file.name!r}; pass --pipeline-name")
    return derived


T = TypeVar("T")


def _all(fetch: Callable[[ListQuery], Page[T]]) -> list[T]:
    items: list[T] = []
    token: str | None = None
    while True:
        page = fetch(ListQuery(limit=100, next_token=token))
        items.extend(page.items)
        token = page.next_token
        if token is None:
            return items


def resolve_execution(store: Store, reference: str, pipeline_arn: str | None = None) -> ExecutionRecord:
    """An execution by id, ARN, or ``latest`` (the newest, of one pipeline if its ARN is given)."""
    if reference == LATEST:
        page = store.list_executions(pipeline_arn, ListQuery(limit=1))
        if not page.items:
            scope = f"of pipeline {pipeline_arn.rpartition('/')[2]} " if pipeline_arn else ""
            raise ExecutionNotFound(
                f"latest ({'no execution ' + scope + 'has run yet'} with this configuration; a run made "
                "with another --config, such as make demo's examples/abalone/pipelines.toml, is read "
                "with the same --config)"
            )
        return page.items[0]
    record = store.get_execution(execution_id_of(reference))
    if record is None:
        raise ExecutionNotFound(reference)
    return record


def _steps_of(store: Store, execution_id: str) -> dict[str, StepRecord]:
    state = store.load_state(execution_id)
    return dict(state.steps) if state is not None else {}


def _definition_order(definition_text: str) -> dict[str, int]:
    return {step.name: i for i, step in enumerate(parse_definition(definition_text).all_steps())}


# -- driving an execution to its end ----------------------------------------------------------


def _follow(
    runtime: EmbeddedRuntime,
    start: Callable[[Progress | None], ExecutionRecord],
    *,
    order: Mapping[str, int],
    console: Console,
    show_progress: bool,
) -> ExecutionRecord:
    """Start (via ``start``), show progress, and wait for the end; Ctrl-C stops the execution,
    a second Ctrl-C leaves it running for ``pipelines resume``."""
    display = ProgressDisplay(console) if show_progress else None
    with display if display is not None else nullcontext():
        execution = start(_progress_callback(display, order))
        final = _wait(runtime, execution.execution_id, console)
        if display is not None:
            display.update(final, ordered_steps(_steps_of(runtime.store, final.execution_id).values(), order))
    return final


def _progress_callback(display: ProgressDisplay | None, order: Mapping[str, int]) -> Progress | None:
    if display is None:
        return None

    def progress(execution: ExecutionRecord, steps: Mapping[str, StepRecord]) -> None:
        display.update(execution, ordered_steps(steps.values(), order))

    return progress


def _wait(runtime: EmbeddedRuntime, execution_id: str, console: Console) -> ExecutionRecord:
    stopping = False
    while True:
        try:
            record = runtime.wait(execution_id, timeout=0.5)
            if record.status in TERMINAL_EXECUTION_STATUSES:
                return record
            if not runtime.driver_alive(execution_id):
                _refuse(
                    f"execution {execution_id} is no longer being driven (status {record.status}); "
                    "`pipelines resume` continues it"
                )
        except KeyboardInterrupt:
            if stopping:
                _stderr().print(
                    f"left execution {execution_id} while it is Stopping; `pipelines resume` carries the stop through"
                )
                raise typer.Exit(EXIT_INTERRUPTED) from None
            stopping = True
            console.print(
                Text(f"stopping execution {execution_id} (Ctrl-C again to leave it running)", style="yellow")
            )
            runtime.stop(execution_id)


def _report(runtime: EmbeddedRuntime, final: ExecutionRecord, *, as_json: bool, console: Console) -> NoReturn:
    if as_json:
        order = _definition_order(final.definition)
        steps = ordered_steps(_steps_of(runtime.store, final.execution_id).values(), order)
        typer.echo(to_json(execution_json(final, steps)))
    else:
        console.print(final_line(final, list(_steps_of(runtime.store, final.execution_id).values())))
    runtime.close()
    raise typer.Exit(0 if final.status == "Succeeded" else EXIT_NOT_SUCCEEDED)


def _output_console(as_json: bool, quiet: bool) -> tuple[Console, bool]:
    """Where progress and step logs go, and whether to show them at all."""
    return _stdout(), not (as_json or quiet)


# -- commands ---------------------------------------------------------------------------------


@app.command("run")
def run_command(
    file: Annotated[Path, typer.Argument(help="Pipeline definition JSON.", exists=True, dir_okay=False)],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Parameter value NAME=VALUE (repeatable).")
    ] = None,
    parallelism: Annotated[
        int | None, typer.Option(min=1, help="MaxParallelExecutionSteps for this execution.")
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select", help="Run only these steps (repeatable or comma-separated): selective execution."
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--from", help="Reference execution for --select: an execution id/ARN or 'latest'."),
    ] = None,
    config: ConfigOption = None,
    pipeline_name: Annotated[
        str | None, typer.Option("--pipeline-name", help="Pipeline name (default: the file name).")
    ] = None,
    mlflow_experiment: Annotated[
        str | None,
        typer.Option(
            "--mlflow-experiment",
            help="MLflow experiment for this execution (overrides the definition's MlflowConfig).",
        ),
    ] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run a pipeline definition here and wait for it; exits 0 only if it Succeeded."""
    console, show = _output_console(as_json, quiet)
    with _clean_errors():
        runtime = _runtime(config, console if show else None)
        text = file.read_text(encoding="utf-8")
        loaded = load_definition(text)
        order = {step.name: i for i, step in enumerate(loaded.all_steps())}
        name = pipeline_name_for(file, pipeline_name, loaded.metadata)
        parameters = parse_pairs(param, "--param")
        selective = _selection(runtime.store, runtime.engine.pipeline_key(name), select, source)

        request = StartRequest(
            pipeline_name=name,
            parameters=parameters,
            parallelism=parallelism,
            selective=selective,
            mlflow_experiment_name=mlflow_experiment,
        )

        def start(progress: Progress | None) -> ExecutionRecord:
            return runtime.start(request, definition=text, progress=progress)

        final = _follow(runtime, start, order=order, console=console, show_progress=show)
    _report(runtime, final, as_json=as_json, console=console)


def _selection(
    store: Store, pipeline_arn: str, select: Sequence[str] | None, source: str | None
) -> SelectiveExecutionConfig | None:
    steps = [name.strip() for item in select or () for name in item.split(",") if name.strip()]
    if not steps:
        if source is not None:
            raise UsageError("--from names the reference execution of a selective run; add --select STEP")
        return None
    source_arn = resolve_execution(store, source, pipeline_arn).execution_arn if source is not None else None
    return SelectiveExecutionConfig(source_execution_arn=source_arn, selected_steps=steps)


@app.command("retry")
def retry_command(
    execution: ExecutionArgument,
    parallelism: Annotated[
        int | None, typer.Option(min=1, help="MaxParallelExecutionSteps for the retry.")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Retry a failed execution (same ARN): rerun failed and not-run steps, reuse the rest."""
    console, show = _output_console(as_json, quiet)
    with _clean_errors():
        runtime = _runtime(config, console if show else None)
        record = resolve_execution(runtime.store, execution)
        order = _definition_order(record.definition)

        def start(progress: Progress | None) -> ExecutionRecord:
            return runtime.retry(
                record.execution_id, parallelism=parallelism, progress=progress, background=True
            )

        final = _follow(runtime, start, order=order, console=console, show_progress=show)
    _report(runtime, final, as_json=as_json, console=console)


@app.command("resume")
def resume_command(
    execution: Annotated[
        str | None, typer.Argument(help="Only this execution (default: every unfinished one).")
    ] = None,
    config: ConfigOption = None,
    quiet: QuietOption = False,
) -> None:
    """Carry on executions whose process ended (crash, Ctrl-C); steps that were running get a
    new attempt. Exits 0 if every resumed execution Succeeded."""
    console, show = _output_console(False, quiet)
    with _clean_errors():
        runtime = _runtime(config, console if show else None)
        if execution is not None:
            targets = [resolve_execution(runtime.store, execution)]
        else:
            targets = runtime.store.list_unfinished_executions()
        finished: list[ExecutionRecord] = []
        for target in targets:
            if runtime.driver_alive(target.execution_id):
                console.print(f"execution {target.execution_id} is being run by another process; skipped")
                continue
            display = ProgressDisplay(console) if show else None
            with display if display is not None else nullcontext():
                progress = _progress_callback(display, _definition_order(target.definition))
                finished.extend(runtime.resume(target.execution_id, progress=progress))
        runtime.close()
    if not finished:
        console.print("nothing to resume")
    for record in finished:
        console.print(final_line(record))
    raise typer.Exit(0 if all(r.status == "Succeeded" for r in finished) else EXIT_NOT_SUCCEEDED)


@app.command("stop")
def stop_command(
    execution: ExecutionArgument,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Stop an execution: no new steps start, running jobs stop, Lambda steps finish, Callback
    steps get a "Stopping" message and wait for their answer. When no process is running the
    execution, this command carries the stop out itself and waits until it ends."""
    console, show = _output_console(as_json, quiet)
    with _clean_errors():
        runtime = _runtime(config, console if show else None)
        record = runtime.stop(resolve_execution(runtime.store, execution).execution_id)
        if record.status not in TERMINAL_EXECUTION_STATUSES:
            record = _follow_stop(runtime, record.execution_id, console if show else None)
        runtime.close()
    if as_json:
        typer.echo(to_json(execution_json(record)))
        return
    console.print(_progress_line(record))


def _follow_stop(runtime: EmbeddedRuntime, execution_id: str, console: Console | None) -> ExecutionRecord:
    """Wait for the stop this process took over (no other driver was alive), showing the steps as
    they change: what it waits for (a Callback step's answer, a job stopping) is on screen. A stop
    another process's driver carries out is left to it. Ctrl-C leaves the execution Stopping."""
    if not runtime.drives(execution_id):  # another process drives it, or ours already ended it
        record = runtime.store.get_execution(execution_id)
        assert record is not None
        return record
    display = ProgressDisplay(console) if console is not None else None
    if console is not None:
        console.print(
            Text(
                f"no process is running execution {execution_id}: carrying out the stop here "
                "(Ctrl-C leaves it Stopping for `pipelines resume`)",
                style="yellow",
            )
        )
    order: Mapping[str, int] = {}
    try:
        with display if display is not None else nullcontext():
            while True:
                record = runtime.wait(execution_id, timeout=0)  # where it stands now
                if display is not None:
                    order = order or _definition_order(record.definition)
                    steps = _steps_of(runtime.store, execution_id).values()
                    display.update(record, ordered_steps(steps, order))
                if record.status in TERMINAL_EXECUTION_STATUSES:
                    return record
                runtime.wait(execution_id, timeout=0.5)
    except KeyboardInterrupt:
        _stderr().print(
            f"left execution {execution_id} while it is Stopping; `pipelines resume` carries the stop through"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _progress_line(record: ExecutionRecord) -> Text:
    """The final line once the execution ended, else where it stands."""
    if record.status in TERMINAL_EXECUTION_STATUSES:
        return final_line(record)
    return Text(f"Execution {record.execution_id} is {record.status}")


@app.command("executions")
def executions_command(
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", help="Only this pipeline's executions.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 20,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List executions, newest first."""
    with _clean_errors(), _opened_runtime(config) as runtime:
        pipeline_key = runtime.engine.pipeline_key(pipeline) if pipeline else None
        executions = runtime.store.list_executions(pipeline_key, ListQuery(limit=limit)).items
    _print_listing(
        executions,
        as_json=as_json,
        table=executions_table,
        empty="no executions yet",
        json_value=[execution_json(e)["Execution"] for e in executions],
    )


@app.command("steps")
def steps_command(
    execution: ExecutionArgument, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """The steps of one execution, in the order they started."""
    with _clean_errors(), _opened_runtime(config) as runtime:
        record = resolve_execution(runtime.store, execution)
        order = _definition_order(record.definition)
        steps = ordered_steps(_steps_of(runtime.store, record.execution_id).values(), order)
        tracking = read_warnings(runtime.store, record.execution_id)
        tracked_at = (
            embedded_tracking_uri(record.mlflow.resource_arn, runtime.config.mlflow, runtime.config.state_dir)
            if record.mlflow is not None
            else None
        )
    if as_json:
        shown = execution_json(record, steps)
        shown["TrackingWarnings"] = [warning_json(w) for w in tracking]
        typer.echo(to_json(shown))
        return
    console = _stdout()
    console.print(_progress_line(record))
    console.print(steps_detail_table(steps))
    if record.mlflow is not None:
        console.print(
            f"MLflow: experiment {record.mlflow.experiment_name!r}, run {record.mlflow.run_name!r} at {tracked_at}",
            markup=False,
        )
    for warning in tracking:
        where = f"step {warning.step_name}: " if warning.step_name else ""
        console.print(f"warning: {where}{warning.message}", style="yellow", markup=False)


# -- callbacks --------------------------------------------------------------------------------


def waiting_callbacks(store: Store) -> list[dict[str, Any]]:
    """Callback steps of unfinished executions that still wait for success or failure."""
    waiting: list[dict[str, Any]] = []
    for execution in store.list_unfinished_executions():
        for step in _steps_of(store, execution.execution_id).values():
            if not (step.waiting_for_callback and step.callback_token):
                continue
            queue_url = (step.metadata.get("Callback") or {}).get("SqsQueueUrl") or step.step_fields.get(
                "SqsQueueUrl"
            )
            waiting.append(
                {
                    "token": step.callback_token,
                    "pipelineName": execution.pipeline_name,
                    "executionId": execution.execution_id,
                    "executionArn": execution.execution_arn,
                    "executionStatus": execution.status,
                    "stepName": step.step_name,
                    "queueUrl": queue_url,
                    "queueName": queue_name(queue_url) if queue_url else "",
                    "arguments": step.arguments,
                    "waitingSince": (step.started_at or execution.created_at).isoformat(),
                }
            )
    return sorted(waiting, key=lambda c: str(c["waitingSince"]))


@callback_app.command("list")
def callback_list_command(
    queue: Annotated[str | None, typer.Option("--queue", help="Only this queue (URL or name).")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Callback tokens waiting for an answer, oldest first."""
    with _clean_errors():
        with _opened_runtime(config) as runtime:
            callbacks = waiting_callbacks(runtime.store)
        if queue is not None:
            wanted = queue_name(queue)
            callbacks = [c for c in callbacks if c["queueName"] == wanted]
    _print_listing(callbacks, as_json=as_json, table=callbacks_table, empty="no callbacks are waiting")


@callback_app.command("succeed")
def callback_succeed_command(
    token: Annotated[str, typer.Argument(help="The callback token.")],
    output: Annotated[
        list[str] | None, typer.Option("--output", "-o", help="Output parameter NAME=VALUE (repeatable).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Complete a Callback step successfully (SendPipelineExecutionStepSuccess). With no
    process running its execution, the execution continues here until it ends."""
    with _clean_errors():
        outputs = parse_pairs(output, "--output")
        with _opened_runtime(config) as runtime:
            record = runtime.callback_success(token, outputs)
            _acknowledge(runtime.config, token)
    _stdout().print(Text.assemble(f"callback {token} succeeded; ", _progress_line(record)))


@callback_app.command("fail")
def callback_fail_command(
    token: Annotated[str, typer.Argument(help="The callback token.")],
    reason: Annotated[str, typer.Option("--reason", help="Failure reason recorded on the step.")],
    config: ConfigOption = None,
) -> None:
    """Fail a Callback step (SendPipelineExecutionStepFailure)."""
    with _clean_errors(), _opened_runtime(config) as runtime:
        record = runtime.callback_failure(token, reason)
        _acknowledge(runtime.config, token)
    _stdout().print(Text.assemble(f"callback {token} failed; ", _progress_line(record)))


def _acknowledge(config: Config, token: str) -> None:
    """Answering from the CLI consumes the token's queued messages: nobody else will act on them."""
    CallbackQueue.from_config(config).purge_token(token)


# -- registry and experiments -----------------------------------------------------------------


@app.command("models")
def models_command(
    group: Annotated[str | None, typer.Option("--group", help="Only this model package group.")] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Model package groups and their versions, with approval status."""
    with _clean_errors():
        registry = ModelRegistry.from_config(load_config(config))
        groups = (
            [registry.describe_model_package_group(group)] if group else registry.list_model_package_groups()
        )
        listing = [
            {
                **g,
                "ModelPackages": sorted(
                    registry.list_model_packages(g["ModelPackageGroupName"]),
                    key=lambda p: int(p.get("ModelPackageVersion", 0)),
                ),
            }
            for g in groups
        ]
    _print_listing(listing, as_json=as_json, table=models_table, empty="no model package groups yet")


def experiments_listing(store: Store) -> list[dict[str, Any]]:
    """Experiments with their run groups (trials) and runs (trial components)."""
    listing: list[dict[str, Any]] = []
    for experiment in _all(store.list_experiments):
        groups = []
        for trial in _all(partial(store.list_trials, experiment.name)):
            runs = _all(partial(store.list_trial_components, trial.name))
            groups.append(
                {
                    "TrialName": trial.name,
                    "CreationTime": trial.created_at,
                    "SourcePipelineExecutionArn": trial.source_execution_arn,
                    "Runs": [
                        {
                            "TrialComponentName": run.name,
                            "StepName": run.step_name,
                            "StepType": run.step_type,
                            "PipelineExecutionId": run.execution_id,
                        }
                        for run in runs
                    ],
                }
            )
        listing.append(
            {
                "ExperimentName": experiment.name,
                "CreationTime": experiment.created_at,
                "SourcePipelineName": experiment.source_pipeline_name,
                "RunGroups": groups,
            }
        )
    return listing


@app.command("experiments")
def experiments_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Experiments, their run groups (one per execution) and runs (one per job)."""
    with _clean_errors(), _opened_runtime(config) as runtime:
        listing = experiments_listing(runtime.store)
    _print_listing(listing, as_json=as_json, table=experiments_table, empty="no experiments yet")
