# The SDK's annotations lag its behaviour: calls documented to accept pipeline variables (and
# the step_args that PipelineSession returns) are annotated as plain str/objects.
# mypy: disable-error-code="arg-type, list-item, union-attr"
"""Real pipeline definitions, built offline with the SageMaker Python SDK v2, for test fixtures.

Hand-written JSON drifts from what users actually send; these definitions come from
``Pipeline.definition()`` of the real SDK, so the engine and the validator are tested against the
service's de-facto grammar. Nothing here edits the emitted JSON.

How the SDK is kept offline (no network, no AWS credentials):

* ``moto.mock_aws`` intercepts every botocore call. The SDK uploads to S3 at definition time
  (processing ``code=`` scripts, the ``@step`` function payload and its bootstrap scripts, the
  NotebookJob input folder, the Clarify analysis config); those objects land in moto's in-memory
  S3, in the bucket ``DEFAULT_BUCKET`` that :func:`offline_sdk` creates. Nothing is patched in the SDK.
* Fake credentials and ``AWS_DEFAULT_REGION`` are set in the environment only while the moto mock
  is active (``mock.patch.dict``), so other tests never see them.
* The telemetry sender (``sagemaker.telemetry.telemetry_logging._send_telemetry_request``) is
  patched to a no-op. The SDK's own opt-out (``TelemetryOptOut`` in a ``sagemaker_config``) works
  too, but it makes every config lookup re-validate the whole config JSON schema, which costs
  about 0.35 s per lookup (30 s for these pipelines).
* Every role is a full ARN, so the SDK never asks IAM/STS who we are.
* Sockets refuse to connect while generating, so a call that escaped moto fails loudly instead
  of hanging on a network that drops packets.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
DEFAULT_BUCKET = "sdk-fixtures-bucket"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/SageMakerPipelineRole"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:notify-model"
SQS_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/pipeline-callbacks"
PYTHON_IMAGE = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/python-runtime:3.11"
NOTEBOOK_IMAGE = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/notebook-runtime:latest"
MODEL_PACKAGE_GROUP = "AbaloneModelPackageGroup"
DATASET_ARTIFACT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:artifact/0123456789abcdef0123456789abcdef"


_PREPROCESS_SCRIPT = """\
import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--input-data")
print(parser.parse_args())
"""
_EVALUATE_SCRIPT = """\
import json

with open("/opt/ml/processing/evaluation/evaluation.json", "w") as f:
    json.dump({"regression_metrics": {"mse": {"value": 4.2, "standard_deviation": 0.5}}}, f)
"""
_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": ["learning_rate = 0.1\n"],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": ["print(1)\n"],
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


class NetworkAccessError(RuntimeError):
    """The SDK tried to open a connection that moto did not intercept."""

    def __init__(self, address: object) -> None:
        super().__init__(f"SDK definition generation must stay offline, but it connected to {address!r}")


def _refuse_connection(_socket: socket.socket, address: object, *_args: object) -> None:
    raise NetworkAccessError(address)


@contextmanager
def offline_aws(
    *, region: str, bucket: str, telemetry_sender: str, environment: Mapping[str, str] | None = None
) -> Iterator[Any]:
    """Yield a boto3 session whose calls all land in moto, with ``bucket`` created.

    ``telemetry_sender`` is the dotted path of the SDK's telemetry request function;
    ``environment`` adds SDK-specific variables to the fake credentials and region. Shared with
    ``tests/fixtures/sdk_v3/generate_v3.py``, which imports this module from a v3 venv: keep its
    module-level imports to the standard library.
    """
    fake_environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        **(environment or {}),
    }
    with (
        mock.patch.dict(os.environ, fake_environment),
        mock.patch.object(socket.socket, "connect", _refuse_connection),
        mock.patch.object(socket.socket, "connect_ex", _refuse_connection),
    ):
        import boto3
        from moto import mock_aws

        with mock_aws(), mock.patch(telemetry_sender):
            boto_session = boto3.Session(region_name=region)
            boto_session.client("s3").create_bucket(Bucket=bucket)
            yield boto_session


@contextmanager
def offline_sdk(workdir: Path) -> Iterator[Any]:
    """Yield a ``PipelineSession`` whose AWS calls all land in moto, with the SDK's env isolated."""
    with offline_aws(
        region=REGION,
        bucket=DEFAULT_BUCKET,
        telemetry_sender="sagemaker.telemetry.telemetry_logging._send_telemetry_request",
        environment={"SAGEMAKER_SUPPRESS_V2_WARNING": "1"},
    ) as boto_session:
        from sagemaker.workflow.pipeline_context import PipelineSession

        session = PipelineSession(boto_session=boto_session, default_bucket=DEFAULT_BUCKET)
        workdir.mkdir(parents=True, exist_ok=True)
        yield session


