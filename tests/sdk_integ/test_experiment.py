"""Equivalents of sagemaker-python-sdk ``tests/integ/sagemaker/workflow/test_experiment.py``,
without the Athena dataset input (it needs a real Athena workgroup; the facts pinned here do
not depend on it).

Facts: by default an execution's jobs are recorded under the experiment named after the
pipeline and the trial named after the execution id; a custom PipelineExperimentConfig names
both (``Join(["my-trial", ExecutionVariables.PIPELINE_EXECUTION_ID])``); the trial lists the one
job of the one processing step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sagemaker.processing import ProcessingInput
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join
from sagemaker.workflow.parameters import ParameterInteger
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_experiment_config import PipelineExperimentConfig
from sagemaker.workflow.steps import ProcessingStep

from tests.sdk_integ.helpers import delete_quietly, wait_pipeline_execution


@pytest.fixture
def pipeline_name() -> str:
    return f"my-pipeline-{int(time.time() * 10**7)}"


def _processing_step(session: Any, role: str, version: str, instance_type: str, data: Path) -> ProcessingStep:
    processor = SKLearnProcessor(
        framework_version=version,
        role=role,
        instance_type=instance_type,
        instance_count=ParameterInteger(name="InstanceCount", default_value=2),
        command=["python3"],
        sagemaker_session=session,
        base_job_name="test-sklearn",
    )
    return ProcessingStep(
        name="sklearn-process",
        processor=processor,
        inputs=[
            ProcessingInput(source=str(data / "dummy_input.txt"), destination="/opt/ml/processing/inputs/")
        ],
        code=str(data / "dummy_script.py"),
    )


def _run(pipeline: Pipeline, role: str) -> str:
    pipeline.create(role)
    execution = pipeline.start(parameters={})
    wait_pipeline_execution(execution)
    execution_steps = execution.list_steps()
    assert len(execution_steps) == 1
    assert execution_steps[0]["StepName"] == "sklearn-process"
    return execution.arn.split("/")[-1]


def test_pipeline_execution_with_default_experiment_config(
    sagemaker_session_for_pipeline: Any,
    smclient: Any,
    role: str,
    sklearn_latest_version: str,
    cpu_instance_type: str,
    pipeline_name: str,
    data_dir: Path,
) -> None:
    """SDK: test_experiment.py::test_pipeline_execution_with_default_experiment_config"""
    step = _processing_step(
        sagemaker_session_for_pipeline, role, sklearn_latest_version, cpu_instance_type, data_dir
    )
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[ParameterInteger(name="InstanceCount", default_value=2)],
        steps=[step],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    try:
        execution_id = _run(pipeline, role)
        trial_components = smclient.list_trial_components(TrialName=execution_id)
        assert len(trial_components["TrialComponentSummaries"]) == 1
        trial = smclient.describe_trial(TrialName=execution_id)
        assert pipeline_name == trial["ExperimentName"]
    finally:
        delete_quietly(pipeline)


def test_pipeline_execution_with_custom_experiment_config(
    sagemaker_session_for_pipeline: Any,
    smclient: Any,
    role: str,
    sklearn_latest_version: str,
    cpu_instance_type: str,
    pipeline_name: str,
    data_dir: Path,
) -> None:
    """SDK: test_experiment.py::test_pipeline_execution_with_custom_experiment_config"""
    step = _processing_step(
        sagemaker_session_for_pipeline, role, sklearn_latest_version, cpu_instance_type, data_dir
    )
    experiment_name = f"my-experiment-{int(time.time() * 10**7)}"
    pipeline = Pipeline(
        name=pipeline_name,
        parameters=[ParameterInteger(name="InstanceCount", default_value=2)],
        pipeline_experiment_config=PipelineExperimentConfig(
            experiment_name=experiment_name,
            trial_name=Join(on="-", values=["my-trial", ExecutionVariables.PIPELINE_EXECUTION_ID]),
        ),
        steps=[step],
        sagemaker_session=sagemaker_session_for_pipeline,
    )
    try:
        execution_id = _run(pipeline, role)
        trial_components = smclient.list_trial_components(TrialName=f"my-trial-{execution_id}")
        (component,) = trial_components["TrialComponentSummaries"]
        assert component["TrialComponentSource"]["SourceType"] == "SageMakerProcessingJob"
        trial = smclient.describe_trial(TrialName=f"my-trial-{execution_id}")
        assert experiment_name == trial["ExperimentName"]
        assert (
            smclient.describe_experiment(ExperimentName=experiment_name)["ExperimentName"] == experiment_name
        )
        with pytest.raises(smclient.exceptions.ResourceNotFound):
            smclient.describe_trial(TrialName=execution_id)  # the default trial name is not used
    finally:
        delete_quietly(pipeline)
