"""Nothing hangs and nothing starts twice, on the deployed stack: the fault paths of
tests/cloud/test_no_hang.py, each made from the outside as it happens on AWS. The engine is a
real Python 3.12 process killed with SIGKILL mid-decision (out of memory, timed out); runs are
aborted with StopExecution; status-change events reach the engine through the stack's own
EventBridge rule (put on the default bus, as Step Functions does), delivered twice or not at all;
the sweep is the engine invoked with its schedule rule's input. Every scenario ends with the
execution finished as the API reports it and each step attempt started once.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.dynamodb.models import DynamoDBBackend

from tests.cloud.drivers import step_of_job
from tests.cloud.moto_patches import Complete, Failed, Hold, JobOutcome
from tests.cloud.scenarios import CAPACITY, pipeline, processing, training
from tests.rehearsal.harness import Rehearsal, wait_until

ENGINE = "EngineEngineFunction"


def _token() -> str:
    return uuid.uuid4().hex


def create(rehearsal: Rehearsal, definition: dict[str, Any]) -> str:
    name = f"faults-{uuid.uuid4().hex[:10]}"
    rehearsal.sagemaker().create_pipeline(
        PipelineName=name,
        PipelineDefinition=json.dumps(definition),
        RoleArn=rehearsal.output("SamplePipelineRoleArn"),
        ClientRequestToken=_token(),
    )
    return name


def start(rehearsal: Rehearsal, name: str) -> str:
    started = rehearsal.sagemaker().start_pipeline_execution(PipelineName=name, ClientRequestToken=_token())
    return str(started["PipelineExecutionArn"])


def execution_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def runners(rehearsal: Rehearsal, arn: str) -> list[dict[str, Any]]:
    sfn = rehearsal.aws("stepfunctions")
    items = sfn.list_executions(stateMachineArn=rehearsal.output("StepRunnerArn"))["executions"]
    return [i for i in items if i["name"].startswith(f"{execution_id(arn)}-")]


def run_of(rehearsal: Rehearsal, arn: str) -> str:
    """The PipelineExecution machine's run of the execution (its first run is named by its id)."""
    machine = rehearsal.output("PipelineExecutionArn")
    return f"{machine.replace(':stateMachine:', ':execution:')}:{execution_id(arn)}"


def started_once(rehearsal: Rehearsal, arn: str) -> Counter[str]:
    """Every StepRunner (one per step attempt) and every job started once; jobs per step."""
    names = Counter(r["name"] for r in runners(rehearsal, arn))
    jobs = Counter(name for _kind, name in rehearsal.moto.jobs.created if execution_id(arn) in name)
    assert set(names.values()) <= {1} and set(jobs.values()) <= {1}, (names, jobs)
    return Counter(step_of_job(name)[0] for name in jobs)