def _write_sources(workdir: Path) -> dict[str, Path]:
    """The local files the SDK uploads: processing scripts and a notebook."""
    files = {
        "preprocess": workdir / "code" / "preprocess.py",
        "evaluate": workdir / "code" / "evaluate.py",
        "notebook": workdir / "notebooks" / "report.ipynb",
        "requirements": workdir / "code" / "requirements.txt",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["preprocess"].write_text(_PREPROCESS_SCRIPT)
    files["evaluate"].write_text(_EVALUATE_SCRIPT)
    files["notebook"].write_text(json.dumps(_NOTEBOOK))
    # An explicit file stops @step from writing an auto-captured requirements.txt into /tmp.
    files["requirements"].write_text("")
    return files


def _definition(session: Any, name: str, steps: list[Any], **options: Any) -> str:
    """The definition JSON text of the pipeline ``name`` of ``steps`` (``options``: its
    parameters, experiment config), exactly as ``Pipeline.definition()`` returns it."""
    from sagemaker.workflow.pipeline import Pipeline

    return str(Pipeline(name=name, steps=steps, sagemaker_session=session, **options).definition())


def _xgboost_image() -> str:
    from sagemaker import image_uris

    return str(
        image_uris.retrieve(
            "xgboost", region=REGION, version="1.7-1", py_version="py3", instance_type="ml.m5.xlarge"
        )
    )


def _xgboost_estimator(
    session: Any, output_prefix: str, instance_type: Any = "ml.m5.xlarge", **kwargs: Any
) -> Any:
    from sagemaker.estimator import Estimator

    estimator = Estimator(
        image_uri=_xgboost_image(),
        instance_type=instance_type,
        instance_count=1,
        output_path=f"s3://{DEFAULT_BUCKET}/{output_prefix}",
        role=ROLE_ARN,
        sagemaker_session=session,
        **kwargs,
    )
    estimator.set_hyperparameters(objective="reg:linear", num_round=50, max_depth=5, eta=0.2)
    return estimator


def abalone(session: Any, files: dict[str, Path]) -> str:
    """The AWS abalone example: process, train, evaluate, then register/create/transform or fail."""
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.processing import ProcessingInput, ProcessingOutput, ScriptProcessor
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import (
        ParameterBoolean,
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TransformStep

    instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
    instance_type = ParameterString(name="TrainingInstanceType", default_value="ml.m5.xlarge")
    approval_status = ParameterString(
        name="ModelApprovalStatus",
        default_value="PendingManualApproval",
        enum_values=["PendingManualApproval", "Approved", "Rejected"],
    )
    input_data = ParameterString(name="InputData", default_value=f"s3://{DEFAULT_BUCKET}/abalone/abalone.csv")
    batch_data = ParameterString(name="BatchData", default_value=f"s3://{DEFAULT_BUCKET}/abalone/batch.csv")
    mse_threshold = ParameterFloat(name="MseThreshold", default_value=6.0)
    encrypt_traffic = ParameterBoolean(name="EncryptInterContainerTraffic", default_value=False)
    cache = CacheConfig(enable_caching=True, expire_after="P30D")

    processor = SKLearnProcessor(
        framework_version="1.2-1",
        instance_type="ml.m5.xlarge",
        instance_count=instance_count,
        base_job_name="abalone-preprocess",
        role=ROLE_ARN,
        sagemaker_session=session,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=processor.run(
            inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input")],
            outputs=[
                ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}")
                for name in ("train", "validation", "test")
            ],
            code=str(files["preprocess"]),
            arguments=["--input-data", input_data],
        ),
        cache_config=cache,
    )

    estimator = _xgboost_estimator(
        session, "AbaloneTrain", instance_type, encrypt_inter_container_traffic=encrypt_traffic
    )
    outputs = step_process.properties.ProcessingOutputConfig.Outputs
    step_train = TrainingStep(
        name="TrainAbaloneModel",
        step_args=estimator.fit(
            inputs={
                "train": TrainingInput(s3_data=outputs["train"].S3Output.S3Uri, content_type="text/csv"),
                "validation": TrainingInput(
                    s3_data=outputs["validation"].S3Output.S3Uri, content_type="text/csv"
                ),
            }
        ),
        cache_config=cache,
        retry_policies=[
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
                max_attempts=3,
                interval_seconds=10,
                backoff_rate=2.0,
            ),
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.CAPACITY_ERROR],
                expire_after_mins=60,
            ),
        ],
    )

    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    eval_processor = ScriptProcessor(
        image_uri=_xgboost_image(),
        command=["python3"],
        instance_type="ml.m5.xlarge",
        instance_count=1,
        base_job_name="abalone-eval",
        role=ROLE_ARN,
        sagemaker_session=session,
    )
    step_eval = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=eval_processor.run(
            inputs=[
                ProcessingInput(
                    source=step_train.properties.ModelArtifacts.S3ModelArtifacts,
                    destination="/opt/ml/processing/model",
                ),
                ProcessingInput(source=outputs["test"].S3Output.S3Uri, destination="/opt/ml/processing/test"),
            ],
            outputs=[
                ProcessingOutput(
                    output_name="evaluation",
                    source="/opt/ml/processing/evaluation",
                    destination=Join(
                        on="/",
                        values=[
                            f"s3://{DEFAULT_BUCKET}/AbalonePipeline",
                            ExecutionVariables.PIPELINE_EXECUTION_ID,
                            "evaluation",
                        ],
                    ),
                )
            ],
            code=str(files["evaluate"]),
        ),
        property_files=[evaluation_report],
    )

    model = Model(
        image_uri=_xgboost_image(),
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        role=ROLE_ARN,
        sagemaker_session=session,
    )
    model_metrics = ModelMetrics(
        model_statistics=MetricsSource(
            s3_uri=Join(
                on="/",
                values=[
                    step_eval.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
                    "evaluation.json",
                ],
            ),
            content_type="application/json",
        )
    )
    step_register = ModelStep(
        name="RegisterAbaloneModel",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.t2.medium", "ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=MODEL_PACKAGE_GROUP,
            approval_status=approval_status,
            model_metrics=model_metrics,
        ),
    )
    step_create_model = ModelStep(
        name="CreateAbaloneModel", step_args=model.create(instance_type="ml.m5.large")
    )
    transformer = Transformer(
        model_name=step_create_model.properties.ModelName,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        output_path=f"s3://{DEFAULT_BUCKET}/AbaloneTransform",
        sagemaker_session=session,
    )
    step_transform = TransformStep(
        name="AbaloneTransform",
        step_args=transformer.transform(data=batch_data, content_type="text/csv"),
        cache_config=cache,
    )
    step_fail = FailStep(
        name="AbaloneMSEFail",
        error_message=Join(
            on=" ",
            values=["Execution", ExecutionVariables.PIPELINE_EXECUTION_ID, "failed: MSE >", mse_threshold],
        ),
    )
    step_cond = ConditionStep(
        name="CheckMSEAbaloneEvaluation",
        conditions=[
            ConditionLessThanOrEqualTo(
                left=JsonGet(
                    step_name=step_eval.name,
                    property_file=evaluation_report,
                    json_path="regression_metrics.mse.value",
                ),
                right=mse_threshold,
            )
        ],
        if_steps=[step_register, step_create_model, step_transform],
        else_steps=[step_fail],
    )
    return _definition(
        session,
        "AbalonePipeline",
        [step_process, step_train, step_eval, step_cond],
        parameters=[
            instance_count,
            instance_type,
            approval_status,
            input_data,
            batch_data,
            mse_threshold,
            encrypt_traffic,
        ],
    )


