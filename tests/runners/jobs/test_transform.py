"""Transform jobs: the model's inference handler over the input records, per SplitType,
BatchStrategy and AssembleWith."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from pipelines.objects import LocalObjectStore
from pipelines.registry import ModelRegistry
from pipelines.runners.base import RunContext
from pipelines.runners.jobs import AlgorithmError, JobRequestError, TransformRunner

from .helpers import BUCKET, request, shape_problems, tar_gz

# Handlers that make batch boundaries visible: each request answers "<records>:<sum * factor>".
INFERENCE = """
import json, os, struct

def model_fn(model_dir):
    return json.load(open(os.path.join(model_dir, "model.json")))

def _recordio(body):
    values, position = [], 0
    while position < len(body):
        magic, length = struct.unpack_from("<II", body, position)
        values.append(int(body[position + 8 : position + 8 + length]))
        position += 8 + length + (-length % 4)
    return values

def _tfrecord(body):
    values, position = [], 0
    while position < len(body):
        (length,) = struct.unpack_from("<Q", body, position)
        values.append(int(body[position + 12 : position + 12 + length]))
        position += 12 + length + 4
    return values

def input_fn(body, content_type):
    if content_type == "application/x-recordio":
        return _recordio(body)
    if content_type == "application/x-tfrecord":
        return _tfrecord(body)
    return [int(line.split(",")[0]) for line in body.decode().splitlines() if line]

def predict_fn(values, model):
    return {"records": len(values), "total": sum(values) * model["factor"]}

def output_fn(prediction, accept):
    return f"{prediction['records']}:{prediction['total']}"
"""

# No handlers but model_fn: the default CSV/JSON input_fn, predict_fn (model.predict) and output_fn.
DEFAULTS = """
class Doubler:
    def predict(self, rows):
        return rows.sum(axis=1) * 2

def model_fn(model_dir):
    return Doubler()
