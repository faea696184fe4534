"""Serving the approval example's model on SageMaker's scikit-learn container (or locally).

The model is the example's decision rule: a score at or above ``decision_threshold`` (the
``model.json`` next to ``code/`` in the model archive) predicts 1, as ``functions/evaluate.py``
scores it. Requests are CSV rows whose last column is the score (``label,score`` rows from
``data/validation.csv`` work as they are, so does a bare score); the answer is one 0/1 per row.
The container finds this file through ``SAGEMAKER_PROGRAM=inference.py`` and
``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``, which the example's RegisterModel step sets.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

CSV = "text/csv"


def model_fn(model_dir: str) -> dict[str, Any]:
    return dict(json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8")))


def input_fn(body: str | bytes, content_type: str = CSV) -> list[float]:
    if content_type != CSV:
        raise ValueError(f"unsupported content type {content_type!r}: send {CSV}")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    return [float(row[-1]) for row in rows if row[-1].strip().lower() != "score"]


def predict_fn(scores: list[float], model: dict[str, Any]) -> list[int]:
    threshold = float(model["decision_threshold"])
    return [1 if score >= threshold else 0 for score in scores]


def output_fn(predictions: list[int], accept: str = CSV) -> str:
    if accept not in (CSV, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}: ask for {CSV}")
    return "".join(f"{value}\n" for value in predictions)