def status_change(rehearsal: Rehearsal, machine_execution_arn: str) -> None:
    """Step Functions' "Execution Status Change" event of an ended run, on the default bus: the
    stack's RunsThatEnd rule delivers it to the engine (moto's Step Functions emits none)."""
    described = rehearsal.aws("stepfunctions").describe_execution(executionArn=machine_execution_arn)
    detail = {
        "executionArn": machine_execution_arn,
        "stateMachineArn": described["stateMachineArn"],
        "name": described["name"],
        "status": described["status"],
        "error": described.get("error"),
        "cause": described.get("cause"),
    }
    answer = rehearsal.aws("events").put_events(
        Entries=[
            {
                "Source": "aws.states",
                "DetailType": "Step Functions Execution Status Change",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0


def sweep(rehearsal: Rehearsal) -> Any:
    """What the stack's Sweep schedule rule sends the engine (its target's Input)."""
    (rule,) = [
        rehearsal.deployment.created[logical].physical_id
        for logical in rehearsal.deployment.logical_ids("AWS::Events::Rule")
        if logical.startswith("EngineSweep")
    ]
    (target,) = rehearsal.aws("events").list_targets_by_rule(Rule=rule)["Targets"]
    done = rehearsal.lambdas.invoke(rehearsal.lambdas.by_arn(target["Arn"]).name, json.loads(target["Input"]))
    assert done.error is None, done.error
    return done.payload


def made_no_progress_for(rehearsal: Rehearsal, arn: str, age: timedelta) -> None:
    """The execution's record as it would read after ``age`` without progress (the sweep acts on
    executions unchanged for 10 minutes; the test does not wait them out)."""
    store = rehearsal.store()
    dynamodb = rehearsal.aws("dynamodb")
    key = {"pk": {"S": f"EXECUTION#{execution_id(arn)}"}, "sk": {"S": "#META"}}
    item = dynamodb.get_item(TableName=store.tables.state, Key=key, ConsistentRead=True)["Item"]
    body = json.loads(store.codec.decode(item))
    body["modified_at"] = (datetime.now(UTC) - age).isoformat()
    encoded = store.codec.encode(json.dumps(body), "execution")
    item = {k: v for k, v in item.items() if k not in ("body", "bodyz")} | encoded
    dynamodb.put_item(TableName=store.tables.state, Item=item)


def hold_jobs(rehearsal: Rehearsal) -> None:
    rehearsal.moto.jobs.decide = lambda kind, name, request: Hold()


def engine_deaths(rehearsal: Rehearsal) -> int:
    calls = rehearsal.lambdas.calls(rehearsal.function_name(ENGINE))
    return sum(1 for c in calls if c.error is not None and c.error.get("errorType") == "Runtime.ExitError")


@pytest.fixture
def kill_engine_after(
    rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Callable[[list[dict[str, Any]]], bool]], list[int]]]:
    """Arm a crash: after the first DynamoDB transaction for which ``which(items)`` holds is
    applied, every engine process in an invocation is killed before it hears the answer."""
    real = DynamoDBBackend.transact_write_items
    armed: list[Callable[[list[dict[str, Any]]], bool]] = []
    killed: list[int] = []
    lock = threading.Lock()

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> Any:
        answer = real(self, transact_items)
        with lock:
            fire = bool(armed) and armed[0](transact_items)
            if fire:
                armed.clear()
        if fire:
            killed.append(rehearsal.lambdas.kill_running(rehearsal.function_name(ENGINE)))
        return answer

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", transact_write_items)

    def arm(which: Callable[[list[dict[str, Any]]], bool]) -> list[int]:
        armed.append(which)
        return killed

    try:
        yield arm
    finally:
        armed.clear()
        rehearsal.moto.jobs.decide = None


def _puts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i["Put"]["Item"] for i in items if "Put" in i]


def test_an_engine_killed_between_the_chunks_of_a_wide_decision_finishes_once(
    rehearsal: Rehearsal, kill_engine_after: Any
) -> None:
    """95 steps become ready at once: more than one transaction holds, so the decision is cut.
    The engine dies right after the first cut is written; the queue redelivers A's report and
    the next engine process launches the rest, each step once."""
    width = 95
    name = create(
        rehearsal, pipeline(processing("A"), *(processing(f"W{i}", DependsOn=["A"]) for i in range(width)))
    )
    killed = kill_engine_after(lambda items: len(_puts(items)) >= 60)
    deaths = engine_deaths(rehearsal)
    arn = start(rehearsal, name)
    described = rehearsal.wait_execution(arn, timeout=240)

    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    assert killed and killed[0] >= 1 and engine_deaths(rehearsal) > deaths
    assert len(started_once(rehearsal, arn)) == width + 1


