"""Lambda handler: score a candidate model on a small validation set shipped with the example.

Each row of the CSV holds the true label and the model's score; a score at or above the
decision threshold predicts 1. Returns accuracy, the row count and the confusion counts
(a nested object, which the step's String output receives as JSON text).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

EXAMPLE_ROOT = Path(__file__).resolve().parent.parent


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = Path(event["validation_data"])
    if not path.is_absolute():
        path = EXAMPLE_ROOT / path  # relative to the example, not to wherever the runtime started
    threshold = float(event["threshold"])
    counts = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            actual = row["label"] == "1"
            predicted = float(row["score"]) >= threshold
            counts[("t" if actual == predicted else "f") + ("p" if predicted else "n")] += 1
    rows = sum(counts.values())
    if rows == 0:
        raise ValueError(f"{path} has no rows")
    accuracy = (counts["tp"] + counts["tn"]) / rows
    print(f"evaluated {rows} rows from {path.name}: accuracy {accuracy:.4f}")
    return {"accuracy": round(accuracy, 4), "rows": rows, "confusion": counts}
