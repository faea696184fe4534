"""Everything from a definition, a parameter or a failure reason is shown as text; the page
holds to its CSP; a 500-step DAG is laid out without overlapping nodes, at a readable size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import ROLE, ConsolePage, wait_until
from tests.console.pipelines import create, execution_id, lambda_step
from tests.console.test_pages import get
from tests.sdk_integ.upstream_plugin import Server

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package

SCRIPT = "<script>window.__pwned = 1</script>"
IMAGE = "<img src=x onerror=\"document.title='pwned'\">"


def test_html_in_names_descriptions_parameters_and_reasons_is_text(
    console: ConsolePage, sm: Any, server: Server
) -> None:
    steps = [
        {
            "Name": "Gate",
            "Type": "Condition",
            "Description": f"checks {SCRIPT}",
            "Arguments": {
                "Conditions": [
                    {"Type": "Equals", "LeftValue": {"Get": "Parameters.Tag"}, "RightValue": "never"}
                ],
                "IfSteps": [],
                "ElseSteps": [
                    {
                        "Name": "Stop-Here",
                        "DisplayName": "<b>Stop</b>",
                        "Type": "Fail",
                        "Description": IMAGE,
                        "Arguments": {
                            "ErrorMessage": {
                                "Std:Join": {
                                    "On": " ",
                                    "Values": ["failed:", {"Get": "Parameters.Tag"}, IMAGE],
                                }
                            }
                        },
                    }
                ],
            },
        }
    ]
    definition = {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "Tag", "Type": "String", "DefaultValue": SCRIPT}],
        "Steps": steps,
    }
    sm.create_pipeline(
        PipelineName="escaping",
        PipelineDefinition=json.dumps(definition),
        PipelineDescription=f"about {IMAGE}",
        RoleArn=ROLE,
    )
    arn = sm.start_pipeline_execution(PipelineName="escaping")["PipelineExecutionArn"]
    wait_until(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        == "Failed",
        "the run to fail",
    )
    dialogs: list[str] = []
    console.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page = console.open("/pipelines/escaping")
    expect(page.locator("p.description")).to_have_text(f"about {IMAGE}")
    expect(page.get_by_label("Tag")).to_have_value(SCRIPT)
    expect(page.locator("main")).to_contain_text(SCRIPT)  # the parameter table shows the default as text

    page = console.open(f"/executions/{execution_id(arn)}")
    expect(page.locator("#execution-status")).to_have_text("Failed")
    stop = page.locator('g.node[data-step="Stop-Here"]')
    expect(stop.locator("text.node-name")).to_have_text(
        "<b>Stop</b>"
    )  # step names cannot hold markup; display names can
    stop.click()
    failure = page.locator("#panel-failure")
    expect(failure).to_contain_text(IMAGE)
    expect(failure).to_contain_text(SCRIPT)
    page.locator('g.node[data-step="Gate"]').click()
    expect(page.locator("#condition-outcome")).to_have_text("False")
    expect(page.get_by_role("complementary")).to_contain_text(f"checks {SCRIPT}")
    # nothing was parsed as markup: no element came from the data, no handler ran
    assert page.locator("main img, main script, aside img, aside script").count() == 0
    assert page.title() != "pwned" and not dialogs
    assert page.evaluate("() => window.__pwned") is None


def test_every_console_response_has_a_strict_csp(server: Server) -> None:
    for path in (
        "/",
        "/pipelines/x",
        "/executions/abcdefabcdef",
        "/models",
        "/compare",
        "/_console/app.js",
        "/_console/config.json",
    ):
        status, headers, _ = get(server.url + path, accept="text/html")
        policy = headers["Content-Security-Policy"]
        assert status == 200, path
        assert "script-src 'self';" in policy and "style-src 'self';" in policy, policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_inline_scripts_and_styles_are_blocked_by_the_page_policy(console: ConsolePage) -> None:
    page = console.open("/models")
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    # a script element injected by the test (as an XSS would) must not run
    page.locator("body").evaluate(
        "b => { const s = document.createElement('script'); s.id = 'injected';"
        " s.textContent = 'window.__ran = 1'; b.appendChild(s); }"
    )
    expect(page.locator("script#injected")).to_have_count(1)
    wait_until(lambda: violations, "the CSP violation report")
    assert page.evaluate("() => window.__ran") is None
    # nor does an inline style attribute apply
    color = page.locator("body").evaluate(
        "b => { const d = document.createElement('div'); d.setAttribute('style', 'color: rgb(255, 0, 0)');"
        " b.appendChild(d); return getComputedStyle(d).color; }"
    )
    assert color != "rgb(255, 0, 0)"
    wait_until(lambda: len(violations) >= 2, "the style violation report")
    console.problems.clear()  # the violation above is the point of this test


def test_a_500_step_graph_is_readable(console: ConsolePage, sm: Any) -> None:
    steps = []
    for i in range(500):
        depends = sorted(
            {f"s{i - 1:03d}", f"s{i - 7:03d}"} if i >= 7 else ({f"s{i - 1:03d}"} if i else set())
        )
        steps.append(lambda_step(f"s{i:03d}", i, DependsOn=depends))
    create(sm, "big", steps)
    workers: list[str] = []
    console.page.on("worker", lambda worker: workers.append(worker.url))
    page = console.open("/pipelines/big")
    nodes = page.locator("svg.dag g.node")
    expect(nodes).to_have_count(500, timeout=60_000)
    assert [url.rsplit("/", 1)[1] for url in workers] == ["layout-worker.js"]  # laid out off the main thread
    boxes = [
        tuple(float(v) for v in box.split(","))
        for box in nodes.evaluate_all("ns => ns.map(n => n.dataset.box)")
    ]
    boxes.sort()
    for index, (x, y, w, h) in enumerate(boxes):  # sweep on x: no two nodes overlap
        for x2, y2, _w2, h2 in boxes[index + 1 :]:
            if x2 >= x + w:
                break
            assert y2 >= y + h or y >= y2 + h2, f"nodes overlap at {(x, y)} and {(x2, y2)}"
    # drawn at its natural size (the view scrolls rather than shrinking text)
    first = nodes.first.locator("rect.node-box").bounding_box()
    assert first is not None and first["width"] >= 200 and first["height"] >= 60
    name = nodes.first.locator("text.node-name")
    font = name.evaluate("t => getComputedStyle(t).fontSize")
    assert float(font.rstrip("px")) >= 13
    expect(page.locator('g.node[data-step="s499"] text.node-name')).to_have_text("s499")
