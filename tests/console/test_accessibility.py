"""Accessibility: every input has a label, statuses are words, and text contrast is at least
4.5:1 (WCAG AA) for badges and graph nodes in every status."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.console.conftest import ConsolePage, wait_until
from tests.console.pipelines import create, execution_id, lambda_step

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package


def luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def unlabelled(page: Any) -> list[str]:
    return page.locator("main input, main select, main textarea").evaluate_all(
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)"
    )


def test_labels_status_words_and_contrast(console: ConsolePage, sm: Any) -> None:
    gate = {
        "Name": "Gate",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {"Type": "GreaterThan", "LeftValue": {"Get": "Parameters.Level"}, "RightValue": 5}
            ],
            "IfSteps": [lambda_step("High", 1)],
            "ElseSteps": [{"Name": "Low", "Type": "Fail", "Arguments": {"ErrorMessage": "too low"}}],
        },
    }
    parameters = [
        {"Name": "Level", "Type": "Integer", "DefaultValue": 1},
        {"Name": "Fast", "Type": "Boolean", "DefaultValue": True},
        {"Name": "Kind", "Type": "String", "DefaultValue": "a", "EnumValues": ["a", "b"]},
    ]
    create(sm, "accessible", [gate, lambda_step("Side", 2)], parameters)
    arn = sm.start_pipeline_execution(PipelineName="accessible")["PipelineExecutionArn"]
    wait_until(
        lambda: sm.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"]
        == "Failed",
        "the run",
    )

    page = console.open("/pipelines/accessible")
    expect(page.get_by_role("form", name="Start an execution")).to_be_visible()
    expect(page.locator("#executions tbody tr")).to_have_count(1)
    assert unlabelled(page) == []

    page = console.open(f"/executions/{execution_id(arn)}")
    expect(page.locator("#execution-status")).to_have_text("Failed")
    expect(page.locator('g.node[data-step="Low"]')).to_contain_text("Failed")  # a word, not a colour only
    expect(page.locator('g.node[data-step="High"]')).to_contain_text("Not run (branch not taken)")
    page.get_by_role("button", name="Step Low, Fail, Failed").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#panel-failure")).to_contain_text("too low")
    assert unlabelled(page) == []

    pairs = page.locator(".badge").evaluate_all(
        "els => els.map(e => [e.textContent, getComputedStyle(e).color, getComputedStyle(e).backgroundColor])"
    )
    pairs += page.locator("g.node").evaluate_all(
        "els => els.flatMap(g => [...g.querySelectorAll('text')].map(t =>"
        " [g.dataset.step + ': ' + t.textContent, getComputedStyle(t).fill, getComputedStyle(g.querySelector('rect')).fill]))"
    )
    assert len(pairs) > 8
    poor = [(text, round(contrast(fg, bg), 2)) for text, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert not poor, poor
