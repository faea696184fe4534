"""Evaluation step: score the trained model on the test split and write evaluation.json.

The pipeline reads ``regression_metrics.mse.value`` from that file (a PropertyFile) to decide
whether the model is registered.
"""

import json
import pathlib
import tarfile

import joblib
import numpy as np

BASE = pathlib.Path("/opt/ml/processing")

if __name__ == "__main__":
    with tarfile.open(BASE / "model" / "model.tar.gz") as archive:
        archive.extractall(path=".", filter="data")
    model = joblib.load("model.joblib")
    test = np.loadtxt(BASE / "test" / "test.csv", delimiter=",", ndmin=2)
    y_true, features = test[:, 0], test[:, 1:]
    errors = (model.predict(features) - y_true) ** 2
    report = {
        "regression_metrics": {
            "mse": {"value": float(errors.mean()), "standard_deviation": float(errors.std())}
        }
    }
    output = BASE / "evaluation"
    output.mkdir(parents=True, exist_ok=True)
    (output / "evaluation.json").write_text(json.dumps(report))
    print(f"test mse: {report['regression_metrics']['mse']['value']:.2f}")
