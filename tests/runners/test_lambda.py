"""The Lambda runner: a mapped local handler runs in a child process with timeout and isolation."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.runners.base import RunContext, StepFailed
from pipelines.runners.lambda_ import LambdaRunner
from pydantic import TypeAdapter

ARN = "arn:aws:lambda:us-east-1:000000000000:function:metric"


def lambda_step(outputs: list[tuple[str, str]] | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "Name": "Metric",
        "Type": "Lambda",
        "FunctionArn": ARN,
        "Arguments": {"threshold": 0.5},
        "OutputParameters": [{"OutputName": n, "OutputType": t} for n, t in (outputs or [])],
        **fields,
    }


@pytest.fixture
def handler(tmp_path: Path, config: Config, ctx: RunContext) -> Any:
    """Write ``fn/metric.py`` with the given body and map ARN to it."""

    def write(body: str) -> None:
        folder = tmp_path / "fn"
        folder.mkdir(exist_ok=True)
        (folder / "metric.py").write_text(textwrap.dedent(body))
        ctx.config.functions[ARN] = "fn/metric.py:handler"

    return write


def run(make_request: Any, ctx: RunContext, step: dict[str, Any]) -> Any:
    return LambdaRunner().run(make_request(step), ctx)


def test_outputs_are_typed_and_nested_values_become_json(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            return {"accuracy": event["threshold"] + 0.4, "count": "3", "ok": "true",
                    "meta": {"a": [1, 2]}, "undeclared": 1}
        """
    )
    step = lambda_step([("accuracy", "Float"), ("count", "Integer"), ("ok", "Boolean"), ("meta", "String")])
    result = run(make_request, ctx, step)
    assert result.properties == {
        "OutputParameters": [
            {"Name": "accuracy", "Value": 0.9},
            {"Name": "count", "Value": 3},
            {"Name": "ok", "Value": True},
            {"Name": "meta", "Value": '{"a":[1,2]}'},
        ]
    }
    assert result.metadata == {
        "Lambda": {
            "Arn": ARN,
            "OutputParameters": [
                {"Name": "accuracy", "Value": "0.9"},
                {"Name": "count", "Value": "3"},
                {"Name": "ok", "Value": "true"},
                {"Name": "meta", "Value": '{"a":[1,2]}'},
            ],
        }
    }


def test_handler_gets_event_context_and_its_folder(handler, make_request, ctx, tmp_path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "helper.py").write_text("VALUE = 'from-sibling'\n")
    handler(
        """
        import os
        import helper

        def handler(event, context):
            return {
                "event": event,
                "name": context.function_name,
                "arn": context.invoked_function_arn,
                "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 120_000,
                "cwd": os.getcwd(),
                "sibling": helper.VALUE,
                "region": os.environ["AWS_REGION"],
            }
        """
    )
    outputs = ["event", "name", "arn", "remaining_ok", "cwd", "sibling", "region"]
    step = lambda_step([(n, "String") for n in outputs])
    result = run(make_request, ctx, step)
    values = {p["Name"]: p["Value"] for p in result.properties["OutputParameters"]}
    assert values == {
        "event": '{"threshold":0.5}',
        "name": "metric",
        "arn": ARN,
        "remaining_ok": "true",
        "cwd": str((tmp_path / "fn").resolve()),
        "sibling": "from-sibling",
        "region": "us-east-1",
    }


def test_handler_logs_reach_the_context_log(handler, make_request, ctx) -> None:
    lines: list[str] = []
    ctx.log = lines.append
    handler(
        """
        import sys
        def handler(event, context):
            print("computing")
            print("warning", file=sys.stderr)
            return None
        """
    )
    assert run(make_request, ctx, lambda_step()).properties == {"OutputParameters": []}
    assert "computing" in lines and "warning" in lines


