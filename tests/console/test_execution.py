"""The execution page: the DAG colours live, Stop, Retry, Run selected steps, and a failed
step's reason and logs reached with the keyboard."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import ConsolePage, wait_until
from tests.console.pipelines import create, execution_id, lambda_step, processing, step_status

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package

GATE = "import os, time\nprint('waiting for the gate', flush=True)\nwhile not os.path.exists({path!r}):\n    time.sleep(0.05)\nprint('gate opened', flush=True)\n"


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
    node(page, "Wait").click()
    log = page.locator("#step-log")
    expect(log).to_have_text("waiting for the gate\n")  # the running job's log, tailed live
    page.get_by_label("Select After").focus()  # a keyboard user's place survives the live updates
    gate.write_text("open")
    wait_until(lambda: step_status(sm, arn, "After") == "Succeeded", "After to succeed through the API")
    seen_at = time.monotonic()
    expect(node(page, "After")).to_have_class("node status-Succeeded", timeout=2000)
    expect(node(page, "Wait")).to_have_class("node status-Succeeded", timeout=2000)
    assert time.monotonic() - seen_at < 2.0
    expect(page.locator("#execution-status")).to_have_text("Succeeded", timeout=2000)
    expect(node(page, "Wait")).to_contain_text("1 attempt")
    expect(page.get_by_label("Select After")).to_be_focused()
    expect(log).to_have_text("waiting for the gate\ngate opened\n")
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
    log = panel.locator("#step-log")
    expect(log).to_contain_text("about to fail")
    expect(log).to_contain_text("bad <b>input</b>")  # the exit message, as text
    # stdout keeps its order; stderr is read from its own pipe, so where the exit message lands
    # among stdout's lines is not fixed
    lines = (log.text_content() or "").splitlines()
    assert lines.index("loading data") < lines.index("about to fail"), lines
    console.shot("step-panel")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(crunch).to_be_focused()


def test_callback_forms_condition_branches_and_lambda_outputs(console: ConsolePage, sm: Any) -> None:
    approve = {
        "Name": "Approve",
        "Type": "Callback",
        "Arguments": {"model": "m"},
        "SqsQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
        "OutputParameters": [{"OutputName": "verdict", "OutputType": "String"}],
    }
    check = {
        "Name": "Check",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "Equals",
                    "LeftValue": {"Get": "Steps.Approve.OutputParameters['verdict']"},
                    "RightValue": "ship",
                }
            ],
            "IfSteps": [lambda_step("Ship", 21)],
            "ElseSteps": [lambda_step("Hold", 0)],
        },
    }
    create(sm, "approval", [approve, check])
    arn = sm.start_pipeline_execution(PipelineName="approval")["PipelineExecutionArn"]
    page = console.open(f"/executions/{execution_id(arn)}")
    expect(node(page, "Approve")).to_have_class("node status-Executing")
    node(page, "Approve").click()
    panel = page.get_by_role("complementary", name="Step details")
    token = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn)["PipelineExecutionSteps"][0][
        "Metadata"
    ]["Callback"]["CallbackToken"]
    expect(panel.locator("#callback-token")).to_have_text(token)
    succeed = panel.get_by_role("form", name="Succeed the callback")
    succeed.get_by_label("verdict (String)").fill("ship")
    succeed.get_by_role("button", name="Succeed").click()
    expect(page.locator("#execution-status")).to_have_text("Succeeded", timeout=30_000)
    assert step_status(sm, arn, "Approve") == "Succeeded"
    expect(node(page, "Hold")).to_have_class("node status-NotStarted not-taken")
    expect(node(page, "Hold")).to_contain_text("Not run (branch not taken)")
    node(page, "Check").click()
    expect(panel.locator("#condition-outcome")).to_have_text("True")
    node(page, "Ship").click()
    expect(panel).to_contain_text('"Name": "doubled"')
    expect(panel).to_contain_text('"Value": "42"')

    refused = sm.start_pipeline_execution(PipelineName="approval")["PipelineExecutionArn"]
    page = console.open(f"/executions/{execution_id(refused)}")
    expect(node(page, "Approve")).to_have_class("node status-Executing")
    node(page, "Approve").click()
    fail = page.get_by_role("form", name="Fail the callback")
    fail.get_by_label("Failure reason").fill("not <good> enough")
    fail.get_by_role("button", name="Fail").click()
    expect(page.locator("#execution-status")).to_have_text("Failed", timeout=30_000)
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=refused)["PipelineExecutionSteps"]
    assert [s["FailureReason"] for s in steps if s["StepName"] == "Approve"] == ["not <good> enough"]
    expect(page.locator("#panel-failure")).to_have_text("not <good> enough")


def test_a_cache_hit_is_marked_and_links_to_its_source(console: ConsolePage, sm: Any) -> None:
    cached = processing(
        "Prepare", "print('preparing', flush=True)\n", CacheConfig={"Enabled": True, "ExpireAfter": "PT1H"}
    )
    create(sm, "cached", [cached])
    arns = []
    for _ in range(2):
        arn = sm.start_pipeline_execution(PipelineName="cached")["PipelineExecutionArn"]
        wait_until(
            lambda arn=arn: sm.describe_pipeline_execution(PipelineExecutionArn=arn)[
                "PipelineExecutionStatus"
            ]
            == "Succeeded",
            "a run",
        )
        arns.append(arn)
    page = console.open(f"/executions/{execution_id(arns[1])}")
    hit = node(page, "Prepare").get_by_role("link", name=f"cache hit: from execution {execution_id(arns[0])}")
    expect(hit).to_be_visible()
    node(page, "Prepare").click()
    expect(page.get_by_role("complementary")).to_contain_text(f"Cache hit from{execution_id(arns[0])}")
    hit.click()
    expect(page).to_have_url(console.base + f"/executions/{execution_id(arns[0])}")
    expect(node(page, "Prepare").get_by_role("link")).to_have_count(0)
