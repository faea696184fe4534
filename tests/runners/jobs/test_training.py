"""Training jobs: script mode, plain entrypoints, metrics, artifacts and the container contract."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext
from pipelines.runners.jobs import JobRequestError, TrainingRunner

from .helpers import BUCKET, put_script, request, shape_problems, tar_gz, untar

TRAIN = """
import argparse, json, os, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--learning-rate", type=float)
parser.add_argument("--optimizer")
args = parser.parse_args()
rows = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "part-0.csv")).read().split()
for epoch in range(args.epochs):
    print(f"epoch={epoch} train_loss={1 / (epoch + 1):.3f}")
print(f"validation:rmse {0.25 * args.learning_rate:.4f}")
env = {k: v for k, v in os.environ.items() if k.startswith(("SM_", "TRAINING_JOB"))}
config = {name: json.load(open(f"/opt/ml/input/config/{name}.json")) for name in ("hyperparameters", "resourceconfig", "inputdataconfig")}
model_dir = pathlib.Path(os.environ["SM_MODEL_DIR"])
(model_dir / "model.json").write_text(json.dumps({"rows": rows, "args": vars(args), "cwd": os.getcwd()}))
(model_dir / "env.json").write_text(json.dumps({"env": env, "config": config}))
pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt").write_text("done")
"""


def training_arguments(objects: LocalObjectStore, script: str = TRAIN, **overrides: Any) -> dict[str, Any]:
    objects.put(
        f"s3://{BUCKET}/code/sourcedir.tar.gz", tar_gz({"train.py": script, "util/helper.py": "X = 1\n"})
    )
    objects.put(f"s3://{BUCKET}/train/part-0.csv", b"1,2\n3,4\n")
    objects.put(f"s3://{BUCKET}/validation/part-0.csv", b"5,6\n")
    arguments: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "TrainingInputMode": "File",
            "MetricDefinitions": [
                {"Name": "train:loss", "Regex": r"train_loss=([0-9\.]+)"},
                {"Name": "validation:rmse", "Regex": r"validation:rmse ([0-9\.]+)"},
                {"Name": "never:seen", "Regex": r"nothing=([0-9]+)"},
            ],
        },
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "InputDataConfig": [
            {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/train",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv",
                "ChannelName": "train",
            },
            {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/validation/"}
                },
                "ChannelName": "validation",
            },
        ],
        # as the SDK writes them: every value JSON-encoded
        "HyperParameters": {
            "epochs": "3",
            "learning-rate": "0.5",
            "optimizer": '"adam"',
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"s3://{BUCKET}/code/sourcedir.tar.gz"',
            "sagemaker_container_log_level": "20",
            "sagemaker_region": '"us-east-1"',
        },
        "DebugHookConfig": {"S3OutputPath": f"s3://{BUCKET}/debug", "CollectionConfigurations": []},
        "ProfilerConfig": {"DisableProfiler": True},
    }
    arguments.update(overrides)
    return arguments


def test_script_mode_training_sees_the_container_contract(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    arguments = training_arguments(objects)
    result = TrainingRunner().run(
        request("Training", arguments, name="Train", job_name="Train-Job-1"), job_ctx
    )
    props = result.properties

    model_uri = f"s3://{BUCKET}/models/Train-Job-1/output/model.tar.gz"
    assert props["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    assert props["TrainingJobArn"] == "arn:aws:sagemaker:us-east-1:000000000000:training-job/train-job-1"
    assert result.metadata == {"TrainingJob": {"Arn": props["TrainingJobArn"]}}
    assert props["TrainingJobStatus"] == "Completed" and props["SecondaryStatus"] == "Completed"
    assert props["HyperParameters"] == arguments["HyperParameters"]
    metrics = {m["MetricName"]: m["Value"] for m in props["FinalMetricDataList"]}
    assert metrics == {"train:loss": 0.333, "validation:rmse": 0.125}
    assert shape_problems("DescribeTrainingJob", props) == []

    model = untar(objects.get(model_uri))
    trained = json.loads(model["model.json"])
    assert trained["rows"] == ["1,2", "3,4"]
    assert trained["args"] == {"epochs": 3, "learning_rate": 0.5, "optimizer": "adam"}
    assert trained["cwd"] == "/opt/ml/code"
    contract = json.loads(model["env.json"])
    env, config = contract["env"], contract["config"]
    assert env["SM_CHANNELS"] == '["train","validation"]'
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNEL_VALIDATION"] == "/opt/ml/input/data/validation"
    assert json.loads(env["SM_HPS"]) == {"epochs": 3, "learning-rate": 0.5, "optimizer": "adam"}
    assert env["SM_HP_OPTIMIZER"] == "adam" and env["SM_HP_EPOCHS"] == "3"
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert env["SM_INPUT_DIR"] == "/opt/ml/input"
    assert env["SM_INPUT_CONFIG_DIR"] == "/opt/ml/input/config"
    assert env["SM_OUTPUT_DIR"] == "/opt/ml/output"
    assert env["SM_CURRENT_HOST"] == "algo-1" and env["SM_HOSTS"] == '["algo-1"]'
    assert env["SM_NUM_GPUS"] == "0" and int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_USER_ENTRY_POINT"] == "train.py" and env["SM_MODULE_NAME"] == "train"
    assert env["SM_MODULE_DIR"] == f"s3://{BUCKET}/code/sourcedir.tar.gz"
    assert json.loads(env["SM_USER_ARGS"]) == [
        "--epochs",
        "3",
        "--learning-rate",
        "0.5",
        "--optimizer",
        "adam",
    ]
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["channel_input_dirs"]["train"] == "/opt/ml/input/data/train"
    assert training_env["job_name"] == "Train-Job-1"
    assert env["TRAINING_JOB_NAME"] == "Train-Job-1"
    assert config["hyperparameters"] == arguments["HyperParameters"]
    assert config["resourceconfig"]["hosts"] == ["algo-1"]
    assert config["resourceconfig"]["current_instance_type"] == "ml.m5.xlarge"
    assert config["inputdataconfig"]["train"] == {
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
        "ContentType": "text/csv",
    }
    output = untar(objects.get(f"s3://{BUCKET}/models/Train-Job-1/output/output.tar.gz"))
    assert output == {"report.txt": b"done"}


def test_container_entrypoint_training_and_uncompressed_model(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    put_script(
        objects,
        "entry/train.py",
        "import sys, pathlib\npathlib.Path('/opt/ml/model/weights.txt').write_text(' '.join(sys.argv[1:]))\n",
    )
    arguments = training_arguments(
        objects,
        AlgorithmSpecification={
            "TrainingImage": "my-registry/custom:1",
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python3", "/opt/ml/input/data/code/train.py"],
            "ContainerArguments": ["--fast", "yes"],
        },
        InputDataConfig=[
            {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/entry"}},
                "ChannelName": "code",
            }
        ],
        HyperParameters={},
        OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/raw-models", "CompressionType": "NONE"},
    )
    result = TrainingRunner().run(request("Training", arguments, job_name="entry-1"), job_ctx)
    assert (
        result.properties["ModelArtifacts"]["S3ModelArtifacts"]
        == f"s3://{BUCKET}/raw-models/entry-1/output/model/"
    )
    assert objects.get(f"s3://{BUCKET}/raw-models/entry-1/output/model/weights.txt") == b"--fast yes"
    assert "FinalMetricDataList" not in result.properties


def test_builtin_algorithm_without_entrypoint_cannot_run(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    arguments = training_arguments(
        objects,
        AlgorithmSpecification={
            "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
            "TrainingInputMode": "File",
        },
        HyperParameters={"max_depth": "5"},
    )
    runner = TrainingRunner()
    step = request("Training", arguments, name="Boost")
    reason = runner.check(step.step, job_ctx.config)
    assert reason is not None
    assert reason.startswith(
        "step Boost: image 683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1 runs its own"
    )
    assert "no AlgorithmSpecification.ContainerEntrypoint and no script mode" in reason
    with pytest.raises(JobRequestError, match="runs its own training program"):
        runner.run(step, job_ctx)

    kmeans = dict(
        arguments,
        AlgorithmSpecification={"TrainingImage": "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"},
    )
    kmeans_reason = runner.check(request("Training", kmeans, name="K").step, job_ctx.config)
    assert kmeans_reason is not None and "built-in algorithm image 'kmeans'" in kmeans_reason


def test_missing_entry_point_in_submit_directory(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    arguments = training_arguments(objects)
    arguments["HyperParameters"]["sagemaker_program"] = '"missing.py"'
    with pytest.raises(
        JobRequestError, match=r"entry point missing.py not found in the submit directory s3://"
    ):
        TrainingRunner().run(request("Training", arguments), job_ctx)


def test_requirements_are_only_installed_when_configured(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    arguments = training_arguments(objects)
    objects.put(
        f"s3://{BUCKET}/code/sourcedir.tar.gz",
        tar_gz({"train.py": TRAIN, "requirements.txt": "definitely-not-a-real-package-xyz==0.0.1\n"}),
    )
    TrainingRunner().run(request("Training", arguments, job_name="req-1"), job_ctx)
    assert "requirements.txt in the submit directory is not installed" in job_ctx.log.text  # type: ignore[attr-defined]


def test_checkpoints_are_restored_and_saved(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    objects.put(f"s3://{BUCKET}/ckpt/step-1.txt", b"1")
    script = (
        "import os, pathlib\n"
        "d = pathlib.Path('/opt/ml/checkpoints')\n"
        "n = len(list(d.iterdir()))\n"
        "(d / f'step-{n + 1}.txt').write_text(str(n + 1))\n"
    )
    arguments = training_arguments(objects, script=script, CheckpointConfig={"S3Uri": f"s3://{BUCKET}/ckpt"})
    arguments["HyperParameters"] = {
        k: v for k, v in arguments["HyperParameters"].items() if k.startswith("sagemaker")
    }
    TrainingRunner().run(request("Training", arguments, job_name="ckpt-1"), job_ctx)
    assert objects.list(f"s3://{BUCKET}/ckpt/") == [
        f"s3://{BUCKET}/ckpt/step-1.txt",
        f"s3://{BUCKET}/ckpt/step-2.txt",
    ]
