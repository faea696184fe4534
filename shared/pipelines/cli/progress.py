"""What ``pipelines run`` shows while an execution runs: a live table of its steps.

The display reads the store, not the driver, so it shows the same thing for an execution this
process drives, one resumed, or one being completed from another process (a callback answered
elsewhere). On a terminal the table redraws in place; otherwise (CI logs, pipes) each step
status change is one line and the table is printed once at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipelines.store import ExecutionRecord, StepRecord

STATUS_STYLES = {
    "Starting": "cyan",
    "Executing": "bold cyan",
    "Stopping": "yellow",
    "Stopped": "yellow",
    "Failed": "bold red",
    "Succeeded": "green",
    # The run went on past handled failures (DependsOn Failed/Any triggers): it ended, but not
    # cleanly, so it reads as a warning rather than a success or a failure.
    "CompletedWithFailures": "bold yellow",
}
REASON_WIDTH = 80


def plain_table(columns: Sequence[str], *, wrapping: str | None = None) -> Table:
    """A borderless table whose columns keep to one line, but for the free-text ``wrapping`` one."""
    table = Table(show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column != wrapping)
    return table


def local_time(moment: datetime | str, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A timestamp (or its ISO text) in the reader's time zone."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone().strftime(pattern)


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def format_duration(start: datetime | None, end: datetime | None, now: datetime | None = None) -> str:
    """``1.2s``, ``3m04s``, ``1h02m``; empty when the step never started."""
    if start is None:
        return ""
    seconds = max(0.0, ((end or now or datetime.now(UTC)) - start).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def failure_cause(step_name: str, reason: str) -> str:
    """A step's FailureReason without the ``step <name> (<kind> job <job name>): `` lead a job
    failure carries: the table already shows the step, and the cause is what must fit."""
    text = " ".join(reason.split())
    lead = f"step {step_name} ("
    if text.startswith(lead):
        closing = text.find("): ", len(lead))
        if closing != -1:
            return text[closing + 3 :]
    return text


def step_note(step: StepRecord, width: int | None = REASON_WIDTH) -> str:
    """The one thing worth knowing about a step beyond its status (a failure's cause cut to
    ``width`` characters for the live table; ``None``: whole, for tables that wrap)."""
    if step.failure_reason:
        reason = failure_cause(step.step_name, step.failure_reason)
        return reason if width is None or len(reason) <= width else reason[: width - 1] + "…"
    if step.cache_hit_source_arn:
        return f"cache hit from {step.cache_hit_source_arn.rsplit('/', 1)[-1]}"
    if step.selective_source_arn:
        return f"reused from {step.selective_source_arn.rsplit('/', 1)[-1]}"
    if step.waiting_for_callback and step.callback_token:
        return f"waiting for callback {step.callback_token}"
    if step.not_before is not None and step.status == "Starting":
        return f"retry at {local_time(step.not_before, '%H:%M:%S')}"
    outcome = (step.properties or {}).get("Outcome") if step.step_type == "Condition" else None
    if outcome is not None:
        return f"outcome {outcome}"
    if step.iteration is not None:
        note = f"{step.iteration.parent_step_name}[{step.iteration.index}]: {step.iteration.item}"
        return note if width is None or len(note) <= width else note[: width - 1] + "…"
    if step.step_type == "ForEach" and step.metadata.get("ForEach"):
        summary = step.metadata["ForEach"]
        return f"{summary.get('SucceededStepCount', 0)}/{summary.get('TotalStepCount', 0)} iteration steps succeeded"
    return ""


def execution_header(execution: ExecutionRecord, now: datetime | None = None) -> Text:
    header = Text()
    header.append(f"{execution.pipeline_name} ", style="bold")
    header.append(f"{execution.execution_id}  ")
    header.append_text(status_text(execution.status))
    header.append(f"  {format_duration(execution.created_at, execution.ended_at, now)}")
    if execution.run > 1:
        header.append(f"  (run {execution.run})")
    return header


def steps_table(steps: Sequence[StepRecord], now: datetime | None = None) -> Table:
    table = plain_table(("Step", "Type", "Status", "Attempt", "Duration", "Note"), wrapping="Note")
    for step in steps:
        table.add_row(
            step.step_name,
            step.step_type,
            status_text(step.status),
            str(step.attempt) if step.attempt else "-",
            format_duration(step.started_at, step.ended_at, now),
            step_note(step),
        )
    return table


def render(
    execution: ExecutionRecord, steps: Sequence[StepRecord], now: datetime | None = None
) -> RenderableType:
    return Group(execution_header(execution, now), steps_table(steps, now))


def final_line(execution: ExecutionRecord, steps: Sequence[StepRecord] = ()) -> Text:
    """The line ``--quiet`` prints, and the last line of every run. The execution's reason is
    the service's generic one; a Fail step's message (its own FailureReason) follows it."""
    line = Text()
    line.append(f"Execution {execution.execution_id} ")
    line.append_text(status_text(execution.status))
    line.append(f" in {format_duration(execution.created_at, execution.ended_at)}")
    if execution.failure_reason:
        line.append(f": {execution.failure_reason}")
    for step in steps:
        if step.step_type == "Fail" and step.status == "Failed" and step.failure_reason:
            line.append(f" {step.step_name}: {step.failure_reason}")
    return line


class ProgressDisplay:
    """Feed it snapshots with :meth:`update`; it draws them. Use as a context manager."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._seen: dict[str, str] = {}
        self._last: tuple[ExecutionRecord, list[StepRecord]] | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal:
            # Drawn from the latest snapshot on every refresh, so running durations keep ticking.
            self._live = Live(
                console=self.console, refresh_per_second=4, transient=False, get_renderable=self._renderable
            )
            self._live.__enter__()
        return self

    def _renderable(self) -> RenderableType:
        if self._last is None:
            return Text("starting…", style="dim")
        return render(*self._last)

    def update(self, execution: ExecutionRecord, steps: Sequence[StepRecord]) -> None:
        self._last = (execution, list(steps))
        if self._live is not None:
            self._live.refresh()
            return
        for step in steps:
            if self._seen.get(step.step_name) != step.status:
                self._seen[step.step_name] = step.status
                line = Text(f"{step.step_name} ({step.step_type}) ")
                line.append_text(status_text(step.status))
                note = step_note(step)
                if note:
                    line.append(f"  {note}")
                self.console.print(line)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
        elif self._last is not None and exc_type is None:
            self.console.print(steps_table(self._last[1]))
