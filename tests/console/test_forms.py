"""The pipeline page's Start form: typed inputs from the parameter declarations, validated as
the API would, and the values the API received."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from playwright.sync_api import expect

from tests.console.conftest import ROLE, ConsolePage
from tests.console.pipelines import create, lambda_step
from tests.sdk_integ.upstream_plugin import Server

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package

PARAMETERS = [
    {"Name": "Epochs", "Type": "Integer", "DefaultValue": 3},
    {"Name": "Rate", "Type": "Float", "DefaultValue": 0.5},
    {"Name": "Shuffle", "Type": "Boolean", "DefaultValue": False},
    {"Name": "Mode", "Type": "String", "DefaultValue": "fast", "EnumValues": ["fast", "thorough"]},
    {"Name": "Label", "Type": "String", "DefaultValue": "run"},
]


def test_start_with_typed_values(console: ConsolePage, sm: Any) -> None:
    create(sm, "typed", [lambda_step("Double", 1)], PARAMETERS)
    page = console.open("/pipelines/typed")
    form = page.get_by_role("form", name="Start an execution")
    expect(form.get_by_label("Epochs")).to_have_value("3")  # pre-filled with the defaults
    expect(form.get_by_label("Rate")).to_have_value("0.5")
    expect(form.get_by_label("Shuffle")).not_to_be_checked()
    expect(form.get_by_label("Mode")).to_have_value("fast")
    assert form.get_by_label("Mode").evaluate("e => e.tagName") == "SELECT"
    assert form.get_by_label("Epochs").get_attribute("name") == "Epochs"

    form.get_by_label("Epochs").fill("2.5")  # not an Integer: refused before any call
    form.get_by_role("button", name="Start").click()
    expect(form).to_contain_text("Epochs must be a whole number")
    assert sm.list_pipeline_executions(PipelineName="typed")["PipelineExecutionSummaries"] == []

    form.get_by_label("Epochs").fill("12")
    form.get_by_label("Rate").fill("0.125")
    form.get_by_label("Shuffle").check()
    form.get_by_label("Mode").select_option("thorough")
    form.get_by_label("Label").fill('<b>"quoted"</b>')
    form.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/executions/[a-z0-9]{12}$"))
    expect(page.locator("#execution-status")).to_be_visible()
    arn = sm.list_pipeline_executions(PipelineName="typed")["PipelineExecutionSummaries"][0][
        "PipelineExecutionArn"
    ]
    assert page.url.endswith("/executions/" + arn.rsplit("/", 1)[1])
    values = {
        p["Name"]: p["Value"]
        for p in sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    }
    assert values == {
        "Epochs": "12",
        "Rate": "0.125",
        "Shuffle": "true",
        "Mode": "thorough",
        "Label": '<b>"quoted"</b>',
    }
    expect(page.locator("#parameters")).to_contain_text('<b>"quoted"</b>')


def test_versions_diff_schedules_and_status_filter(console: ConsolePage, sm: Any, server: Server) -> None:
    arn = create(sm, "versioned", [lambda_step("Double", 1)])
    scheduler = boto3.client(
        "scheduler",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDCONSOLE",
        aws_secret_access_key="secret",
    )
    scheduler.create_schedule(
        Name="nightly",
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE},
    )
    sm.update_pipeline(
        PipelineName="versioned",
        PipelineDefinition='{"Version": "2020-12-01", "Steps": [{"Name": "Double", "Type": "Lambda", '
        '"FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:double", "Arguments": {"value": 7}}]}',
    )
    page = console.open("/pipelines/versioned")
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    page.get_by_label("From").select_option("1")
    page.get_by_label("To").select_option("2")
    page.get_by_role("button", name="Show diff").click()
    expect(page.locator("pre.diff del").filter(has_text='"value": 1')).to_have_count(1)
    expect(page.locator("pre.diff ins").filter(has_text='"value": 7')).to_have_count(1)
    expect(page.get_by_role("region", name="Schedules")).to_contain_text("nightly: rate(1 day) (ENABLED)")
    started = sm.start_pipeline_execution(PipelineName="versioned")["PipelineExecutionArn"]
    new_row = page.locator(f"#execution-link-{started.rsplit('/', 1)[1]}")
    expect(new_row).to_be_visible(timeout=10_000)  # the list refreshes in place
    page.get_by_label("Status", exact=True).select_option("Failed")
    expect(page).to_have_url(console.base + "/pipelines/versioned?status=Failed")
    expect(page.locator("#executions-list")).to_contain_text("No Failed executions.")
    page.get_by_role("link", name="Pipelines").first.click()
    expect(page.get_by_role("row", name="versioned")).to_contain_text("nightly: rate(1 day)")