"""


def register_model(
    ctx: RunContext, objects: LocalObjectStore, script: str, name: str = "model-1", **env: str
) -> None:
    objects.put(f"s3://{BUCKET}/model/model.tar.gz", tar_gz({"model.json": json.dumps({"factor": 10})}))
    objects.put(f"s3://{BUCKET}/code/sourcedir.tar.gz", tar_gz({"inference.py": script}))
    ModelRegistry.from_config(ctx.config).create_model(
        {
            "ModelName": name,
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/Role",
            "PrimaryContainer": {
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "ModelDataUrl": f"s3://{BUCKET}/model/model.tar.gz",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/code/sourcedir.tar.gz",
                    **env,
                },
            },
        }
    )


def transform_arguments(
    input_uri: str,
    *,
    split: str | None,
    strategy: str | None,
    assemble: str | None,
    content_type: str = "text/csv",
    accept: str | None = None,
    max_payload: int | None = None,
) -> dict[str, Any]:
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
        "ContentType": content_type,
    }
    if split:
        transform_input["SplitType"] = split
    output: dict[str, Any] = {"S3OutputPath": f"s3://{BUCKET}/predictions"}
    if assemble:
        output["AssembleWith"] = assemble
    if accept:
        output["Accept"] = accept
    arguments: dict[str, Any] = {
        "ModelName": "model-1",
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
    }
    if strategy:
        arguments["BatchStrategy"] = strategy
    if max_payload is not None:
        arguments["MaxPayloadInMB"] = max_payload
    return arguments


def run(ctx: RunContext, arguments: dict[str, Any], job_name: str = "transform-1") -> dict[str, Any]:
    result = TransformRunner().run(request("Transform", arguments, name="Batch", job_name=job_name), ctx)
    assert result.metadata == {"TransformJob": {"Arn": result.properties["TransformJobArn"]}}
    return result.properties


@pytest.fixture
def csv_inputs(job_ctx: RunContext, objects: LocalObjectStore) -> str:
    register_model(job_ctx, objects, INFERENCE)
    objects.put(f"s3://{BUCKET}/batch/a.csv", b"1,x\n2,y\n3,z\n")
    objects.put(f"s3://{BUCKET}/batch/sub/b.csv", b"4,x\n")
    return f"s3://{BUCKET}/batch"


@pytest.mark.parametrize(
    ("split", "strategy", "assemble", "expected_a"),
    [
        (None, None, None, b"3:60"),  # the whole file is one record
        ("None", "SingleRecord", "Line", b"3:60\n"),
        ("Line", "SingleRecord", "Line", b"1:10\n1:20\n1:30\n"),
        ("Line", "SingleRecord", None, b"1:101:201:30"),
        ("Line", "MultiRecord", "Line", b"3:60\n"),
    ],
)
def test_split_batch_and_assemble(
    job_ctx: RunContext,
    objects: LocalObjectStore,
    csv_inputs: str,
    split: str | None,
    strategy: str | None,
    assemble: str | None,
    expected_a: bytes,
) -> None:
    props = run(job_ctx, transform_arguments(csv_inputs, split=split, strategy=strategy, assemble=assemble))
    assert objects.get(f"s3://{BUCKET}/predictions/a.csv.out") == expected_a
    assert objects.get(f"s3://{BUCKET}/predictions/sub/b.csv.out").startswith(b"1:40")
    assert props["TransformJobStatus"] == "Completed"
    assert props["ModelName"] == "model-1"
    assert shape_problems("DescribeTransformJob", props) == []


def test_multi_record_batches_respect_max_payload(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    register_model(job_ctx, objects, INFERENCE)
    line = b"1," + b"x" * 299_998  # 300 kB per record: three fit in 1 MB
    objects.put(f"s3://{BUCKET}/big/rows.csv", b"\n".join([line] * 7) + b"\n")
    arguments = transform_arguments(
        f"s3://{BUCKET}/big/", split="Line", strategy="MultiRecord", assemble="Line", max_payload=1
    )
    run(job_ctx, arguments)
    assert objects.get(f"s3://{BUCKET}/predictions/rows.csv.out") == b"3:30\n3:30\n1:10\n"


def _recordio(values: list[int]) -> bytes:
    out = b""
    for value in values:
        data = str(value).encode()
        out += struct.pack("<II", 0xCED7230A, len(data)) + data + b"\0" * (-len(data) % 4)
    return out


def _tfrecord(values: list[int]) -> bytes:
    out = b""
    for value in values:
        data = str(value).encode()
        out += struct.pack("<Q", len(data)) + b"crc!" + data + b"crc!"
    return out


@pytest.mark.parametrize(
    ("split", "content_type", "encode"),
    [("RecordIO", "application/x-recordio", _recordio), ("TFRecord", "application/x-tfrecord", _tfrecord)],
)
def test_recordio_and_tfrecord_are_split_on_record_boundaries(
    job_ctx: RunContext, objects: LocalObjectStore, split: str, content_type: str, encode: Any
) -> None:
    register_model(job_ctx, objects, INFERENCE)
    objects.put(f"s3://{BUCKET}/records/data.rec", encode([5, 123, 7]))
    single = transform_arguments(
        f"s3://{BUCKET}/records",
        split=split,
        strategy="SingleRecord",
        assemble="Line",
        content_type=content_type,
    )
    run(job_ctx, single)
    assert objects.get(f"s3://{BUCKET}/predictions/data.rec.out") == b"1:50\n1:1230\n1:70\n"
    multi = dict(single, BatchStrategy="MultiRecord")
    run(job_ctx, multi, job_name="transform-2")
    assert objects.get(f"s3://{BUCKET}/predictions/data.rec.out") == b"3:1350\n"


def test_default_handlers_decode_csv_and_encode_json(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    register_model(job_ctx, objects, DEFAULTS)
    objects.put(f"s3://{BUCKET}/plain/rows.csv", b"1,2\n3,4\n")
    arguments = transform_arguments(
        f"s3://{BUCKET}/plain/rows.csv",
        split="Line",
        strategy="MultiRecord",
        assemble="Line",
        accept="application/json",
    )
    run(job_ctx, arguments)
    assert json.loads(objects.get(f"s3://{BUCKET}/predictions/rows.csv.out")) == [6.0, 14.0]
    csv_out = dict(
        arguments, TransformOutput={"S3OutputPath": f"s3://{BUCKET}/predictions", "Accept": "text/csv"}
    )
    run(job_ctx, csv_out, job_name="transform-csv")
    assert objects.get(f"s3://{BUCKET}/predictions/rows.csv.out") == b"6.0\n14.0\n"


def test_handler_errors_and_missing_models_fail_clearly(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    register_model(
        job_ctx, objects, "def model_fn(model_dir):\n    raise RuntimeError('weights are corrupt')\n"
    )
    objects.put(f"s3://{BUCKET}/plain/rows.csv", b"1,2\n")
    arguments = transform_arguments(f"s3://{BUCKET}/plain", split="Line", strategy=None, assemble=None)
    with pytest.raises(AlgorithmError, match=r"loading the model: RuntimeError: weights are corrupt"):
        run(job_ctx, arguments)

    with pytest.raises(JobRequestError, match=r"model 'absent' cannot be found in the local model registry"):
        run(job_ctx, dict(arguments, ModelName="absent"))

    filtered = dict(arguments, DataProcessing={"InputFilter": "$[1:]", "JoinSource": "None"})
    with pytest.raises(JobRequestError, match=r"DataProcessing.InputFilter .* is not supported locally"):
        run(job_ctx, filtered)
    assert TransformRunner().check(request("Transform", filtered).step, job_ctx.config) is not None
