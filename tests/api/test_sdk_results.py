"""What a data scientist reads after a run, with the real SageMaker SDK v2 against ``pipelines
serve``: ``execution.result()`` of a ``@step`` function, a processing job's logs through
``wait(logs=True)``, and its description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sagemaker.processing import ProcessingJob
from sagemaker.workflow.function_step import step
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession

from tests.api.conftest import ROLE
from tests.api.test_sdk_jobs import BUCKET, SentRequests, sent, session, summarize_pipeline  # noqa: F401

PYTHON_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/python:3.11"


def test_result_of_a_step_function(session: PipelineSession, tmp_path: Path) -> None:  # noqa: F811
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    settings: dict[str, Any] = {
        "image_uri": PYTHON_IMAGE,
        "instance_type": "ml.m5.large",
        "role": ROLE,
        "dependencies": str(requirements),
    }

    @step(name="Square", **settings)
    def square(value: int) -> dict[str, int]:
        return {"value": value, "square": value * value}

    @step(name="Describe", **settings)
    def describe(squared: dict[str, int]) -> str:
        return f"{squared['value']}^2 = {squared['square']}"

    pipeline = Pipeline(name="sdk-results", steps=[describe(square(7))], sagemaker_session=session)
    pipeline.upsert(role_arn=ROLE)
    execution = pipeline.start()
    execution.wait(delay=1, max_attempts=120)
    assert execution.result(step_name="Square") == {"value": 7, "square": 49}
    assert execution.result(step_name="Describe") == "7^2 = 49"


def test_wait_with_logs_prints_the_processing_script_lines(
    session: PipelineSession,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    pipeline = summarize_pipeline(session, code_dir)
    pipeline.upsert(role_arn=ROLE)
    execution = pipeline.start(parameters={"Scale": 2})
    execution.wait(delay=1, max_attempts=60)
    (summarize,) = [s for s in execution.list_steps() if "ProcessingJob" in s.get("Metadata", {})]
    job_name = summarize["Metadata"]["ProcessingJob"]["Arn"].rpartition("/")[2]
    capsys.readouterr()

    job = ProcessingJob.from_processing_name(session, job_name)
    job.wait(logs=True)
    printed = capsys.readouterr().out
    assert "summarized {'summary': {'total': 24, 'count': 3}}" in printed
    assert job.describe()["ProcessingJobStatus"] == "Completed"
