"""One session-scoped synth for every infra test: each jsii process costs seconds to start."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

SHARING_ACCOUNT = "111122223333"
REPO = Path(__file__).resolve().parents[2]
CDK_JSON_CONTEXT: dict[str, object] = json.loads((REPO / "cdk.json").read_text())["context"]
"""The feature flags and defaults the CLI passes to app.py (e.g. enablePartitionLiterals)."""
DEPLOY_ENV = cdk.Environment(account="111111111111", region="eu-west-1")
"""An account and region, as `cdk deploy` sets them: ARNs resolve to literals."""


CONSOLE_BUILD = Path(tempfile.mkdtemp(prefix="console-build-"))
atexit.register(shutil.rmtree, CONSOLE_BUILD, True)
"""A stand-in for the console's build (the CDK assertions test the infrastructure around it; the
CLI synth in test_cli_synth.py deploys the real build)."""
(CONSOLE_BUILD / "assets").mkdir()
(CONSOLE_BUILD / "index.html").write_text(
    '<!doctype html><script type="module" src="/assets/app.js"></script>'
)
(CONSOLE_BUILD / "assets" / "app.js").write_text("export {};\n")


@dataclass
class Synth:
    app: cdk.App
    stack: cdk.Stack
    template: Template
    template_file: Path
    seconds: float


def synth(context: dict[str, object], env: cdk.Environment | None = None) -> Synth:
    """app.py's stack with cdk.json's context, without bundling; environment-agnostic unless
    ``env`` is given."""
    from app import build_app

    started = time.perf_counter()
    app = cdk.App(
        context={
            **CDK_JSON_CONTEXT,
            "aws:cdk:bundling-stacks": [],
            "consoleAssets": str(CONSOLE_BUILD),
            **context,
        }
    )
    build_app(app, env or cdk.Environment())
    assembly = app.synth()
    stack = next(c for c in app.node.children if isinstance(c, cdk.Stack))
    template = Template.from_stack(stack)
    template_file = Path(assembly.get_stack_by_name(stack.stack_name).template_full_path)
    return Synth(app, stack, template, template_file, time.perf_counter() - started)


@pytest.fixture(scope="session")
def synthesized() -> Synth:
    return synth({"sharingAccounts": SHARING_ACCOUNT})


@pytest.fixture(scope="session")
def template(synthesized: Synth) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def deploy_env_synth() -> Synth:
    """The example stack for an account and region (x86_64): every ARN resolved, as deployed."""
    return synth(
        {"sharingAccounts": SHARING_ACCOUNT, "example": "true", "lambdaArchitecture": "x86_64"}, DEPLOY_ENV
    )


@pytest.fixture(scope="session")
def example_synth() -> Synth:
    """The stack with the example pipeline registered through the Pipeline construct."""
    return synth({"sharingAccounts": SHARING_ACCOUNT, "example": "true"})


@pytest.fixture(scope="session")
def example_template(example_synth: Synth) -> Template:
    return example_synth.template


def cfn_lint_findings(template: Template, folder: Path) -> str:
    """cfn-lint's findings on ``template`` (empty when clean), written to ``folder`` to be read.
    W3005: CDK adds explicit DependsOn beside GetAtt on roles; harmless and not ours to change."""
    path = folder / "template.json"
    path.write_text(json.dumps(template.to_json()))
    cfn_lint = str(Path(sys.executable).parent / "cfn-lint")
    result = subprocess.run(
        [cfn_lint, "--format", "parseable", str(path), "--ignore-checks", "W3005"],
        capture_output=True,
        text=True,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr + f"(exit {result.returncode})"
