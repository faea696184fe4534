"""Regenerate pipeline.json with the real SageMaker Python SDK v2 (a maintainer's tool).

The definition is what ``Pipeline.definition()`` emits, unedited. The SDK is kept offline the
way the test fixtures keep it (moto answers every AWS call, fake credentials, telemetry off);
the code is referenced by its S3 URI, so nothing is uploaded (prepare.py puts it in the local
object store). Needs the dev requirements (sagemaker, moto).

    python examples/abalone/generate.py      # writes examples/abalone/pipeline.json
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest import mock

BUCKET = "abalone-example"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/AbaloneSageMakerRole"
CODE = f"s3://{BUCKET}/code"
DEFINITION = Path(__file__).resolve().parent / "pipeline.json"
FRAMEWORK_VERSION = "1.2-1"


def build(session: Any) -> str:
    from sagemaker.inputs import TrainingInput
    from sagemaker.model import Model
    from sagemaker.processing import ProcessingInput, ProcessingOutput
    from sagemaker.sklearn.estimator import SKLearn
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.transformer import Transformer
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join, JsonGet
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.properties import PropertyFile
    from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TransformStep

    instance_type = ParameterString(name="ProcessingInstanceType", default_value="ml.m5.xlarge")
    training_instance_type = ParameterString(name="TrainingInstanceType", default_value="ml.m5.xlarge")
    estimators = ParameterInteger(name="NEstimators", default_value=100)
    approval = ParameterString(name="ModelApprovalStatus", default_value="PendingManualApproval")
    mse_threshold = ParameterFloat(name="MseThreshold", default_value=4000.0)
    cache = CacheConfig(enable_caching=True, expire_after="P30D")

    processor = SKLearnProcessor(
        framework_version=FRAMEWORK_VERSION,
        instance_type=instance_type,
        instance_count=1,
        base_job_name="abalone-preprocess",
        role=ROLE,
        sagemaker_session=session,
    )
    step_process = ProcessingStep(
        name="PreprocessAbaloneData",
        step_args=processor.run(
            code=f"{CODE}/preprocess.py",
            outputs=[
                ProcessingOutput(output_name=n, source=f"/opt/ml/processing/{n}")
                for n in ("train", "validation", "test", "batch")
            ],
            arguments=["--seed", "42"],
        ),
        cache_config=cache,
    )
    outputs = step_process.properties.ProcessingOutputConfig.Outputs

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=f"{CODE}/sourcedir.tar.gz",
        framework_version=FRAMEWORK_VERSION,
        instance_type=training_instance_type,
        instance_count=1,
        output_path=f"s3://{BUCKET}/models",
        hyperparameters={"n_estimators": estimators, "max_depth": 3, "learning_rate": 0.1},
        metric_definitions=[
            {"Name": "train:mse", "Regex": r"train:mse=([0-9\.]+)"},
            {"Name": "validation:mse", "Regex": r"validation:mse=([0-9\.]+)"},
        ],
        role=ROLE,
        sagemaker_session=session,
    )
    step_train = TrainingStep(
        name="TrainAbaloneModel",
        step_args=estimator.fit(
            {
                "train": TrainingInput(outputs["train"].S3Output.S3Uri, content_type="text/csv"),
                "validation": TrainingInput(outputs["validation"].S3Output.S3Uri, content_type="text/csv"),
            }
        ),
        cache_config=cache,
    )

    evaluation_report = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluator = SKLearnProcessor(
        framework_version=FRAMEWORK_VERSION,
        instance_type=instance_type,
        instance_count=1,
        base_job_name="abalone-evaluate",
        role=ROLE,
        sagemaker_session=session,
    )
    step_eval = ProcessingStep(
        name="EvaluateAbaloneModel",
        step_args=evaluator.run(
            code=f"{CODE}/evaluate.py",
            inputs=[
                ProcessingInput(
                    step_train.properties.ModelArtifacts.S3ModelArtifacts, "/opt/ml/processing/model"
                ),
                ProcessingInput(outputs["test"].S3Output.S3Uri, "/opt/ml/processing/test"),
            ],
            outputs=[ProcessingOutput(output_name="evaluation", source="/opt/ml/processing/evaluation")],
        ),
        property_files=[evaluation_report],
        cache_config=cache,
    )

    model = Model(
        image_uri=estimator.training_image_uri(),
        model_data=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        env={"SAGEMAKER_PROGRAM": "train.py", "SAGEMAKER_SUBMIT_DIRECTORY": f"{CODE}/sourcedir.tar.gz"},
        role=ROLE,
        sagemaker_session=session,
    )
    step_register = ModelStep(
        name="RegisterAbaloneModel",
        step_args=model.register(
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name="AbaloneModelPackageGroup",
            approval_status=approval,
        ),
    )
    step_create = ModelStep(name="CreateAbaloneModel", step_args=model.create(instance_type="ml.m5.large"))
    transformer = Transformer(
        model_name=step_create.properties.ModelName,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        strategy="MultiRecord",
        assemble_with="Line",
        accept="text/csv",
        output_path=f"s3://{BUCKET}/transform",
        sagemaker_session=session,
    )
    step_transform = TransformStep(
        name="TransformAbaloneBatch",
        step_args=transformer.transform(
            data=outputs["batch"].S3Output.S3Uri, content_type="text/csv", split_type="Line"
        ),
        cache_config=cache,
    )
    step_fail = FailStep(
        name="AbaloneMSEFail",
        error_message=Join(on=" ", values=["Execution failed due to MSE >", mse_threshold]),
    )
    step_condition = ConditionStep(
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
        if_steps=[step_register, step_create, step_transform],
        else_steps=[step_fail],
    )
    pipeline = Pipeline(
        name="AbalonePipeline",
        parameters=[instance_type, training_instance_type, estimators, approval, mse_threshold],
        steps=[step_process, step_train, step_eval, step_condition],
        sagemaker_session=session,
    )
    return str(pipeline.definition())


def generate() -> str:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    }
    with mock.patch.dict(os.environ, env):
        import boto3
        from moto import mock_aws
        from sagemaker.workflow.pipeline_context import PipelineSession

        with mock_aws(), mock.patch("sagemaker.telemetry.telemetry_logging._send_telemetry_request"):
            boto_session = boto3.Session(region_name=REGION)
            boto_session.client("s3").create_bucket(Bucket=BUCKET)
            session = PipelineSession(boto_session=boto_session, default_bucket=BUCKET)
            return build(session)


if __name__ == "__main__":
    DEFINITION.write_text(json.dumps(json.loads(generate()), indent=2) + "\n")
    print(f"wrote {DEFINITION}")
