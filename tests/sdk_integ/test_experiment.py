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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sagemaker.workflow.execution_variables import ExecutionVariables
from sagemaker.workflow.functions import Join
from sagemaker.workflow.parameters import ParameterInteger
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_experiment_config import PipelineExperimentConfig

from tests.sdk_integ.helpers import (
    DeleteAtTeardown,
    SklearnProcessorFactory,
    create_start_and_wait,
    dummy_input,
    sklearn_process_step,
)


@pytest.fixture
def run_processing_pipeline(
    sagemaker_session_for_pipeline: Any,
    role: str,
    sklearn_processor: SklearnProcessorFactory,
    cpu_instance_type: str,
    pipeline_name: str,
    data_dir: Path,
    delete_at_teardown: DeleteAtTeardown,
) -> Callable[..., str]:
    """Both SDK tests' pipeline: one ``sklearn-process`` step, its instance count a parameter;
    runs it with ``experiment_config`` and returns the execution id."""

    def run(**experiment_config: Any) -> str:
        instance_count = ParameterInteger(name="InstanceCount", default_value=2)
        processor = sklearn_processor(sagemaker_session_for_pipeline, cpu_instance_type, instance_count)
        pipeline = Pipeline(
            name=pipeline_name,
            parameters=[instance_count],
            steps=[sklearn_process_step(processor, data_dir, inputs=[dummy_input(data_dir)])],
            sagemaker_session=sagemaker_session_for_pipeline,
            **experiment_config,
        )
        execution, execution_steps = create_start_and_wait(delete_at_teardown(pipeline), role, parameters={})
        assert len(execution_steps) == 1
        assert execution_steps[0]["StepName"] == "sklearn-process"
        return execution.arn.split("/")[-1]

    return run


def test_pipeline_execution_with_default_experiment_config(
    run_processing_pipeline: Callable[..., str], smclient: Any, pipeline_name: str
) -> None:
    """SDK: test_experiment.py::test_pipeline_execution_with_default_experiment_config"""
    execution_id = run_processing_pipeline()
    trial_components = smclient.list_trial_components(TrialName=execution_id)
    assert len(trial_components["TrialComponentSummaries"]) == 1
    trial = smclient.describe_trial(TrialName=execution_id)
    assert pipeline_name == trial["ExperimentName"]


def test_pipeline_execution_with_custom_experiment_config(
    run_processing_pipeline: Callable[..., str], smclient: Any
) -> None:
    """SDK: test_experiment.py::test_pipeline_execution_with_custom_experiment_config"""
    experiment_name = f"my-experiment-{int(time.time() * 10**7)}"
    execution_id = run_processing_pipeline(
        pipeline_experiment_config=PipelineExperimentConfig(
            experiment_name=experiment_name,
            trial_name=Join(on="-", values=["my-trial", ExecutionVariables.PIPELINE_EXECUTION_ID]),
        )
    )
    trial_components = smclient.list_trial_components(TrialName=f"my-trial-{execution_id}")
    (component,) = trial_components["TrialComponentSummaries"]
    assert component["TrialComponentSource"]["SourceType"] == "SageMakerProcessingJob"
    trial = smclient.describe_trial(TrialName=f"my-trial-{execution_id}")
    assert experiment_name == trial["ExperimentName"]
    assert smclient.describe_experiment(ExperimentName=experiment_name)["ExperimentName"] == experiment_name
    with pytest.raises(smclient.exceptions.ResourceNotFound):
        smclient.describe_trial(TrialName=execution_id)  # the default trial name is not used