def integrations(session: Any, files: dict[str, Path]) -> str:
    """Steps that call out of SageMaker: Lambda, Callback and EMR (both cluster forms)."""
    from sagemaker.lambda_helper import Lambda
    from sagemaker.workflow.callback_step import CallbackOutput, CallbackOutputTypeEnum, CallbackStep
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionEquals
    from sagemaker.workflow.emr_step import EMRStep, EMRStepConfig
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.steps import CacheConfig

    input_data = ParameterString(name="InputData", default_value=f"s3://{DEFAULT_BUCKET}/emr/input")
    cluster_id = "j-1ABCDEFGHIJKL"
    step_emr = EMRStep(
        name="EMRExistingCluster",
        display_name="Spark on a running cluster",
        description="Runs spark-submit on an existing EMR cluster",
        cluster_id=cluster_id,
        step_config=EMRStepConfig(
            jar="command-runner.jar",
            args=["spark-submit", f"s3://{DEFAULT_BUCKET}/emr/job.py", input_data],
        ),
        cache_config=CacheConfig(enable_caching=True, expire_after="PT12H"),
    )
    step_emr_cluster = EMRStep(
        name="EMRNewCluster",
        display_name="Spark on a transient cluster",
        description="The pipeline creates and terminates the cluster",
        cluster_id=None,
        step_config=EMRStepConfig(
            jar="s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar",
            args=[f"s3://{DEFAULT_BUCKET}/emr/run.sh"],
            main_class="org.example.Main",
            properties=[{"Key": "mapreduce.job.reduces", "Value": "1"}],
        ),
        cluster_config={
            "ReleaseLabel": "emr-6.15.0",
            "Instances": {
                "InstanceGroups": [
                    {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1},
                    {"InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": 2},
                ],
            },
            "Applications": [{"Name": "Spark"}],
            "JobFlowRole": "EMR_EC2_DefaultRole",
            "ServiceRole": "EMR_DefaultRole",
        },
        depends_on=[step_emr],
    )
    step_lambda = LambdaStep(
        name="NotifyLambda",
        lambda_func=Lambda(function_arn=LAMBDA_ARN, session=session),
        inputs={
            "emr_state": step_emr.properties.Status.State,
            "execution": ExecutionVariables.PIPELINE_EXECUTION_ARN,
            "input": input_data,
        },
        outputs=[
            LambdaOutput(output_name="statusCode", output_type=LambdaOutputTypeEnum.Integer),
            LambdaOutput(output_name="message", output_type=LambdaOutputTypeEnum.String),
        ],
        cache_config=CacheConfig(enable_caching=False),
    )
    approved = CallbackOutput(output_name="approved", output_type=CallbackOutputTypeEnum.Boolean)
    step_callback = CallbackStep(
        name="ManualApproval",
        sqs_queue_url=SQS_QUEUE_URL,
        inputs={"status_code": step_lambda.properties.Outputs["statusCode"], "note": "please approve"},
        outputs=[approved, CallbackOutput(output_name="approver", output_type=CallbackOutputTypeEnum.String)],
    )
    step_check = ConditionStep(
        name="CheckApproval",
        conditions=[ConditionEquals(left=approved, right=True)],
        if_steps=[step_emr_cluster],
        else_steps=[
            FailStep(
                name="Rejected",
                error_message=step_callback.properties.Outputs["approver"],
            )
        ],
    )
    return _definition(
        session,
        "IntegrationsPipeline",
        [step_emr, step_lambda, step_callback, step_check],
        parameters=[input_data],
    )


