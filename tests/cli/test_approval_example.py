"""The approval example end to end: a separate ``pipelines run`` waits at the Callback step and
another process answers it through the CLI, as ``make demo`` does."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.callbacks import CallbackQueue
from pipelines.config import load_config

from .helpers import BackgroundRun, Invoke, steps_by_name, wait_for


def waiting_token(invoke: Invoke) -> str | None:
    listed = invoke.json("callback", "list")
    return listed[0]["token"] if listed else None


def test_run_waits_for_approval_then_registers(approval: Path, invoke: Invoke) -> None:
    with BackgroundRun("pipeline.json", cwd=approval) as run:
        token = wait_for(lambda: waiting_token(invoke), what="the approval request")
        [request] = invoke.json("callback", "list")
        assert request["stepName"] == "RequestApproval"
        assert request["queueName"] == "approval-requests"
        assert request["arguments"]["summary"].startswith("accuracy 90.5% on 200 validation rows")
        [message] = CallbackQueue.from_config(load_config(approval / "pipelines.toml")).peek(
            "approval-requests"
        )
        assert message.body["token"] == token
        assert message.body["pipelineExecutionArn"] == request["executionArn"]

        answered = invoke(
            "callback",
            "succeed",
            token,
            "--output",
            "approval_status=Approved",
            "--output",
            "approver=pytest",
        )
        assert answered.exit_code == 0, answered.output
        document = run.document(exit_code=0)
    assert document["Execution"]["PipelineExecutionStatus"] == "Succeeded"
    steps = steps_by_name(document)
    assert {name: s["StepStatus"] for name, s in steps.items()} == {
        "Evaluate": "Succeeded",
        "CheckAccuracy": "Succeeded",
        "Summarize": "Succeeded",
        "RequestApproval": "Succeeded",
        "RegisterCandidate": "Succeeded",
    }
    assert steps["Evaluate"]["Metadata"]["Lambda"]["OutputParameters"][0] == {
        "Name": "accuracy",
        "Value": "0.905",
    }
    package_arn = steps["RegisterCandidate"]["Metadata"]["RegisterModel"]["Arn"]

    [group] = invoke.json("models")
    assert group["ModelPackageGroupName"] == "approval-demo"
    [version] = group["ModelPackages"]
    assert version["ModelPackageArn"] == package_arn
    assert version["ModelApprovalStatus"] == "Approved"  # the approver's answer, via the callback output
    assert invoke.json("callback", "list") == []
    assert CallbackQueue.from_config(load_config(approval / "pipelines.toml")).peek() == []


def test_low_accuracy_takes_the_fail_branch(invoke: Invoke) -> None:
    result = invoke(
        "run", str(invoke.config.parent / "pipeline.json"), "--param", "MinAccuracy=0.95", "--json"
    )
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["Execution"]["PipelineExecutionStatus"] == "Failed"
    reason = "Step failure: One or multiple steps failed. Failed steps: AccuracyTooLow."
    assert document["Execution"]["FailureReason"] == reason
    steps = steps_by_name(document)
    assert steps["AccuracyTooLow"]["StepStatus"] == "Failed"
    assert steps["AccuracyTooLow"]["FailureReason"] == "accuracy 0.905 is below the minimum 0.95"
    assert "RequestApproval" not in steps and "RegisterCandidate" not in steps
    assert invoke.json("models") == []


def test_quiet_prints_only_the_final_line(invoke: Invoke) -> None:
    result = invoke("run", str(invoke.config.parent / "pipeline.json"), "-p", "MinAccuracy=0.99", "--quiet")
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Execution ") and "Failed in" in lines[0]
    assert lines[0].endswith("accuracy 0.905 is below the minimum 0.99")


def test_pipeline_name_and_listings(invoke: Invoke) -> None:
    pipeline = str(invoke.config.parent / "pipeline.json")
    assert invoke("run", pipeline, "-p", "MinAccuracy=0.99", "--quiet").exit_code == 1
    assert (
        invoke("run", pipeline, "-p", "MinAccuracy=0.99", "--quiet", "--pipeline-name", "gate").exit_code == 1
    )
    names = [e["PipelineExecutionArn"].split("/")[1] for e in invoke.json("executions")]
    assert names == ["gate", "pipeline"]  # newest first; the default name is the file stem
    [only] = invoke.json("executions", "--pipeline", "gate")
    steps = invoke.json("steps", only["PipelineExecutionId"])
    assert [s["StepName"] for s in steps["Steps"]] == ["Evaluate", "CheckAccuracy", "AccuracyTooLow"]
    experiments = {e["ExperimentName"]: e for e in invoke.json("experiments")}
    assert set(experiments) == {"gate", "pipeline"}
    assert [g["TrialName"] for g in experiments["gate"]["RunGroups"]] == [only["PipelineExecutionId"]]
    table = invoke("steps", "latest")
    assert table.exit_code == 0 and "AccuracyTooLow" in table.stdout