def test_a_start_whose_engine_died_after_writing_is_finished_by_the_clients_retry(
    rehearsal: Rehearsal, kill_engine_after: Any
) -> None:
    """StartPipelineExecution's engine invocation dies once the execution's records are written
    (before any StepRunner starts): the API answers InternalFailure with HTTP 500, a server
    fault, so boto3 retries on its own with the same ClientRequestToken, and the replayed start
    returns that execution and launches what the first one owed: one call, one execution."""
    name = create(rehearsal, pipeline(processing("A"), processing("B", DependsOn=["A"])))
    killed = kill_engine_after(
        lambda items: any(
            p["pk"]["S"].startswith("EXECUTION#") and p["sk"]["S"] == "#META" for p in _puts(items)
        )
    )
    api = rehearsal.sagemaker()
    attempts: list[tuple[int, str]] = []

    def record(response: Any, **_: Any) -> None:
        if response is not None:
            http, parsed = response
            attempts.append((http.status_code, parsed.get("Error", {}).get("Code", "")))

    api.meta.events.register("needs-retry.sagemaker.StartPipelineExecution", record)
    arn = api.start_pipeline_execution(PipelineName=name)["PipelineExecutionArn"]
    described = rehearsal.wait_execution(arn)

    assert killed == [1]
    assert attempts == [(500, "InternalFailure"), (200, "")]
    listed = api.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in listed] == [arn]
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    assert started_once(rehearsal, arn) == Counter({"A": 1, "B": 1})


def test_a_late_report_of_an_earlier_attempt_changes_nothing(rehearsal: Rehearsal) -> None:
    outcomes: list[JobOutcome] = [Failed(CAPACITY), Complete(), Complete()]
    rehearsal.moto.jobs.decide = lambda kind, name, request: outcomes.pop(0)
    policy = {"ExceptionType": ["SageMaker.CAPACITY_ERROR"], "IntervalSeconds": 1, "MaxAttempts": 1}
    try:
        name = create(
            rehearsal,
            pipeline(training("Train", RetryPolicies=[policy]), processing("After", DependsOn=["Train"])),
        )
        arn = start(rehearsal, name)
        assert rehearsal.wait_execution(arn)["PipelineExecutionStatus"] == "Succeeded"
    finally:
        rehearsal.moto.jobs.decide = None
    (source,) = rehearsal.deployment.event_sources
    (first,) = [r for r in source.reports("Train") if r["report"]["attempt"] == 1 and "error" in r["outcome"]]
    before = rehearsal.store().get_execution(execution_id(arn))
    assert before is not None

    rehearsal.aws("sqs").send_message(
        QueueUrl=source.queue_url,
        MessageBody=json.dumps(first),
        MessageGroupId=execution_id(arn),
        MessageDeduplicationId=f"late-{_token()}",
    )
    wait_until(lambda: len([r for r in source.reports("Train") if r["report"]["attempt"] == 1]) == 2)
    wait_until(source.idle)
    after = rehearsal.store().get_execution(execution_id(arn))
    assert after is not None and after.version == before.version
    record = rehearsal.steps(arn)["Train"]
    assert (record.status, record.attempt) == ("Succeeded", 2)
    started_once(rehearsal, arn)


def test_a_step_runner_aborted_by_hand_fails_its_step_and_a_duplicate_event_changes_nothing(
    rehearsal: Rehearsal,
) -> None:
    hold_jobs(rehearsal)
    try:
        name = create(rehearsal, pipeline(training("Train"), processing("After", DependsOn=["Train"])))
        arn = start(rehearsal, name)
        (runner,) = wait_until(lambda: runners(rehearsal, arn), what="the StepRunner")
        wait_until(lambda: bool(rehearsal.moto.jobs.held), what="the job running")
        sfn = rehearsal.aws("stepfunctions")
        sfn.stop_execution(
            executionArn=runner["executionArn"], error="Operator", cause="aborted in the console"
        )
        wait_until(lambda: sfn.describe_execution(executionArn=runner["executionArn"])["status"] == "ABORTED")
        status_change(rehearsal, runner["executionArn"])
        described = rehearsal.wait_execution(arn)
    finally:
        rehearsal.moto.jobs.decide = None

    assert described["PipelineExecutionStatus"] == "Failed"
    record = rehearsal.steps(arn)["Train"]
    assert record.failure_reason is not None
    assert (
        f"The StepRunner execution {runner['name']} ended ABORTED without reporting" in record.failure_reason
    )
    assert "After" not in rehearsal.steps(arn)
    started_once(rehearsal, arn)
    version = rehearsal.store().get_execution(execution_id(arn))
    status_change(rehearsal, runner["executionArn"])  # EventBridge delivers at least once
    (source,) = rehearsal.deployment.event_sources
    wait_until(source.idle)
    assert rehearsal.store().get_execution(execution_id(arn)) == version