def tuning(session: Any, files: dict[str, Path]) -> str:
    """A tuning job whose best model becomes a SageMaker model."""
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.tuner import (
        CategoricalParameter,
        ContinuousParameter,
        HyperparameterTuner,
        IntegerParameter,
    )
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.workflow.retry import SageMakerJobExceptionTypeEnum, SageMakerJobStepRetryPolicy
    from sagemaker.workflow.steps import CacheConfig, TuningStep

    train_data = ParameterString(name="TrainData", default_value=f"s3://{DEFAULT_BUCKET}/tuning/train")
    max_jobs = ParameterInteger(name="MaxJobs", default_value=4)
    tuner = HyperparameterTuner(
        estimator=_xgboost_estimator(session, "TuningOutput"),
        objective_metric_name="validation:rmse",
        objective_type="Minimize",
        hyperparameter_ranges={
            "alpha": ContinuousParameter(0.01, 10, scaling_type="Logarithmic"),
            "max_depth": IntegerParameter(2, 8),
            "booster": CategoricalParameter(["gbtree", "dart"]),
        },
        max_jobs=max_jobs,
        max_parallel_jobs=2,
        strategy="Bayesian",
    )
    step_tuning = TuningStep(
        name="HPTuning",
        step_args=tuner.fit(
            inputs={
                "train": TrainingInput(s3_data=train_data, content_type="text/csv"),
                "validation": TrainingInput(s3_data=train_data, content_type="text/csv"),
            }
        ),
        cache_config=CacheConfig(enable_caching=True, expire_after="P1D"),
        retry_policies=[
            SageMakerJobStepRetryPolicy(
                exception_types=[SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT], max_attempts=2
            )
        ],
    )
    best_model = Model(
        image_uri=_xgboost_image(),
        model_data=step_tuning.get_top_model_s3_uri(top_k=0, s3_bucket=DEFAULT_BUCKET, prefix="TuningOutput"),
        role=ROLE_ARN,
        sagemaker_session=session,
    )
    step_model = ModelStep(name="BestModel", step_args=best_model.create(instance_type="ml.m5.large"))
    return _definition(
        session, "TuningPipeline", [step_tuning, step_model], parameters=[train_data, max_jobs]
    )


