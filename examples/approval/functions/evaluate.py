"""Lambda handler: score a candidate model on a small validation set shipped with the example.

Each row of the CSV holds the true label and the model's score; a score at or above the
decision threshold predicts 1. Returns accuracy, the row count and the confusion counts
(a nested object, which the step's String output receives as JSON text).

``validation_data`` is a path relative to the example (the shipped ``data/validation.csv``,
packaged with the function when deployed) or an ``s3://bucket/key`` URI (an uploaded file, as
the deployed example's S3 trigger passes it).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

EXAMPLE_ROOT = Path(__file__).resolve().parent.parent


def read_validation_data(location: str) -> tuple[str, str]:
    """(name, CSV text) of the validation set at ``location``."""
    if location.startswith("s3://"):
        import boto3  # the Lambda runtime ships it; only S3 inputs need it

        bucket, _, key = location.removeprefix("s3://").partition("/")
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return key.rpartition("/")[2], body.decode("utf-8")
    path = Path(location)
    if not path.is_absolute():
        path = EXAMPLE_ROOT / path  # relative to the example, not to wherever the runtime started
    return path.name, path.read_text(encoding="utf-8")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name, text = read_validation_data(str(event["validation_data"]))
    threshold = float(event["threshold"])
    counts = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    for row in csv.DictReader(io.StringIO(text, newline="")):
        actual = row["label"] == "1"
        predicted = float(row["score"]) >= threshold
        counts[("t" if actual == predicted else "f") + ("p" if predicted else "n")] += 1
    rows = sum(counts.values())
    if rows == 0:
        raise ValueError(f"{name} has no rows")
    accuracy = (counts["tp"] + counts["tn"]) / rows
    print(f"evaluated {rows} rows from {name}: accuracy {accuracy:.4f}")
    return {"accuracy": round(accuracy, 4), "rows": rows, "confusion": counts}
