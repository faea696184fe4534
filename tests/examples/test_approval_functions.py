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
    return _load("approval_evaluate", EXAMPLE / "functions" / "evaluate.py")


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
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


def test_the_registered_model_serves_the_rule_evaluate_scores(tmp_path: Path) -> None:
    """The model archive the deployed example registers (examples/approval/model, unpacked as
    SageMaker unpacks it into /opt/ml/model): its inference.py predicts what Evaluate counts."""
    import csv
    import tarfile

    from infra.packaging import model_archive

    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(model_archive(EXAMPLE / "model", tmp_path / "build"), "r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    inference = _load("approval_inference", model_dir / "code" / "inference.py")
    body = (EXAMPLE / "data" / "validation.csv").read_bytes()
    model = inference.model_fn(str(model_dir))
    predictions = inference.predict_fn(inference.input_fn(body, "text/csv"), model)
    answer = inference.output_fn(predictions, "text/csv")

    rows = list(csv.DictReader(body.decode().splitlines()))
    assert answer.splitlines() == ["1" if float(r["score"]) >= 0.5 else "0" for r in rows]
    correct = sum(str(p) == r["label"] for p, r in zip(predictions, rows, strict=True))
    assert (
        correct / len(rows)
        == _evaluate().handler({"validation_data": "data/validation.csv", "threshold": 0.5}, None)["accuracy"]
    )