def _alive(pid: int) -> bool:
    """Running or sleeping; a killed, not yet reaped process shows as a zombie ("Z")."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_timeout_kills_the_handler_and_its_children(handler, make_request, ctx, tmp_path) -> None:
    pids = tmp_path / "pids"
    handler(
        f"""
        import os, subprocess, time
        def handler(event, context):
            child = subprocess.Popen(["sleep", "30"])
            with open({str(pids)!r}, "w") as fh:
                fh.write(f"{{os.getpid()}} {{child.pid}}")
            time.sleep(30)
        """
    )
    started = time.monotonic()
    with pytest.raises(StepFailed) as failure:
        run(make_request, ctx, lambda_step(TimeoutSeconds=1))
    assert time.monotonic() - started < 10
    assert "timed out after 1 seconds" in failure.value.message
    assert "killed" in failure.value.message
    handler_pid, child_pid = map(int, pids.read_text().split())
    assert not _alive(handler_pid)
    assert not _alive(child_pid)


def test_crash_is_a_failure_with_the_stderr_tail(handler, make_request, ctx) -> None:
    handler(
        """
        import os, sys
        def handler(event, context):
            print("about to die: disk on fire", file=sys.stderr, flush=True)
            os._exit(3)
        """
    )
    with pytest.raises(StepFailed) as failure:
        run(make_request, ctx, lambda_step([("x", "String")]))
    assert "exited with code 3" in failure.value.message
    assert "disk on fire" in failure.value.message


def test_killed_by_signal_is_reported(handler, make_request, ctx) -> None:
    handler(
        """
        import os, signal
        def handler(event, context):
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    with pytest.raises(StepFailed, match="killed by signal SIGKILL"):
        run(make_request, ctx, lambda_step())


def test_exception_in_handler_fails_with_its_type_and_message(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            raise ValueError("threshold out of range")
        """
    )
    with pytest.raises(StepFailed, match="ValueError: threshold out of range"):
        run(make_request, ctx, lambda_step())


def test_unserialisable_result_fails(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            return {"x": object()}
        """
    )
    with pytest.raises(StepFailed, match="Runtime.MarshalError"):
        run(make_request, ctx, lambda_step([("x", "String")]))


def test_missing_declared_output_is_named(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            return {"other": 1}
        """
    )
    with pytest.raises(StepFailed) as failure:
        run(make_request, ctx, lambda_step([("accuracy", "Float")]))
    assert "output parameter 'accuracy' is declared" in failure.value.message
    assert "(it has: other)" in failure.value.message


def test_value_that_cannot_take_the_declared_type_fails(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            return {"count": "many"}
        """
    )
    with pytest.raises(StepFailed, match="declared as Integer"):
        run(make_request, ctx, lambda_step([("count", "Integer")]))


def test_non_object_result_with_declared_outputs_fails(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            return [1, 2]
        """
    )
    with pytest.raises(StepFailed, match="must return an object"):
        run(make_request, ctx, lambda_step([("x", "String")]))


def test_unmapped_function_is_refused_before_start(make_request, config: Config, ctx) -> None:
    step = TypeAdapter(Step).validate_python(lambda_step())
    expected = (
        f"Lambda function {ARN} is not mapped to a local handler; add it to [functions] in pipelines.toml"
    )
    assert LambdaRunner().check(step, config) == expected
    with pytest.raises(StepFailed) as failure:
        run(make_request, ctx, lambda_step())
    assert failure.value.message == expected


def test_mapped_file_must_exist(make_request, config: Config) -> None:
    config.functions["arn:aws:lambda:*:*:function:*"] = "missing.py:handler"
    step = TypeAdapter(Step).validate_python(lambda_step())
    reason = LambdaRunner().check(step, config)
    assert reason is not None and "missing.py, which does not exist" in reason


def test_timeout_over_the_maximum_is_refused(config: Config) -> None:
    step = TypeAdapter(Step).validate_python(lambda_step(TimeoutSeconds=601))
    reason = LambdaRunner().check(step, config)
    assert reason is not None and "TimeoutSeconds 601" in reason


def test_function_arn_from_an_expression_is_resolved_at_run_time(handler, make_request, ctx) -> None:
    handler(
        """
        def handler(event, context):
            return {"name": context.function_name}
        """
    )
    step = lambda_step([("name", "String")], FunctionArn={"Get": "Parameters.Fn"})
    request = make_request(step, step_fields={"FunctionArn": ARN})
    result = LambdaRunner().run(request, ctx)
    assert result.properties["OutputParameters"] == [{"Name": "name", "Value": "metric"}]
