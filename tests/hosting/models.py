"""Tiny models trained in the tests, packed as SageMaker model data (``model.tar.gz``)."""

from __future__ import annotations

import io
import pickle
import tarfile
import textwrap
from typing import Any

import numpy as np

SKLEARN_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"

SKLEARN_INFERENCE = textwrap.dedent(
    """
    import os
    import pickle

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
            return pickle.load(f)
    """
)

# every handler of the chain, so the test sees each one ran
CUSTOM_INFERENCE = textwrap.dedent(
    """
    import json
    import os
    import pickle

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
            return pickle.load(f)

    def input_fn(body, content_type):
        assert content_type == "application/json", content_type
        return json.loads(body)["rows"]

    def predict_fn(rows, model):
        return [float(v) for v in model.predict(rows)]

    def output_fn(prediction, accept):
        return json.dumps({"predictions": prediction, "accept": accept})
    """
)

BROKEN_INFERENCE = textwrap.dedent(
    """
    def model_fn(model_dir):
        raise RuntimeError("weights are corrupt")
    """
)


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def linear_data() -> tuple[np.ndarray, np.ndarray]:
    """y = x0 + 2 x1 + 3, exactly."""
    x = np.array([[i, (i * 7) % 5] for i in range(20)], dtype=float)
    return x, x @ np.array([1.0, 2.0]) + 3.0


def sklearn_model_data(inference: str = SKLEARN_INFERENCE) -> bytes:
    from sklearn.linear_model import LinearRegression

    x, y = linear_data()
    model = LinearRegression().fit(x, y)
    return tar_gz({"model.pkl": pickle.dumps(model), "code/inference.py": inference.encode()})


XGBOOST_INFERENCE = textwrap.dedent(
    """
    import os

    import xgboost as xgb

    def model_fn(model_dir):
        booster = xgb.Booster()
        booster.load_model(os.path.join(model_dir, "xgboost-model"))
        return booster
    """
)


def xgboost_model_data(inference: str | None = None) -> bytes:
    """An XGBoost Booster saved as the built-in algorithm saves it (no inference script)."""
    import tempfile

    import xgboost as xgb

    x, y = linear_data()
    booster = xgb.train(
        {"objective": "reg:squarederror", "max_depth": 3, "eta": 1.0},
        xgb.DMatrix(x, label=y),
        num_boost_round=30,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/xgboost-model.json"
        booster.save_model(path)
        with open(path, "rb") as f:
            files = {"xgboost-model": f.read()}
    if inference is not None:
        files["code/inference.py"] = inference.encode()
    return tar_gz(files)


def model_request(name: str, image: str, model_data_url: str, **environment: str) -> dict[str, Any]:
    container: dict[str, Any] = {"Image": image, "ModelDataUrl": model_data_url}
    if environment:
        container["Environment"] = environment
    return {
        "ModelName": name,
        "PrimaryContainer": container,
        "ExecutionRoleArn": "arn:aws:iam::000000000000:role/pipelines",
    }
