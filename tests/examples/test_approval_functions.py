"""The approval example's Evaluate step reads its validation set from the example folder (the
default, packaged with the deployed function) or from S3 (an upload, as the deployed example's
trigger passes it), with the same result."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import boto3
from moto import mock_aws

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "approval"


def _evaluate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("approval_evaluate", EXAMPLE / "functions" / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluate_reads_the_packaged_file_and_an_uploaded_object_alike() -> None:
    evaluate = _evaluate()
    local = evaluate.handler({"validation_data": "data/validation.csv", "threshold": 0.5}, None)
    assert local["rows"] == 200 and local["accuracy"] == 0.905
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="uploads")
        s3.put_object(
            Bucket="uploads", Key="incoming/v.csv", Body=(EXAMPLE / "data" / "validation.csv").read_bytes()
        )
        uploaded = evaluate.handler(
            {"validation_data": "s3://uploads/incoming/v.csv", "threshold": 0.5}, None
        )
    assert uploaded == local
