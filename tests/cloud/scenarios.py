"""One scenario table, two runtimes: the same definitions, job outcomes, functions and
interactions run in the cloud runtime (moto) and in the embedded runtime (local test runners),
and must end with the same statuses, attempts and failure reasons.

A scenario drives its execution(s) through :class:`Driver`, which each runtime implements:
the cloud driver goes through the engine Lambda (``EngineClient``) and moto's SageMaker, SQS
and Step Functions; the embedded driver through ``EmbeddedRuntime`` with scripted job runners,
the real LambdaRunner (the same function source, in a child process) and the real
CallbackRunner (local queue).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipelines.store.base import StepRecord

from tests.cloud.moto_patches import Complete, Failed, Hold, JobOutcome, Reject

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/pipelines/job"
DATA = "s3://pipelines-data"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


# -- definition builders ---------------------------------------------------------------------------


def processing(name: str, **envelope: Any) -> dict[str, Any]:
    arguments = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/prep:1"},
        "RoleArn": ROLE,
        **envelope.pop("arguments", {}),
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **envelope}


def training(name: str, **envelope: Any) -> dict[str, Any]:
    arguments = {
        "AlgorithmSpecification": {
            "TrainingImage": f"683313688378.dkr.ecr.{REGION}.amazonaws.com/sagemaker-xgboost:1.7-1",
            "TrainingInputMode": "File",
        },
        "OutputDataConfig": {"S3OutputPath": f"{DATA}/models"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "RoleArn": ROLE,
        "HyperParameters": {"max_depth": "5"},
        **envelope.pop("arguments", {}),
    }
    return {"Name": name, "Type": "Training", "Arguments": arguments, **envelope}


def lambda_step(name: str, function: str, arguments: Any, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Lambda",
        "FunctionArn": function_arn(function),
        "Arguments": arguments,
        "OutputParameters": [{"OutputName": k, "OutputType": v} for k, v in outputs.items()],
    }


def callback_step(
    name: str, queue: str, arguments: Any, outputs: dict[str, str], **envelope: Any
) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Callback",
        "SqsQueueUrl": queue_url(queue),
        "Arguments": arguments,
        "OutputParameters": [{"OutputName": k, "OutputType": v} for k, v in outputs.items()],
        **envelope,
    }


def condition(
    name: str, conditions: list[dict[str, Any]], if_steps: list[Any], else_steps: list[Any]
) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Condition",
        "Arguments": {"Conditions": conditions, "IfSteps": if_steps, "ElseSteps": else_steps},
    }


def fail(name: str, message: Any) -> dict[str, Any]:
    return {"Name": name, "Type": "Fail", "Arguments": {"ErrorMessage": message}}


def pipeline(
    *steps: dict[str, Any], parameters: list[dict[str, Any]] | None = None, **top: Any
) -> dict[str, Any]:
    return {"Version": "2020-12-01", "Parameters": parameters or [], "Steps": list(steps), **top}


def get(path: str) -> dict[str, str]:
    return {"Get": path}


# -- what differs between runtimes ----------------------------------------------------------------


@dataclass(frozen=True)
class Slow:
    """The job runs for ``seconds`` of real time, then completes."""

    seconds: float


Outcome = JobOutcome | Slow


class Driver(Protocol):
    """What a scenario may do with a runtime."""

    def start(self, **kwargs: Any) -> str: ...

    def wait(self, execution_arn: str) -> None: ...

    def wait_step(self, execution_arn: str, step: str, ready: Callable[[StepRecord], bool]) -> StepRecord: ...

    def wait_job_running(self, execution_arn: str, step: str) -> None: ...

    def callback_success(self, execution_arn: str, step: str, outputs: dict[str, Any]) -> None: ...

    def callback_failure(self, execution_arn: str, step: str, reason: str) -> None: ...

    def stop(self, execution_arn: str) -> None: ...

    def retry(self, execution_arn: str) -> None: ...

    def messages(self, queue: str) -> list[dict[str, Any]]:
        """The bodies sent to ``queue`` so far, oldest first."""
        ...

    def steps(self, execution_arn: str) -> dict[str, StepRecord]: ...


@dataclass(frozen=True)
class StepOutcome:
    status: str
    attempt: int
    failure_reason: str | None = None
    reused: bool = False  # a cache hit or a selective-execution reference


@dataclass(frozen=True)
class RunOutcome:
    status: str
    failure_reason: str | None
    steps: dict[str, StepOutcome]


@dataclass(frozen=True)
class Scenario:
    name: str
    definition: dict[str, Any]
    drive: Callable[[Driver], list[str]]  # returns the execution ARNs it started, in order
    expected: list[RunOutcome]
    jobs: dict[str, list[Outcome]] = field(default_factory=dict)  # step -> outcome per attempt
    functions: dict[str, str] = field(default_factory=dict)  # function name -> Python source
    queues: tuple[str, ...] = ()
    parallelism: int | None = None
    long_backoff: bool = False  # retry backoffs really wait (so a stop can catch one)
    real_clock: bool = False  # the embedded engine keeps real time (timings are asserted)
    check: Callable[[Driver, list[str]], None] | None = None  # extra assertions on either runtime

    def job_outcome(self, step: str, attempt_index: int) -> Outcome:
        script = self.jobs.get(step, [])
        return script[attempt_index] if attempt_index < len(script) else Complete()


def outcome_of(driver: Driver, execution_arn: str, final: Any) -> RunOutcome:
    return RunOutcome(
        final.status,
        final.failure_reason,
        {
            name: StepOutcome(
                r.status,
                r.attempt,
                r.failure_reason,
                bool(r.cache_hit_source_arn or r.selective_source_arn),
            )
            for name, r in driver.steps(execution_arn).items()
        },
    )


def ok(attempt: int = 1) -> StepOutcome:
    return StepOutcome("Succeeded", attempt)


GENERIC = "Step failure: One or multiple steps failed. Failed steps: {}."
CAPACITY = "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML instance type."


# -- drives ------------------------------------------------------------------------------------------


def run_once(**kwargs: Any) -> Callable[[Driver], list[str]]:
    def drive(driver: Driver) -> list[str]:
        arn = driver.start(**kwargs)
        driver.wait(arn)
        return [arn]

    return drive


def callback_body(record: StepRecord, execution_arn: str) -> dict[str, Any]:
    """The documented first message of a Callback step: no ``status`` (only the second message,
    sent on a stop, carries ``"status": "Stopping"``)."""
    return {
        "token": record.callback_token,
        "pipelineExecutionArn": execution_arn,
        "arguments": record.arguments,
    }


def answer_callback(
    step: str, *, queue: str = "approvals", outputs: dict[str, Any] | None = None, reason: str | None = None
) -> Callable[[Driver], list[str]]:
    def drive(driver: Driver) -> list[str]:
        arn = driver.start()
        waiting = driver.wait_step(arn, step, lambda r: r.waiting_for_callback)
        assert driver.messages(queue) == [callback_body(waiting, arn)]
        if reason is None:
            driver.callback_success(arn, step, outputs or {})
        else:
            driver.callback_failure(arn, step, reason)
        driver.wait(arn)
        return [arn]

    return drive


def stop_waiting_callback(driver: Driver) -> list[str]:
    arn = driver.start()
    waiting = driver.wait_step(arn, "Approve", lambda r: r.waiting_for_callback)
    driver.stop(arn)
    driver.wait_step(arn, "Approve", lambda r: r.status == "Stopping" and not r.stop_notice_pending)
    first = callback_body(waiting, arn)
    assert driver.messages("approvals") == [first, {**first, "status": "Stopping"}]
    driver.callback_failure(arn, "Approve", "the reviewer withdrew")
    driver.wait(arn)
    return [arn]


def stop_running_job(driver: Driver) -> list[str]:
    arn = driver.start()
    driver.wait_job_running(arn, "Train")
    driver.stop(arn)
    driver.wait(arn)
    return [arn]


def stop_during_backoff(driver: Driver) -> list[str]:
    arn = driver.start()
    driver.wait_step(arn, "Prep", lambda r: r.attempt == 2)
    driver.stop(arn)
    driver.wait(arn)
    return [arn]


def fail_then_retry(driver: Driver) -> list[str]:
    arn = driver.start()
    driver.wait(arn)
    driver.retry(arn)
    driver.wait(arn)
    return [arn]


def twice(driver: Driver) -> list[str]:
    first = driver.start()
    driver.wait(first)
    second = driver.start()
    driver.wait(second)
    return [first, second]


def then_select(steps: list[str]) -> Callable[[Driver], list[str]]:
    def drive(driver: Driver) -> list[str]:
        first = driver.start()
        driver.wait(first)
        second = driver.start(selective={"source": first, "steps": steps})
        driver.wait(second)
        return [first, second]

    return drive


def max_concurrency(records: list[StepRecord]) -> int:
    """Most steps holding a slot at once, from the engine's own grant (launch) and finish times."""
    edges = []
    for record in records:
        if record.first_started_at is not None and record.ended_at is not None:
            edges += [(record.first_started_at, 1), (record.ended_at, -1)]
    running = peak = 0
    for _, delta in sorted(edges, key=lambda e: (e[0], e[1])):  # a finish frees its slot first
        running += delta
        peak = max(peak, running)
    return peak


