"""The execution page: the DAG colours live, Stop, Retry, Run selected steps, and a failed
step's reason and logs reached with the keyboard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.console.conftest import ConsolePage, wait_until
from tests.console.pipelines import create, execution_id, lambda_step, processing, step_status

GATE = "import os, time\nwhile not os.path.exists({path!r}):\n    time.sleep(0.05)\nprint('gate opened', flush=True)\n"


def node(page: Any, step: str) -> Any:
    return page.locator(f'g.node[data-step="{step}"]')


def test_the_graph_colours_live_within_two_seconds(console: ConsolePage, sm: Any, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    create(
        sm,
        "live",
        [processing("Wait", GATE.format(path=str(gate))), lambda_step("After", 3, DependsOn=["Wait"])],
    )
    arn = sm.start_pipeline_execution(PipelineName="live")["PipelineExecutionArn"]
    page = console.open(f"/executions/{execution_id(arn)}")
    expect(node(page, "Wait")).to_have_class("node status-Executing")
    expect(node(page, "Wait")).to_contain_text("Executing")  # the status as a word, not only a colour
    expect(node(page, "After")).to_contain_text("Not started")
    gate.write_text("open")
    wait_until(lambda: step_status(sm, arn, "After") == "Succeeded", "After to succeed through the API")
    seen_at = time.monotonic()
    expect(node(page, "After")).to_have_class("node status-Succeeded", timeout=2000)
    expect(node(page, "Wait")).to_have_class("node status-Succeeded", timeout=2000)
    assert time.monotonic() - seen_at < 2.0
    expect(page.locator("#execution-status")).to_have_text("Succeeded", timeout=2000)
    expect(node(page, "Wait")).to_contain_text("1 attempt")
    expect(page.locator("svg.timeline g.row")).to_have_count(2)


def test_stop_a_running_execution(console: ConsolePage, sm: Any, tmp_path: Path) -> None:
    create(sm, "stoppable", [processing("Forever", GATE.format(path=str(tmp_path / "never")))])
    arn = sm.start_pipeline_execution(PipelineName="stoppable")["PipelineExecutionArn"]
    page = console.open(f"/executions/{execution_id(arn)}")
    expect(node(page, "Forever")).to_have_class("node status-Executing")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#execution-status")).to_have_text("Stopped", timeout=20_000)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Stopped"
    expect(page.get_by_role("button", name="Retry")).to_be_enabled()


def test_retry_a_failed_execution(console: ConsolePage, sm: Any, tmp_path: Path) -> None:
    flag = tmp_path / "fixed"
    script = f"import os, sys\nprint('checking', flush=True)\nsys.exit(0 if os.path.exists({str(flag)!r}) else 3)\n"
    create(sm, "flaky", [processing("Check", script), lambda_step("Then", 1, DependsOn=["Check"])])
    arn = sm.start_pipeline_execution(PipelineName="flaky")["PipelineExecutionArn"]
    page = console.open(f"/executions/{execution_id(arn)}")
    expect(page.locator("#execution-status")).to_have_text("Failed", timeout=30_000)
    flag.write_text("ok")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#execution-status")).to_have_text("Succeeded", timeout=30_000)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Succeeded"
    expect(node(page, "Then")).to_have_class("node status-Succeeded")


def test_run_selected_steps_from_the_graph(console: ConsolePage, sm: Any) -> None:
    create(sm, "selective", [lambda_step("First", 1), lambda_step("Second", 2, DependsOn=["First"])])
    arn = sm.start_pipeline_execution(PipelineName="selective")["PipelineExecutionArn"]
    wait_until(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        == "Succeeded",
        "the first run",
    )
    page = console.open(f"/executions/{execution_id(arn)}")
    expect(page.locator("#execution-status")).to_have_text("Succeeded")
    page.get_by_label("Select steps on the graph").check()
    node(page, "Second").click()
    expect(node(page, "Second")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Run selected steps (1)").click()
    expect(page).not_to_have_url(console.base + f"/executions/{execution_id(arn)}")
    new_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#execution-status")).to_have_text("Succeeded", timeout=30_000)
    new_arn = arn.rsplit("/", 1)[0] + "/" + new_id
    described = sm.describe_pipeline_execution(PipelineExecutionArn=new_arn)
    assert described["SelectiveExecutionConfig"]["SourcePipelineExecutionArn"] == arn
    assert described["SelectiveExecutionConfig"]["SelectedSteps"] == [{"StepName": "Second"}]
    reused = node(page, "First").get_by_role("link", name=f"reused: from execution {execution_id(arn)}")
    expect(reused).to_be_visible()
    reused.click()
    expect(page).to_have_url(console.base + f"/executions/{execution_id(arn)}")


def test_a_failed_steps_reason_and_logs_by_keyboard(console: ConsolePage, sm: Any) -> None:
    script = "print('loading data', flush=True)\nprint('about to fail', flush=True)\nraise SystemExit('bad <b>input</b>')\n"
    create(sm, "failing", [processing("Crunch", script)])
    arn = sm.start_pipeline_execution(PipelineName="failing")["PipelineExecutionArn"]
    wait_until(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        == "Failed",
        "the run to fail",
    )
    reason = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"][0][
        "FailureReason"
    ]
    page = console.open(f"/executions/{execution_id(arn)}")
    crunch = node(page, "Crunch")
    expect(crunch).to_contain_text("Failed")
    crunch.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="Step details")
    expect(panel.locator("#panel-failure")).to_have_text(reason)  # in full, as text
    expect(page.locator("#panel-title")).to_be_focused()
    expect(panel.locator("#step-log")).to_contain_text("loading data\nabout to fail")
    console.shot("step-panel")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(crunch).to_be_focused()
