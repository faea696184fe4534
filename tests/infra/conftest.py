"""One session-scoped synth for every infra test: jsii start-up costs seconds per process."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402


def _synth(context: dict[str, object]) -> tuple[list[cdk.Stack], object, list[object]]:
    from aws_cdk.assertions import Template

    from app import build_app

    app = cdk.App(context={"aws:cdk:bundling-stacks": [], **context})
    build_app(app)
    stacks = [c for c in app.node.children if isinstance(c, cdk.Stack)]
    assembly = app.synth()
    return stacks, assembly, [Template.from_stack(s) for s in stacks]


@pytest.fixture(scope="session")
def synthesized() -> tuple[list[object], object, list[object]]:
    return _synth({"sharingAccounts": "111122223333"})


@pytest.fixture(scope="session")
def template(synthesized):  # type: ignore[no-untyped-def]
    return synthesized[2][0]