def check_parallelism(driver: Driver, arns: list[str]) -> None:
    assert max_concurrency(list(driver.steps(arns[0]).values())) == 2


def check_capacity_job_names(driver: Driver, arns: list[str]) -> None:
    record = driver.steps(arns[0])["Train"]
    assert record.job_name is not None and record.job_name.endswith("-2")  # two failures before it


EVALUATE = """
def handler(event, context):
    return {"accuracy": event["accuracy"], "rows": 120}
"""
BROKEN = """
def handler(event, context):
    raise ValueError("the validation set is empty")
"""

SCENARIOS: list[Scenario] = [
    Scenario(
        "fan_out_fan_in",
        pipeline(
            processing("Prep"),
            *(processing(n, DependsOn=["Prep"]) for n in ("FeatA", "FeatB", "FeatC")),
            training("Train", DependsOn=["FeatA", "FeatB", "FeatC"]),
        ),
        run_once(),
        [RunOutcome("Succeeded", None, {n: ok() for n in ("Prep", "FeatA", "FeatB", "FeatC", "Train")})],
    ),
    *(
        Scenario(
            f"condition_{branch}",
            pipeline(
                processing("Prep"),
                condition(
                    "Check",
                    [{"Type": "GreaterThanOrEqualTo", "LeftValue": get("Parameters.Score"), "RightValue": 5}],
                    [processing("IfJob")],
                    [processing("ElseJob")],
                ),
                processing("AfterIf", DependsOn=["IfJob"]),
                parameters=[{"Name": "Score", "Type": "Integer", "DefaultValue": 1}],
            ),
            run_once(parameters={"Score": score}),
            [RunOutcome("Succeeded", None, {n: ok() for n in ("Prep", "Check", *taken)})],
        )
        for branch, score, taken in (("true", "7", ("IfJob", "AfterIf")), ("false", "3", ("ElseJob",)))
    ),
    Scenario(
        "fail_step_while_a_job_runs",
        pipeline(
            processing("Slow"),
            processing("AfterSlow", DependsOn=["Slow"]),
            fail("Stop", {"Std:Join": {"On": " ", "Values": ["threshold", get("Parameters.T"), "not met"]}}),
            parameters=[{"Name": "T", "Type": "Float", "DefaultValue": 0.5}],
        ),
        run_once(),
        [
            RunOutcome(
                "Failed",
                GENERIC.format("Stop"),  # the Fail step's message is the step's reason
                {"Slow": ok(), "Stop": StepOutcome("Failed", 1, "threshold 0.5 not met")},
            )
        ],
        jobs={"Slow": [Slow(0.3)]},
    ),
    Scenario(
        "capacity_errors_then_success_under_a_retry_policy",
        pipeline(
            training(
                "Train",
                RetryPolicies=[
                    {
                        "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
                        "IntervalSeconds": 1,
                        "BackoffRate": 1.0,
                        "MaxAttempts": 3,
                    }
                ],
            )
        ),
        run_once(),
        [RunOutcome("Succeeded", None, {"Train": ok(3)})],
        jobs={"Train": [Failed(CAPACITY), Failed(CAPACITY), Complete()]},
        check=check_capacity_job_names,
    ),
    Scenario(
        "throttling_is_retried_by_default",
        pipeline(processing("Prep")),
        run_once(),
        [RunOutcome("Succeeded", None, {"Prep": ok(2)})],
        jobs={"Prep": [Reject("ThrottlingException", "Rate exceeded"), Complete()]},
    ),
    Scenario(
        "a_failed_job_fails_the_execution",
        pipeline(processing("Prep"), training("Train", DependsOn=["Prep"])),
        run_once(),
        [
            RunOutcome(
                "Failed",
                GENERIC.format("Prep"),
                {"Prep": StepOutcome("Failed", 1, "AlgorithmError: the script exited with code 1")},
            )
        ],
        jobs={"Prep": [Failed("AlgorithmError: the script exited with code 1")]},
    ),
    Scenario(
        "lambda_outputs_feed_a_condition",
        pipeline(
            lambda_step(
                "Evaluate",
                "evaluate",
                {"accuracy": get("Parameters.Accuracy")},
                {"accuracy": "Float", "rows": "Integer"},
            ),
            condition(
                "Good",
                [
                    {
                        "Type": "GreaterThanOrEqualTo",
                        "LeftValue": get("Steps.Evaluate.OutputParameters['accuracy']"),
                        "RightValue": 0.9,
                    }
                ],
                [
                    processing(
                        "Publish",
                        arguments={
                            "Environment": {
                                "ROWS": {
                                    "Std:Join": {
                                        "On": "",
                                        "Values": [get("Steps.Evaluate.OutputParameters['rows']")],
                                    }
                                }
                            }
                        },
                    )
                ],
                [fail("TooLow", "accuracy below 0.9")],
            ),
            parameters=[{"Name": "Accuracy", "Type": "Float", "DefaultValue": 0.93}],
        ),
        run_once(),
        [RunOutcome("Succeeded", None, {"Evaluate": ok(), "Good": ok(), "Publish": ok()})],
        functions={"evaluate": EVALUATE},
    ),
    Scenario(
        "a_lambda_error_fails_the_step",
        pipeline(lambda_step("Evaluate", "broken", {}, {"accuracy": "Float"})),
        run_once(),
        [
            RunOutcome(
                "Failed",
                GENERIC.format("Evaluate"),
                {
                    "Evaluate": StepOutcome(
                        "Failed",
                        1,
                        f"Lambda function {function_arn('broken')} failed: ValueError: the validation set is empty",
                    )
                },
            )
        ],
        functions={"broken": BROKEN},
    ),
    Scenario(
        "callback_success_feeds_the_next_step",
        pipeline(
            callback_step("Approve", "approvals", {"model": "m-1"}, {"approved": "Boolean"}),
            processing(
                "Deploy",
                arguments={
                    "Environment": {
                        "OK": {
                            "Std:Join": {
                                "On": "",
                                "Values": [get("Steps.Approve.OutputParameters['approved']")],
                            }
                        }
                    }
                },
            ),
        ),
        answer_callback("Approve", outputs={"approved": "true"}),
        [RunOutcome("Succeeded", None, {"Approve": ok(), "Deploy": ok()})],
        queues=("approvals",),
    ),
    Scenario(
        "callback_failure_fails_the_step",
        pipeline(callback_step("Approve", "approvals", {}, {"approved": "Boolean"})),
        answer_callback("Approve", reason="rejected by the reviewer"),
        [
            RunOutcome(
                "Failed",
                GENERIC.format("Approve"),
                {"Approve": StepOutcome("Failed", 1, "rejected by the reviewer")},
            )
        ],
        queues=("approvals",),
    ),
    Scenario(
        "stop_while_a_callback_waits",
        pipeline(callback_step("Approve", "approvals", {}, {"approved": "Boolean"})),
        stop_waiting_callback,
        [RunOutcome("Stopped", None, {"Approve": StepOutcome("Stopped", 1, "the reviewer withdrew")})],
        queues=("approvals",),
    ),
    Scenario(
        "stop_during_a_running_job",
        pipeline(training("Train"), processing("Eval", DependsOn=["Train"])),
        stop_running_job,
        [RunOutcome("Stopped", None, {"Train": StepOutcome("Stopped", 1)})],
        jobs={"Train": [Hold()]},
    ),
    Scenario(
        "stop_during_a_retry_backoff",
        pipeline(
            processing(
                "Prep",
                RetryPolicies=[
                    {
                        "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
                        "IntervalSeconds": 3600,
                        "MaxAttempts": 2,
                    }
                ],
            )
        ),
        stop_during_backoff,
        [RunOutcome("Stopped", None, {"Prep": StepOutcome("Stopped", 2)})],
        jobs={"Prep": [Failed("InternalServerError: An internal error occurred.")]},
        long_backoff=True,
    ),
    Scenario(
        "retry_pipeline_execution_reruns_only_what_failed",
        pipeline(
            processing("Prep"), training("Train", DependsOn=["Prep"]), processing("Eval", DependsOn=["Train"])
        ),
        fail_then_retry,
        [RunOutcome("Succeeded", None, {"Prep": ok(), "Train": ok(2), "Eval": ok()})],
        jobs={"Train": [Failed("AlgorithmError: bad input"), Complete()]},
    ),
    Scenario(
        "a_second_run_hits_the_cache",
        pipeline(
            processing("Prep", CacheConfig={"Enabled": True, "ExpireAfter": "P30D"}),
            processing("Use", DependsOn=["Prep"]),
        ),
        twice,
        [
            RunOutcome("Succeeded", None, {"Prep": ok(), "Use": ok()}),
            RunOutcome("Succeeded", None, {"Prep": StepOutcome("Succeeded", 0, None, True), "Use": ok()}),
        ],
    ),
    Scenario(
        "selective_execution_reuses_the_unselected_upstream",
        pipeline(
            processing("Prep"), training("Train", DependsOn=["Prep"]), processing("Eval", DependsOn=["Train"])
        ),
        then_select(["Eval"]),
        [
            RunOutcome("Succeeded", None, {"Prep": ok(), "Train": ok(), "Eval": ok()}),
            RunOutcome(
                "Succeeded",
                None,
                {
                    "Prep": StepOutcome("Succeeded", 1, None, True),
                    "Train": StepOutcome("Succeeded", 1, None, True),
                    "Eval": ok(),
                },
            ),
        ],
    ),
    Scenario(
        "for_each_retry_reruns_only_the_failed_iteration",
        pipeline(
            {
                "Name": "Each",
                "Type": "ForEach",
                "Arguments": {
                    "IterableItems": ["a", "b", "c"],
                    "MaxConcurrency": 2,
                    "ForEachBody": [
                        processing("Work", arguments={"Environment": {"ITEM": get("ForEach.CurrentItem")}})
                    ],
                },
            },
            processing("After", DependsOn=["Each"]),
        ),
        fail_then_retry,
        [
            RunOutcome(
                "Succeeded",
                None,
                {"Each": ok(2), "Work-0": ok(), "Work-1": ok(2), "Work-2": ok(), "After": ok()},
            )
        ],
        jobs={"Work-1": [Failed("AlgorithmError: bad item")]},
    ),
    Scenario(
        "the_parallelism_limit_holds",
        pipeline(*(processing(f"Job{n}") for n in range(5))),
        run_once(),
        [RunOutcome("Succeeded", None, {f"Job{n}": ok() for n in range(5)})],
        jobs={f"Job{n}": [Slow(0.25)] for n in range(5)},
        parallelism=2,
        real_clock=True,
        check=check_parallelism,
    ),
]
