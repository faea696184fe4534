"""Comparing two executions, and approving a model package."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from playwright.sync_api import expect

from tests.console.conftest import ConsolePage, wait_until
from tests.console.pipelines import create, execution_id, lambda_step
from tests.sdk_integ.upstream_plugin import Server

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package


def test_compare_two_runs(console: ConsolePage, sm: Any) -> None:
    create(
        sm,
        "compared",
        [lambda_step("Double", {"Get": "Parameters.Value"})],
        [{"Name": "Value", "Type": "Integer", "DefaultValue": 1}],
    )
    arns = [
        sm.start_pipeline_execution(
            PipelineName="compared", PipelineParameters=[{"Name": "Value", "Value": value}]
        )["PipelineExecutionArn"]
        for value in ("2", "5")
    ]
    for arn in arns:
        wait_until(
            lambda arn=arn: sm.describe_pipeline_execution(PipelineExecutionArn=arn)[
                "PipelineExecutionStatus"
            ]
            == "Succeeded",
            "a run",
        )
    page = console.open("/pipelines/compared")
    for arn in arns:
        page.get_by_label(f"Compare {execution_id(arn)}").check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page).to_have_url(console.base + f"/compare?a={execution_id(arns[0])}&b={execution_id(arns[1])}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compare")
    parameters = page.locator("#compare-parameters tbody tr")
    expect(parameters).to_have_count(1)
    expect(parameters.first).to_have_class("differs")
    expect(parameters.first).to_contain_text("Value")
    cells = parameters.first.locator("td")
    expect(cells).to_have_text(["2", "5"])
    step = page.locator('#compare-steps tr[data-step="Double"]')
    expect(step.locator("td").first).to_contain_text("Succeeded")
    # each run's outputs side by side
    expect(step.locator("td").nth(0)).to_contain_text('"Value":"4"')
    expect(step.locator("td").nth(1)).to_contain_text('"Value":"10"')
    expect(step).to_have_class("differs")


def test_approve_a_model(console: ConsolePage, sm: Any, server: Server) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDCONSOLE",
        aws_secret_access_key="secret",
    )
    s3.create_bucket(Bucket="models")
    s3.put_object(
        Bucket="models", Key="metrics.json", Body=json.dumps({"regression_metrics": {"mse": {"value": 4.25}}})
    )
    sm.create_model_package_group(
        ModelPackageGroupName="churn", ModelPackageGroupDescription="Churn <i>models</i>"
    )
    arn = sm.create_model_package(
        ModelPackageGroupName="churn",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": "s3://models/metrics.json"}
            }
        },
    )["ModelPackageArn"]
    page = console.open("/models")
    row = page.locator('#group-churn tr[data-version="1"]')
    expect(row).to_contain_text("PendingManualApproval")
    expect(row).to_contain_text("regression_metrics.mse: 4.25")
    expect(page.get_by_role("region", name="churn")).to_contain_text("Churn <i>models</i>")
    row.get_by_role("button", name="Approve churn version 1").click()
    expect(row.get_by_role("button", name="Approve churn version 1")).to_be_disabled()
    expect(row).to_contain_text("Approved")
    assert sm.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"] == "Approved"
