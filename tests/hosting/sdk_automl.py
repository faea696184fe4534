"""An AutoML -> best model -> endpoint pipeline made by the SageMaker Python SDK v2 itself
(offline, in moto), as a user writes it."""

from __future__ import annotations

from pathlib import Path

from tests.sdk.generate_v2 import DEFAULT_BUCKET, offline_sdk
from tests.sdk.steps import endpoint_steps

ROLE = "arn:aws:iam::123456789012:role/pipelines"
TRAIN_URI = f"s3://{DEFAULT_BUCKET}/automl/train.csv"


def automl_deploy_definition(workdir: Path, endpoint: str) -> str:
    from sagemaker.automl.automl import AutoML, AutoMLInput
    from sagemaker.workflow.automl_step import AutoMLStep
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline

    with offline_sdk(workdir) as session:
        automl = AutoML(
            role=ROLE,
            target_attribute_name="target",
            sagemaker_session=session,
            max_candidates=2,
            max_runtime_per_training_job_in_seconds=120,
            total_job_runtime_in_seconds=300,
            mode="ENSEMBLING",
            problem_type="BinaryClassification",
            job_objective={"MetricName": "Accuracy"},
            output_path=f"s3://{DEFAULT_BUCKET}/automl/output",
        )
        search = AutoMLStep(
            name="Search",
            step_args=automl.fit(
                inputs=AutoMLInput(inputs=TRAIN_URI, target_attribute_name="target", channel_type="training")
            ),
        )
        best = search.get_best_auto_ml_model(ROLE, sagemaker_session=session)
        model = ModelStep(name="Best", step_args=best.create(instance_type="ml.m5.large"))
        config, deploy = endpoint_steps(session, model, endpoint, config_step_name="Config")
        pipeline = Pipeline(
            name="automl-deploy", steps=[search, model, config, deploy], sagemaker_session=session
        )
        return str(pipeline.definition())
