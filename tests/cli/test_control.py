"""Stop, retry and selective execution from the CLI, across processes where it matters."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from pipelines.callbacks import CallbackQueue
from pipelines.config import load_config

from .helpers import PIPELINES, BackgroundRun, Invoke, calls, steps_by_name, wait_for


def test_stop_while_a_callback_waits_sends_stopping_then_ends_stopped(approval: Path, invoke: Invoke) -> None:
    with BackgroundRun("pipeline.json", cwd=approval) as run:
        [request] = wait_for(lambda: invoke.json("callback", "list"), what="the approval request")
        stopped = invoke("stop", request["executionId"])
        assert stopped.exit_code == 0, stopped.output
        assert f"Execution {request['executionId']} is Stopping" in stopped.stdout

        queue = CallbackQueue.from_config(load_config(approval / "pipelines.toml"))
        stopping = wait_for(
            lambda: [m.body for m in queue.peek("approval-requests") if m.body.get("status") == "Stopping"],
            what="the Stopping message",
        )
        assert stopping[0]["token"] == request["token"]
        [still_waiting] = invoke.json("callback", "list")  # a stop does not end a Callback step
        assert still_waiting["executionStatus"] == "Stopping"

        failed = invoke("callback", "fail", request["token"], "--reason", "cleaned up after stop")
        assert failed.exit_code == 0, failed.output
        document = run.document(exit_code=1)
    assert document["Execution"]["PipelineExecutionStatus"] == "Stopped"
    assert "RegisterCandidate" not in steps_by_name(document)


def test_stop_lets_a_running_lambda_finish_and_starts_nothing_else(
    lambda_project: Callable[..., Path],
) -> None:
    root = lambda_project()
    (root / "fixed").touch()
    (root / "A_SECONDS").write_text("2")
    invoke = Invoke(root / "pipelines.toml")
    with BackgroundRun("chain.json", cwd=root) as run:
        wait_for(lambda: calls(root) == ["A"], what="step A to start")
        stopped = invoke("stop", "latest")
        assert stopped.exit_code == 0, stopped.output
        document = run.document(exit_code=1)
    assert document["Execution"]["PipelineExecutionStatus"] == "Stopped"
    assert {name: s["StepStatus"] for name, s in steps_by_name(document).items()} == {"A": "Succeeded"}
    assert calls(root) == ["A"]


def test_retry_reruns_the_failed_step_and_reuses_the_rest(lambda_project: Callable[..., Path]) -> None:
    root = lambda_project()
    invoke = Invoke(root / "pipelines.toml")
    first = invoke("run", str(root / "chain.json"), "--json")
    assert first.exit_code == 1
    failed = json.loads(first.stdout)
    assert failed["Execution"]["PipelineExecutionStatus"] == "Failed"
    assert "B is broken until fixed" in steps_by_name(failed)["B"]["FailureReason"]

    (root / "fixed").touch()
    retried = invoke("retry", "latest", "--json")
    assert retried.exit_code == 0, retried.output
    document = json.loads(retried.stdout)
    assert document["Execution"]["PipelineExecutionArn"] == failed["Execution"]["PipelineExecutionArn"]
    assert document["Execution"]["PipelineExecutionStatus"] == "Succeeded"
    assert calls(root) == ["A", "B", "B"]  # A ran once; only B ran again


def test_retry_of_a_succeeded_execution_is_refused(lambda_project: Callable[..., Path]) -> None:
    root = lambda_project()
    (root / "fixed").touch()
    invoke = Invoke(root / "pipelines.toml")
    assert invoke("run", str(root / "chain.json"), "--quiet").exit_code == 0
    refused = invoke("retry", "latest")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: ")


def test_selective_run_from_latest_reuses_unselected_steps(lambda_project: Callable[..., Path]) -> None:
    root = lambda_project()
    (root / "fixed").touch()
    invoke = Invoke(root / "pipelines.toml")
    reference = invoke("run", str(root / "chain.json"), "--json")
    assert reference.exit_code == 0
    reference_arn = json.loads(reference.stdout)["Execution"]["PipelineExecutionArn"]

    selective = invoke("run", str(root / "chain.json"), "--select", "B", "--from", "latest", "--json")
    assert selective.exit_code == 0, selective.output
    document = json.loads(selective.stdout)
    assert document["Execution"]["SelectiveExecutionConfig"] == {
        "SourcePipelineExecutionArn": reference_arn,
        "SelectedSteps": [{"StepName": "B"}],
    }
    steps = steps_by_name(document)
    assert steps["A"]["SelectiveExecutionResult"] == {"SourcePipelineExecutionArn": reference_arn}
    assert steps["B"]["StepStatus"] == "Succeeded"
    assert calls(root) == ["A", "B", "B"]


def test_selective_without_reference_may_not_depend_on_unselected_steps(
    lambda_project: Callable[..., Path],
) -> None:
    root = lambda_project()
    invoke = Invoke(root / "pipelines.toml")
    refused = invoke("run", str(root / "chain.json"), "--select", "B")
    assert refused.exit_code == 2
    assert "A" in refused.stderr
    assert calls(root) == []


def test_stop_with_no_process_running_the_execution_carries_the_stop_out(
    lambda_project: Callable[..., Path],
) -> None:
    root = lambda_project()
    (root / "fixed").touch()
    (root / "A_SECONDS").write_text("30")
    invoke = Invoke(root / "pipelines.toml")
    with BackgroundRun("chain.json", cwd=root) as run:
        wait_for(lambda: calls(root) == ["A"], what="step A to start")
        run.process.kill()  # `pipelines run` is gone while A runs: no driver is alive
        run.process.wait(timeout=10)
    stopped = invoke("stop", "latest")
    assert stopped.exit_code == 0, stopped.output
    assert stopped.stdout.strip().splitlines()[-1].startswith("Execution ")
    assert " Stopped in " in stopped.stdout  # not left Stopping for `pipelines resume`
    [execution] = invoke.json("executions")
    assert execution["PipelineExecutionStatus"] == "Stopped"
    assert calls(root) == ["A"]


def test_stop_with_no_process_running_waits_for_the_callback_answer(approval: Path, invoke: Invoke) -> None:
    with BackgroundRun("pipeline.json", cwd=approval) as run:
        [request] = wait_for(lambda: invoke.json("callback", "list"), what="the approval request")
        run.process.kill()  # `pipelines run` exited while the Callback step waits
        run.process.wait(timeout=10)
    stop = subprocess.Popen(
        [str(PIPELINES), "stop", request["executionId"], "--config", "pipelines.toml"],
        cwd=approval,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        queue = CallbackQueue.from_config(load_config(approval / "pipelines.toml"))
        wait_for(  # sent by the stopping process, which now waits for the consumer's answer
            lambda: [m.body for m in queue.peek("approval-requests") if m.body.get("status") == "Stopping"],
            what="the Stopping message",
        )
        assert stop.poll() is None
        failed = invoke("callback", "fail", request["token"], "--reason", "cleaned up after stop")
        assert failed.exit_code == 0, failed.output
        stdout, stderr = stop.communicate(timeout=60)
    finally:
        stop.kill()
    assert stop.returncode == 0, stderr
    assert "carrying out the stop here" in stdout
    assert "RequestApproval (Callback) Stopping" in stdout  # progress lines while it waits
    assert stdout.strip().splitlines()[-1].startswith(f"Execution {request['executionId']} Stopped in ")
