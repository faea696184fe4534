"""Fixtures for the run-side CLI: a private copy of an example (its state lands in tmp_path)
and a small Lambda-only project built in tmp_path."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .helpers import REPO, Invoke


@pytest.fixture
def approval(tmp_path: Path) -> Path:
    """A copy of examples/approval; its pipelines.toml keeps state inside the copy."""
    target = tmp_path / "approval"
    shutil.copytree(REPO / "examples" / "approval", target, ignore=shutil.ignore_patterns(".pipelines"))
    return target


@pytest.fixture
def invoke(approval: Path) -> Invoke:
    return Invoke(approval / "pipelines.toml")


@pytest.fixture
def lambda_project(tmp_path: Path) -> Callable[..., Path]:
    """A pipeline of Lambda steps A -> B in tmp_path: each handler appends its name to calls.log;
    B fails unless the file ``fixed`` exists; A sleeps ``A_SECONDS`` if that file exists."""

    def build(steps: list[dict[str, Any]] | None = None) -> Path:
        root = tmp_path / "lambdas"
        (root / "functions").mkdir(parents=True)
        (root / "functions" / "step.py").write_text(
            textwrap.dedent(
                """
                import time
                from pathlib import Path

                ROOT = Path(__file__).resolve().parent.parent

                def handler(event, context):
                    with open(ROOT / "calls.log", "a") as fh:
                        fh.write(event["name"] + "\\n")
                    if event["name"] == "A" and (ROOT / "A_SECONDS").exists():
                        time.sleep(float((ROOT / "A_SECONDS").read_text()))
                    if event["name"] == "B" and not (ROOT / "fixed").exists():
                        raise RuntimeError("B is broken until fixed")
                    return {"value": event["name"].lower()}
                """
            )
        )
        (root / "pipelines.toml").write_text(
            'state_dir = ".pipelines"\n[functions]\n"arn:aws:lambda:*:*:function:step" = "functions/step.py:handler"\n'
        )
        arn = "arn:aws:lambda:us-east-1:000000000000:function:step"
        definition = {
            "Version": "2020-12-01",
            "Parameters": [],
            "Steps": steps
            or [
                {
                    "Name": "A",
                    "Type": "Lambda",
                    "FunctionArn": arn,
                    "Arguments": {"name": "A"},
                    "OutputParameters": [{"OutputName": "value", "OutputType": "String"}],
                },
                {
                    "Name": "B",
                    "Type": "Lambda",
                    "FunctionArn": arn,
                    "Arguments": {"name": "B", "upstream": {"Get": "Steps.A.OutputParameters['value']"}},
                    "OutputParameters": [{"OutputName": "value", "OutputType": "String"}],
                },
            ],
        }
        (root / "chain.json").write_text(json.dumps(definition))
        return root

    return build