def checks(session: Any, files: dict[str, Path]) -> str:
    """Model Monitor data-quality and Clarify data-bias baselines."""
    from sagemaker.clarify import BiasConfig, DataConfig
    from sagemaker.model_monitor.dataset_format import DatasetFormat
    from sagemaker.workflow.check_job_config import CheckJobConfig
    from sagemaker.workflow.clarify_check_step import ClarifyCheckStep, DataBiasCheckConfig
    from sagemaker.workflow.parameters import ParameterBoolean, ParameterString
    from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
    from sagemaker.workflow.steps import CacheConfig

    baseline = ParameterString(name="BaselineData", default_value=f"s3://{DEFAULT_BUCKET}/checks/train.csv")
    skip_check = ParameterBoolean(name="SkipDataQualityCheck", default_value=False)
    register_baseline = ParameterBoolean(name="RegisterNewBaseline", default_value=False)
    check_job_config = CheckJobConfig(
        role=ROLE_ARN, instance_count=1, instance_type="ml.c5.xlarge", sagemaker_session=session
    )
    step_quality = QualityCheckStep(
        name="DataQualityCheck",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=baseline,
            dataset_format=DatasetFormat.csv(header=False, output_columns_position="START"),
            output_s3_uri=f"s3://{DEFAULT_BUCKET}/checks/data-quality",
        ),
        check_job_config=check_job_config,
        skip_check=skip_check,
        register_new_baseline=register_baseline,
        model_package_group_name=MODEL_PACKAGE_GROUP,
        supplied_baseline_statistics=f"s3://{DEFAULT_BUCKET}/checks/statistics.json",
        supplied_baseline_constraints=f"s3://{DEFAULT_BUCKET}/checks/constraints.json",
        cache_config=CacheConfig(enable_caching=True, expire_after="PT1H"),
    )
    step_bias = ClarifyCheckStep(
        name="DataBiasCheck",
        clarify_check_config=DataBiasCheckConfig(
            data_config=DataConfig(
                s3_data_input_path=baseline,
                s3_output_path=f"s3://{DEFAULT_BUCKET}/checks/data-bias",
                label=0,
                dataset_type="text/csv",
            ),
            data_bias_config=BiasConfig(
                label_values_or_threshold=[15.0], facet_name=[8], facet_values_or_threshold=[[0.5]]
            ),
        ),
        check_job_config=check_job_config,
        skip_check=False,
        register_new_baseline=register_baseline,
        model_package_group_name=MODEL_PACKAGE_GROUP,
        supplied_baseline_constraints=f"s3://{DEFAULT_BUCKET}/checks/bias-constraints.json",
        depends_on=[step_quality],
    )
    return _definition(
        session,
        "ChecksPipeline",
        [step_quality, step_bias],
        parameters=[baseline, skip_check, register_baseline],
    )