def test_a_lost_status_change_event_is_made_up_by_the_sweep(rehearsal: Rehearsal) -> None:
    hold_jobs(rehearsal)
    try:
        name = create(rehearsal, pipeline(training("Train")))
        arn = start(rehearsal, name)
        (runner,) = wait_until(lambda: runners(rehearsal, arn), what="the StepRunner")
        wait_until(lambda: bool(rehearsal.moto.jobs.held), what="the job running")
        sfn = rehearsal.aws("stepfunctions")
        sfn.stop_execution(executionArn=runner["executionArn"])  # and its event never arrives
        wait_until(lambda: sfn.describe_execution(executionArn=runner["executionArn"])["status"] == "ABORTED")
        made_no_progress_for(rehearsal, arn, timedelta(minutes=11))

        assert execution_id(arn) in sweep(rehearsal)["swept"]
        described = rehearsal.wait_execution(arn)
    finally:
        rehearsal.moto.jobs.decide = None

    assert described["PipelineExecutionStatus"] == "Failed"
    assert "ended ABORTED without reporting" in (rehearsal.steps(arn)["Train"].failure_reason or "")
    started_once(rehearsal, arn)


def test_a_pipeline_execution_run_aborted_by_hand_stops_the_execution(rehearsal: Rehearsal) -> None:
    hold_jobs(rehearsal)
    try:
        name = create(rehearsal, pipeline(training("Train")))
        arn = start(rehearsal, name)
        wait_until(lambda: bool(rehearsal.moto.jobs.held), what="the job running")
        sfn = rehearsal.aws("stepfunctions")
        sfn.stop_execution(executionArn=run_of(rehearsal, arn))
        wait_until(lambda: sfn.describe_execution(executionArn=run_of(rehearsal, arn))["status"] == "ABORTED")
        status_change(rehearsal, run_of(rehearsal, arn))
        described = rehearsal.wait_execution(arn)
    finally:
        rehearsal.moto.jobs.decide = None

    assert described["PipelineExecutionStatus"] == "Stopped"
    assert rehearsal.steps(arn)["Train"].status == "Stopped"
    started_once(rehearsal, arn)


def test_a_pipeline_execution_run_that_fails_ends_the_execution_failed(rehearsal: Rehearsal) -> None:
    """The run cannot keep its task token (an error its Retry does not cover), so it ends
    FAILED while the execution runs: the execution's job is stopped and it ends Failed, with a
    reason naming the run."""

    def table_refuses(_request: dict[str, Any]) -> Any:
        raise RuntimeError("AccessDeniedException: not authorized to perform dynamodb:UpdateItem")

    hold_jobs(rehearsal)
    rehearsal.moto.fakes[("dynamodb", "updateItem")] = table_refuses
    try:
        name = create(rehearsal, pipeline(training("Train")))
        arn = start(rehearsal, name)
        sfn = rehearsal.aws("stepfunctions")
        wait_until(lambda: sfn.describe_execution(executionArn=run_of(rehearsal, arn))["status"] == "FAILED")
        del rehearsal.moto.fakes[("dynamodb", "updateItem")]
        wait_until(lambda: bool(rehearsal.moto.jobs.held), what="the job running")
        status_change(rehearsal, run_of(rehearsal, arn))
        described = rehearsal.wait_execution(arn)
    finally:
        rehearsal.moto.fakes.pop(("dynamodb", "updateItem"), None)
        rehearsal.moto.jobs.decide = None

    assert described["PipelineExecutionStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith(f"The PipelineExecution run {execution_id(arn)} ended FAILED (")
    assert reason.endswith("; the pipeline execution cannot finish without it.")
    assert rehearsal.steps(arn)["Train"].status == "Stopped"
    started_once(rehearsal, arn)
