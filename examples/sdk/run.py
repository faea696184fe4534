"""A pipeline built with the SageMaker Python SDK (v2) and run by `pipelines serve`, then read
back the way a data scientist reads a run: a @step function's result(), a processing job's logs,
and the registered model, which it approves.

    .venv/bin/pipelines serve --config examples/sdk/pipelines.toml      # one terminal
    .venv/bin/python examples/sdk/run.py                                # another

Everything goes to the server: the script points every AWS client the SDK makes at it (the
AWS_ENDPOINT_URL_* variables), gives the SDK a role ARN (no IAM lookup), names its default
bucket (no STS lookup) and opts out of the SDK's telemetry (no calls to AWS).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROLE = "arn:aws:iam::123456789012:role/SageMakerPipelines"  # any role ARN: the server does not assume it
BUCKET = "sdk-example"
GROUP = "sdk-example-models"
PYTHON_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/python:3.11"  # unmapped: the server's Python
# Spares the SDK its offline failures: telemetry calls (tracebacks) and the STS call that
# derives a default bucket. The same can live in ~/.config/sagemaker/config.yaml.
SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {
        "PythonSDK": {"Modules": {"TelemetryOptOut": True, "Session": {"DefaultS3Bucket": BUCKET}}}
    },
}


def point_clients_at(endpoint: str) -> None:
    for service in ("SAGEMAKER", "S3", "CLOUDWATCH_LOGS", "STS", "SCHEDULER"):
        os.environ[f"AWS_ENDPOINT_URL_{service}"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")


def build(session, workdir: Path):  # type: ignore[no-untyped-def]
    from sagemaker.model import Model
    from sagemaker.processing import ProcessingOutput
    from sagemaker.sklearn.processing import SKLearnProcessor
    from sagemaker.workflow.function_step import step
    from sagemaker.workflow.model_step import ModelStep
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import ProcessingStep

    processor = SKLearnProcessor(
        framework_version="1.2-1",
        role=ROLE,
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=session,
    )
    prepare = ProcessingStep(
        name="Prepare",
        step_args=processor.run(
            code=str(HERE / "prepare.py"),
            outputs=[
                ProcessingOutput(
                    output_name="output",
                    source="/opt/ml/processing/output",
                    destination=f"s3://{BUCKET}/prepared",
                )
            ],
        ),
    )

    requirements = workdir / "requirements.txt"
    requirements.write_text("")

    @step(
        name="Summarize",
        image_uri=PYTHON_IMAGE,
        instance_type="ml.m5.large",
        role=ROLE,
        dependencies=str(requirements),
    )
    def summarize(values: list[int]) -> dict[str, float]:
        return {"count": len(values), "mean": sum(values) / len(values)}

    model = Model(
        image_uri=processor.image_uri,
        model_data=f"s3://{BUCKET}/prepared/model.tar.gz",
        role=ROLE,
        sagemaker_session=session,
    )
    register = ModelStep(
        name="Register",
        step_args=model.register(
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            model_package_group_name=GROUP,
            approval_status="PendingManualApproval",
        ),
        depends_on=[prepare],
    )
    return Pipeline(
        name="sdk-example",
        steps=[prepare, summarize(list(range(1, 11))), register],
        sagemaker_session=session,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:8080", help="where `pipelines serve` listens")
    args = parser.parse_args()
    point_clients_at(args.endpoint)

    import boto3
    from sagemaker.processing import ProcessingJob
    from sagemaker.workflow.pipeline_context import PipelineSession

    session = PipelineSession(boto_session=boto3.Session(), sagemaker_config=SDK_CONFIG)
    with tempfile.TemporaryDirectory() as workdir:
        pipeline = build(session, Path(workdir))
        pipeline.upsert(role_arn=ROLE)
    execution = pipeline.start()
    print(f"started {execution.arn}")
    execution.wait(delay=2, max_attempts=300)
    print("status:", execution.describe()["PipelineExecutionStatus"])

    print("Summarize result():", execution.result(step_name="Summarize"))

    steps = {s["StepName"]: s for s in execution.list_steps()}
    job_name = steps["Prepare"]["Metadata"]["ProcessingJob"]["Arn"].rpartition("/")[2]
    print(f"logs of {job_name}:")
    ProcessingJob.from_processing_name(session, job_name).wait(logs=True)

    sm = session.sagemaker_client
    package = steps["Register-RegisterModel"]["Metadata"]["RegisterModel"]["Arn"]
    sm.update_model_package(
        ModelPackageArn=package, ModelApprovalStatus="Approved", ApprovalDescription="looks good"
    )
    status = sm.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"]
    print(f"model package {package}: {status}")
    return 0 if status == "Approved" else 1


if __name__ == "__main__":
    sys.exit(main())
