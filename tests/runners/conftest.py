"""Fixtures for runner tests: a config rooted in tmp_path and a way to build step requests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext, StepRequest
from pydantic import TypeAdapter

EXECUTION_ARN = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/abcdef123456"

_STEP = TypeAdapter(Step)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        state_dir=tmp_path / "state",
        object_root=tmp_path / "objects",
        base_dir=tmp_path,
    )


@pytest.fixture
def ctx(config: Config) -> RunContext:
    return RunContext(config=config, objects=LocalObjectStore(config.object_root))


MakeRequest = Callable[..., StepRequest]


@pytest.fixture
def make_request() -> MakeRequest:
    def build(
        step: dict[str, Any],
        *,
        arguments: Any = None,
        job_name: str = "pipelines-abcdef123456-step-AbCdEf12-0",
        attempt: int = 1,
        step_fields: dict[str, Any] | None = None,
        **extra: Any,
    ) -> StepRequest:
        parsed = _STEP.validate_python(step)
        return StepRequest(
            pipeline_name="p",
            pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/p",
            execution_id="abcdef123456",
            execution_arn=EXECUTION_ARN,
            step=parsed,
            arguments=step.get("Arguments") if arguments is None else arguments,
            job_name=job_name,
            attempt=attempt,
            step_fields=step_fields or {},
            **extra,
        )

    return build
