"""Helpers for the run-side CLI tests: an in-process invoker, a separate ``pipelines run``
process, bounded waiting on another process, and readers of the JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.cli import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
PIPELINES = Path(sys.executable).parent / "pipelines"


def pipelines(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pipelines <args> --config pipelines.toml`` as a separate process in the project ``cwd``."""
    return subprocess.run(
        [str(PIPELINES), *args, "--config", "pipelines.toml"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Invoke:
    """``pipelines ARGS`` in this process, with the example's config unless told otherwise."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.runner = CliRunner()

    def __call__(self, *args: str, config: bool = True) -> Any:
        argv = [*args, "--config", str(self.config)] if config else list(args)
        result = self.runner.invoke(app, argv, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)


class BackgroundRun:
    """``pipelines run DEFINITION --json`` as its own process (what another terminal would run),
    killed on leaving the ``with`` block whatever happened in it."""

    def __init__(self, definition: str, *, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [str(PIPELINES), "run", definition, "--config", "pipelines.toml", "--json"],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> BackgroundRun:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.kill()

    def document(self, *, exit_code: int) -> dict[str, Any]:
        """Wait for the run to end; check its exit code and return its JSON document."""
        stdout, stderr = self.process.communicate(timeout=60)
        assert self.process.returncode == exit_code, stderr
        return json.loads(stdout)


def wait_for(condition: Callable[[], Any], *, timeout: float = 60.0, what: str) -> Any:
    """Poll until ``condition()`` is truthy: waiting on another process, bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def calls(root: Path) -> list[str]:
    log = root / "calls.log"
    return log.read_text().split() if log.exists() else []


def steps_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["StepName"]: step for step in document["Steps"]}
