"""The progress display: durations, notes, and the two modes (live table vs. log lines)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from pipelines.cli.progress import ProgressDisplay, final_line, format_duration, render, step_note
from pipelines.cli.run_output import ordered_steps
from pipelines.store import ExecutionRecord, StepRecord
from rich.console import Console

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def execution(**fields: object) -> ExecutionRecord:
    base: dict[str, object] = {
        "execution_id": "abcdef123456",
        "execution_arn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abcdef123456",
        "pipeline_name": "p",
        "pipeline_arn": "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p",
        "definition": "{}",
        "created_at": T0,
        "modified_at": T0,
    }
    return ExecutionRecord.model_validate(base | fields)


def step(name: str, status: str = "Executing", **fields: object) -> StepRecord:
    base: dict[str, object] = {
        "execution_id": "abcdef123456",
        "step_name": name,
        "step_type": "Lambda",
        "status": status,
        "started_at": T0,
    }
    return StepRecord.model_validate(base | fields)


def test_format_duration() -> None:
    assert format_duration(None, None) == ""
    assert format_duration(T0, T0 + timedelta(seconds=1.25)) == "1.2s"
    assert format_duration(T0, T0 + timedelta(seconds=184)) == "3m04s"
    assert format_duration(T0, T0 + timedelta(hours=1, minutes=2, seconds=5)) == "1h02m"
    assert format_duration(T0, None, now=T0 + timedelta(seconds=2)) == "2.0s"


def test_step_notes() -> None:
    assert step_note(step("A", "Failed", failure_reason="boom\n  twice")) == "boom twice"
    assert step_note(step("A", "Failed", failure_reason="x" * 200)).endswith("…")
    assert step_note(step("A", "Failed", failure_reason="x" * 200), width=None) == "x" * 200
    job_failure = (
        "step A (processing job pipelines-abc-A-xyz-0): input 'code': no objects found under s3://b/k"
    )
    assert (
        step_note(step("A", "Failed", failure_reason=job_failure))
        == "input 'code': no objects found under s3://b/k"
    )
    waiting = step("A", step_type="Callback", waiting_for_callback=True, callback_token="26vcYbeWsZ")
    assert step_note(waiting) == "waiting for callback 26vcYbeWsZ"
    cached = step("A", "Succeeded", cache_hit_source_arn="arn:...:pipeline/p/execution/oldoldoldold")
    assert step_note(cached) == "cache hit from oldoldoldold"
    condition = step("C", "Succeeded", step_type="Condition", properties={"Outcome": "False"})
    assert step_note(condition) == "outcome False"


def test_render_shows_every_step_with_status_and_attempt() -> None:
    console = Console(file=io.StringIO(), width=120, record=True)
    steps = [step("Train", "Succeeded", ended_at=T0 + timedelta(seconds=3)), step("Eval", attempt=2)]
    console.print(render(execution(), steps, now=T0 + timedelta(seconds=5)))
    text = console.export_text()
    assert "p abcdef123456  Executing  5.0s" in text
    assert "Train" in text and "3.0s" in text and "Succeeded" in text
    assert "Eval" in text and "2" in text


def test_piped_output_is_one_line_per_change_then_the_table() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120)
    assert not console.is_terminal
    with ProgressDisplay(console) as display:
        display.update(execution(), [step("A", "Starting")])
        display.update(execution(), [step("A", "Starting")])  # no change, no line
        display.update(execution(), [step("A", "Succeeded"), step("B", "Failed", failure_reason="bad")])
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["A (Lambda) Starting", "A (Lambda) Succeeded", "B (Lambda) Failed  bad"]
    assert any(line.startswith("A ") and "Succeeded" in line for line in lines[3:])  # the final table


def test_final_line_has_the_failure_reason() -> None:
    record = execution(status="Failed", failure_reason="accuracy too low", ended_at=T0 + timedelta(seconds=2))
    assert final_line(record).plain == "Execution abcdef123456 Failed in 2.0s: accuracy too low"


def test_steps_order_by_start_then_definition() -> None:
    later = step("Z", started_at=T0 + timedelta(seconds=1))
    together = [step("C"), step("B")]
    never = step("N", started_at=None)
    ordered = ordered_steps([never, later, *together], {"B": 1, "C": 0, "Z": 2, "N": 3})
    assert [s.step_name for s in ordered] == ["C", "B", "Z", "N"]


def test_every_execution_and_step_status_has_a_style() -> None:
    from typing import get_args

    from pipelines.cli.progress import STATUS_STYLES, status_text
    from pipelines.store import ExecutionStatus, StepStatus

    for status in {*get_args(ExecutionStatus), *get_args(StepStatus)}:
        assert status_text(status).style == STATUS_STYLES[status] != "", status


def test_final_line_of_an_execution_that_completed_with_failures() -> None:
    record = execution(
        status="CompletedWithFailures",
        failure_reason="Step failure: One or multiple steps failed. Failed steps: Train.",
        ended_at=T0 + timedelta(seconds=3),
    )
    line = final_line(record)
    assert line.plain == (
        "Execution abcdef123456 CompletedWithFailures in 3.0s: "
        "Step failure: One or multiple steps failed. Failed steps: Train."
    )
    assert [span.style for span in line.spans] == ["bold yellow"]
