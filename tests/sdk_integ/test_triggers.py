"""Equivalent of sagemaker-python-sdk
``tests/integ/sagemaker/workflow/test_triggers.py::test_pipeline_scheduler_using_training_step``.

Facts pinned: CreatePipeline's ARN is ``arn:aws:sagemaker:{region}:\\d{12}:pipeline/{name}``
with the name's letter case and the region the client called; ``put_triggers`` returns one ARN
per schedule, ``arn:aws:scheduler:{region}:\\d{12}:schedule/default/{name}`` (an unnamed
schedule takes the pipeline's name); ``describe_trigger`` shows each expression; schedules start
executions of the pipeline, each with its one training step Succeeded.

The SDK's test waits 3 minutes for at (+2 min), rate(2 minutes) and cron(0/2 ...) schedules to
start more than 3 executions; here the at schedule is due in seconds and the wait ends as soon
as the at and rate schedules fired (a rate schedule's first occurrence is its StartDate). The
3-minute count with the SDK's own expressions is pinned on a fake clock in
``tests/api/test_scheduler.py::test_the_sdk_triggers_start_more_than_three_executions_in_three_minutes``.
"""

from __future__ import annotations

import re
import tarfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sagemaker import TrainingInput, image_uris
from sagemaker.estimator import Estimator
from sagemaker.workflow.functions import Join
from sagemaker.workflow.parameters import ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline, _PipelineExecution
from sagemaker.workflow.steps import TrainingStep
from sagemaker.workflow.triggers import PipelineSchedule

from tests.sdk_integ.helpers import DeleteAtTeardown, assert_pipeline_arn, wait_pipeline_execution

TRAIN = """\
import os, pathlib
print("training on", sorted(os.listdir("/opt/ml/input/data/train")))
pathlib.Path("/opt/ml/model/model.txt").write_text("trained")
"""


def _sources(root: Path) -> tuple[Path, Path]:
    """A training data folder and the estimator's source tarball (``dummy1.py`` as entry point:
    the SDK's tarball holds an entry point ``dummy1`` for its xgboost image)."""
    data = root / "abalone"
    data.mkdir()
    (data / "abalone.csv").write_text("1,0.455,0.365\n0,0.35,0.265\n")
    (root / "dummy1.py").write_text(TRAIN)
    tarball = root / "estimator_source_code_dummy1.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(root / "dummy1.py", arcname="dummy1.py")
    return data, tarball


def validate_scheduled_pipeline_execution(
    execution_arn: str, pipeline_arn: str, no_of_steps: int, last_step_name: str, status: str, session: Any
) -> None:
    """The SDK helper of the same name."""
    execution = _PipelineExecution(arn=execution_arn, sagemaker_session=session)
    assert execution.describe()["PipelineArn"] == pipeline_arn
    wait_pipeline_execution(execution)
    steps = execution.list_steps()
    assert len(steps) == no_of_steps
    assert last_step_name in steps[0]["StepName"]
    assert steps[0]["StepStatus"] == status, steps[0].get("FailureReason")


def test_pipeline_scheduler_using_training_step(
    sagemaker_session: Any,
    role: str,
    region_name: str,
    pipeline_name: str,
    delete_at_teardown: DeleteAtTeardown,
    tmp_path: Path,
) -> None:
    """SDK: test_triggers.py::test_pipeline_scheduler_using_training_step"""
    data, tarball = _sources(tmp_path)
    input_path = sagemaker_session.upload_data(
        path=str(data), key_prefix="integ-test-data/xgboost_abalone/abalone"
    )
    source_dir = sagemaker_session.upload_data(
        path=str(tarball), key_prefix="integ-test-data/estimator/training"
    )
    instance_count = ParameterInteger(name="InstanceCount", default_value=1)
    instance_type = ParameterString(name="InstanceType", default_value="ml.m5.xlarge")
    entry_point_param = ParameterString(name="EntryPoint", default_value="dummy1.py")
    source_dir_param = ParameterString(name="SourceDir", default_value=source_dir)
    estimator = Estimator(
        image_uri=image_uris.retrieve(
            framework="xgboost",
            region=region_name,
            version="1.0-1",
            py_version="py3",
            instance_type="ml.m5.xlarge",
        ),
        role=role,
        instance_count=instance_count,
        instance_type=instance_type,
        sagemaker_session=sagemaker_session,
        output_path=Join(on="/", values=["s3:/", sagemaker_session.default_bucket(), pipeline_name]),
        source_dir=source_dir_param,
        entry_point=entry_point_param,
        base_job_name="TestJob",
    )
    estimator.set_hyperparameters(objective="reg:linear", num_round=50, max_depth=5)
    step_train = TrainingStep(
        name="MyScheduledTrainingStep",
        estimator=estimator,
        inputs={"train": TrainingInput(s3_data=input_path)},
    )
    pipeline = delete_at_teardown(
        Pipeline(
            name=pipeline_name,
            parameters=[instance_count, instance_type, source_dir_param, entry_point_param],
            steps=[step_train],
            sagemaker_session=sagemaker_session,
        )
    )
    create_arn = pipeline.create(role)["PipelineArn"]
    assert_pipeline_arn(create_arn, region_name, pipeline_name)

    schedules = [
        PipelineSchedule(name="datetime-schedule", at=datetime.now(UTC) + timedelta(seconds=3)),
        PipelineSchedule(name="test-rate", rate=(2, "minutes")),
        PipelineSchedule(cron="0/2 * ? * * *"),  # unnamed: the pipeline's name
    ]
    assert len(pipeline.put_triggers(triggers=schedules, role_arn=role)) == 3
    described = [pipeline.describe_trigger(trigger_name=s.name) for s in schedules]
    assert [d["Schedule_Expression"][:2] for d in described] == ["at", "ra", "cr"]
    assert schedules[2].name == pipeline_name
    for schedule, description in zip(schedules, described, strict=True):
        assert re.match(
            rf"arn:aws:scheduler:{region_name}:\d{{12}}:schedule/default/{schedule.name}",
            description["Schedule_Arn"],
        )

    deadline = time.monotonic() + 60
    executions: list[dict[str, Any]] = []
    while len(executions) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)  # polling the listing: the at schedule is due 3 s after it was written
        executions = pipeline.list_executions()["PipelineExecutionSummaries"]
    assert len(executions) >= 2, "the at and rate schedules did not both start an execution"
    pipeline.delete_triggers(trigger_names=[s.name for s in schedules])

    for execution in executions:
        validate_scheduled_pipeline_execution(
            execution_arn=execution["PipelineExecutionArn"],
            pipeline_arn=create_arn,
            no_of_steps=1,
            last_step_name="MyScheduledTrainingStep",
            status="Succeeded",
            session=sagemaker_session,
        )