def function_steps(session: Any, files: dict[str, Path]) -> str:
    """``@step`` functions: one fed by a Processing output, and a condition on a function's result."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.function_step import step
    from sagemaker.workflow.parameters import ParameterFloat
    from sagemaker.workflow.retry import StepExceptionTypeEnum, StepRetryPolicy
    from sagemaker.workflow.steps import ProcessingStep

    threshold = ParameterFloat(name="AccuracyThreshold", default_value=0.7)
    function_settings: dict[str, Any] = {
        "image_uri": PYTHON_IMAGE,
        "instance_type": "ml.m5.large",
        "role": ROLE_ARN,
        "dependencies": str(files["requirements"]),
    }
    step_prepare = ProcessingStep(
        name="PrepareData",
        step_args=_python_processor(session, "print('prepare')").run(
            inputs=[
                ProcessingInput(source=f"s3://{DEFAULT_BUCKET}/raw", destination="/opt/ml/processing/input")
            ],
            outputs=[
                ProcessingOutput(
                    output_name="train",
                    source="/opt/ml/processing/train",
                    destination=f"s3://{DEFAULT_BUCKET}/prepared/train",
                )
            ],
        ),
    )

    @step(
        name="TrainFunction",
        retry_policies=[StepRetryPolicy(exception_types=[StepExceptionTypeEnum.THROTTLING], max_attempts=2)],
        **function_settings,
    )
    def train(data_uri: str, learning_rate: float) -> dict[str, Any]:
        """Train a model on the prepared data."""
        return {"model_uri": f"{data_uri}/model.tar.gz", "learning_rate": learning_rate}

    @step(name="EvaluateFunction", **function_settings)
    def evaluate(model: dict[str, Any]) -> dict[str, float]:
        return {"accuracy": 0.9, "loss": 0.1}

    @step(name="DeployFunction", **function_settings)
    def deploy(model: dict[str, Any], accuracy: float) -> str:
        return f"deployed {model['model_uri']} with accuracy {accuracy}"

    model = train(step_prepare.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri, 0.1)
    metrics = evaluate(model)
    step_check = ConditionStep(
        name="CheckAccuracy",
        conditions=[ConditionGreaterThanOrEqualTo(left=metrics["accuracy"], right=threshold)],
        if_steps=[deploy(model, metrics["accuracy"])],
        else_steps=[FailStep(name="AccuracyTooLow", error_message="accuracy below threshold")],
    )
    return _definition(session, "FunctionStepsPipeline", [step_check], parameters=[threshold])


def notebook_job(session: Any, files: dict[str, Path]) -> str:
    """A notebook executed as a pipeline step (compiles to a Training job)."""
    from sagemaker.workflow.notebook_job_step import NotebookJobStep
    from sagemaker.workflow.parameters import ParameterString

    learning_rate = ParameterString(name="LearningRate", default_value="0.1")
    step_notebook = NotebookJobStep(
        name="RunReportNotebook",
        display_name="Report notebook",
        description="Executes report.ipynb headlessly",
        input_notebook=str(files["notebook"]),
        image_uri=NOTEBOOK_IMAGE,
        kernel_name="python3",
        role=ROLE_ARN,
        s3_root_uri=f"s3://{DEFAULT_BUCKET}/notebooks",
        parameters={"learning_rate": learning_rate, "epochs": "3"},
        environment_variables={"STAGE": "test"},
        instance_type="ml.m5.large",
    )
    return _definition(session, "NotebookJobPipeline", [step_notebook], parameters=[learning_rate])


def deployment(session: Any, files: dict[str, Path]) -> str:
    """Create a model, an endpoint config, an endpoint and an inference component, then record lineage."""
    from sagemaker.lineage.action import Action
    from sagemaker.lineage.artifact import Artifact
    from sagemaker.lineage.context import Context
    from sagemaker.model import Model
    from sagemaker.workflow.endpoint_step import EndpointConfigStep, EndpointStep
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.inference_component_step import InferenceComponentStep
    from sagemaker.workflow.lineage_step import LineageAssociation, LineageEntityReference, LineageStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterInteger, ParameterString
    from sagemaker.workflow.retry import StepExceptionTypeEnum, StepRetryPolicy
    from sagemaker.workflow.steps import CacheConfig

    model_data = ParameterString(name="ModelData", default_value=f"s3://{DEFAULT_BUCKET}/models/model.tar.gz")
    endpoint_name = ParameterString(name="EndpointName", default_value="abalone-endpoint")
    instance_count = ParameterInteger(name="EndpointInstanceCount", default_value=1)
    model = Model(image_uri=_xgboost_image(), model_data=model_data, role=ROLE_ARN, sagemaker_session=session)
    step_model = ModelStep(name="DeployModel", step_args=model.create(instance_type="ml.m5.large"))
    model_name = step_model.properties.ModelName
    config_name = Join(on="-", values=["abalone-config", ExecutionVariables.PIPELINE_EXECUTION_ID])
    step_config = EndpointConfigStep(
        name="CreateEndpointConfig",
        step_args=session.create_endpoint_config(
            name=config_name,
            model_name=model_name,
            initial_instance_count=instance_count,
            instance_type="ml.m5.large",
        ),
        cache_config=CacheConfig(enable_caching=True, expire_after="P7D"),
        retry_policies=[
            StepRetryPolicy(exception_types=[StepExceptionTypeEnum.SERVICE_FAULT], max_attempts=2)
        ],
    )
    step_endpoint = EndpointStep(
        name="CreateEndpoint",
        step_args=session.create_endpoint(
            endpoint_name=endpoint_name, config_name=step_config.properties.EndpointConfigName
        ),
    )
    step_component = InferenceComponentStep(
        name="CreateInferenceComponent",
        step_args=session.create_inference_component(
            inference_component_name="abalone-component",
            endpoint_name=endpoint_name,
            variant_name="AllTraffic",
            specification={
                "ModelName": model_name,
                "ComputeResourceRequirements": {"NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024},
            },
            runtime_config={"CopyCount": 1},
        ),
        depends_on=[step_endpoint],
    )
    step_lineage = LineageStep(
        name="RecordLineage",
        actions=[
            Action.create(
                action_name="deploy-abalone",
                source_uri=Join(on="/", values=["pipeline", ExecutionVariables.PIPELINE_EXECUTION_ARN]),
                action_type="ModelDeployment",
                sagemaker_session=session,
            )
        ],
        artifacts=[
            Artifact.create(
                artifact_name="abalone-model",
                source_uri=model_data,
                artifact_type="Model",
                sagemaker_session=session,
            )
        ],
        contexts=[
            Context.create(
                context_name="abalone-endpoint-context",
                source_uri=step_endpoint.properties.EndpointArn,
                context_type="Endpoint",
                sagemaker_session=session,
            )
        ],
        associations=[
            LineageAssociation(
                source=LineageEntityReference(name="abalone-model", type="Artifact"),
                destination=LineageEntityReference(name="deploy-abalone", type="Action"),
                association_type="ContributedTo",
            ),
            LineageAssociation(
                source=LineageEntityReference(name="deploy-abalone", type="Action"),
                destination=LineageEntityReference(name="abalone-endpoint-context", type="Context"),
                association_type="Produced",
            ),
            LineageAssociation(
                source=LineageEntityReference(arn=DATASET_ARTIFACT_ARN),
                destination=LineageEntityReference(name="abalone-model", type="Artifact"),
            ),
        ],
    )
    return _definition(
        session,
        "DeploymentPipeline",
        [step_model, step_config, step_endpoint, step_component, step_lineage],
        parameters=[model_data, endpoint_name, instance_count],
    )


def _python_processor(session: Any, command: str) -> Any:
    """A Processor of :data:`PYTHON_IMAGE` running ``python3 -c command``: its code is in the
    image, so the SDK uploads nothing."""
    from sagemaker.processing import Processor

    return Processor(
        image_uri=PYTHON_IMAGE,
        entrypoint=["python3", "-c", command],
        instance_type="ml.m5.large",
        instance_count=1,
        role=ROLE_ARN,
        sagemaker_session=session,
    )


def _processing_step(
    session: Any, name: str, input_uri: Any = None, arguments: list[Any] | None = None, **kwargs: Any
) -> Any:
    """An image-only Processing step with explicit destinations, so it needs no S3 upload."""
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.workflow.steps import ProcessingStep

    return ProcessingStep(
        name=name,
        step_args=_python_processor(session, f"print('{name}')").run(
            arguments=arguments,
            inputs=[ProcessingInput(source=input_uri, destination="/opt/ml/processing/in")]
            if input_uri
            else None,
            outputs=[
                ProcessingOutput(
                    output_name="out",
                    source="/opt/ml/processing/out",
                    destination=f"s3://{DEFAULT_BUCKET}/stages/{name}",
                )
            ],
        ),
        **kwargs,
    )


def no_experiment_config(session: Any, files: dict[str, Path]) -> str:
    """``pipeline_experiment_config=None``: the definition carries ``"PipelineExperimentConfig": null``."""

    return _definition(
        session,
        "NoExperimentsPipeline",
        [_processing_step(session, "OnlyStep")],
        pipeline_experiment_config=None,
    )


def custom_experiment_config(session: Any, files: dict[str, Path]) -> str:
    """A custom experiment/trial name that steps also reference."""
    from sagemaker.workflow.execution_variables import ExecutionVariables
    from sagemaker.workflow.functions import Join
    from sagemaker.workflow.parameters import ParameterString
    from sagemaker.workflow.pipeline_experiment_config import (
        PipelineExperimentConfig,
        PipelineExperimentConfigProperties,
    )

    experiment = ParameterString(name="ExperimentName", default_value="abalone-experiments")
    return _definition(
        session,
        "CustomExperimentPipeline",
        [
            _processing_step(
                session,
                "Track",
                arguments=[
                    "--experiment",
                    PipelineExperimentConfigProperties.EXPERIMENT_NAME,
                    "--trial",
                    PipelineExperimentConfigProperties.TRIAL_NAME,
                ],
                display_name="Track",
                description="Writes to the custom trial",
            )
        ],
        parameters=[experiment],
        pipeline_experiment_config=PipelineExperimentConfig(
            experiment_name=experiment,
            trial_name=Join(on="-", values=["trial", ExecutionVariables.PIPELINE_EXECUTION_ID]),
        ),
    )


def staged_diamond(session: Any, files: dict[str, Path]) -> str:
    """A wide diamond with stage-prefixed names, for parallelism caps and selective execution.

    ``Stage1-Prepare`` fans out to four independent ``Stage2-Shard<i>`` steps (data dependencies)
    that join in ``Stage3-Merge`` (explicit ``DependsOn`` on all four), then ``Stage4-Report``.
    See :func:`execution_options` for the matching ParallelismConfiguration/SelectiveExecutionConfig.
    """

    prepare = _processing_step(session, "Stage1-Prepare")
    prepared = prepare.properties.ProcessingOutputConfig.Outputs["out"].S3Output.S3Uri
    shards = [_processing_step(session, f"Stage2-Shard{index}", prepared) for index in range(4)]
    merge = _processing_step(session, "Stage3-Merge", depends_on=shards)
    report = _processing_step(session, "Stage4-Report", depends_on=[merge])
    return _definition(session, "StagedDiamondPipeline", [prepare, *shards, merge, report])


GENERATORS: dict[str, Callable[[Any, dict[str, Path]], str]] = {
    "abalone": abalone,
    "integrations": integrations,
    "tuning": tuning,
    "checks": checks,
    "function_steps": function_steps,
    "notebook_job": notebook_job,
    "deployment": deployment,
    "no_experiment_config": no_experiment_config,
    "custom_experiment_config": custom_experiment_config,
    "staged_diamond": staged_diamond,
}


def execution_options() -> dict[str, dict[str, Any]]:
    """Execution-level request fragments (not part of any definition), built by the SDK's own classes.

    ``staged_diamond`` is meant to run with ``parallelism`` (the diamond's four shards would
    otherwise all run at once) and to be re-run with ``selective`` (a contiguous middle section:
    every step on a path between two selected steps is selected, as the SDK docstring requires).
    """
    from sagemaker.workflow.parallelism_config import ParallelismConfiguration
    from sagemaker.workflow.selective_execution_config import SelectiveExecutionConfig

    selective = SelectiveExecutionConfig(
        selected_steps=["Stage2-Shard0", "Stage2-Shard1", "Stage2-Shard2", "Stage2-Shard3", "Stage3-Merge"],
        source_pipeline_execution_arn=(
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:pipeline/StagedDiamondPipeline/execution/abc123def456"
        ),
    )
    return {
        "staged_diamond": {
            "ParallelismConfiguration": ParallelismConfiguration(max_parallel_execution_steps=2).to_request(),
            "SelectiveExecutionConfig": selective.to_request(),
        }
    }


def generate_all(workdir: Path) -> dict[str, str]:
    """Every definition by name, as the JSON text ``Pipeline.definition()`` returned."""
    with offline_sdk(workdir) as session:
        files = _write_sources(workdir)
        return {name: generator(session, files) for name, generator in GENERATORS.items()}


_generated_in_this_process: dict[str, str] = {}


def generate_once(workdir: Path) -> dict[str, str]:
    """:func:`generate_all`, run at most once per process (the SDK takes seconds); later calls
    ignore ``workdir`` and return a copy of the first result."""
    if not _generated_in_this_process:
        _generated_in_this_process.update(generate_all(workdir))
    return dict(_generated_in_this_process)
