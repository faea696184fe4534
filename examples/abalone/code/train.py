"""Training script in SageMaker framework script mode, and the model's inference handler.

Run as ``train.py --n_estimators 100 ...`` by the scikit-learn container (the hyperparameters
become arguments); the channels and the model folder come from the SM_* variables. The same
file serves the model in a batch transform: ``model_fn`` loads it, the container's default
input_fn/predict_fn/output_fn do CSV in and out.
"""

import argparse
import os
import pathlib

import joblib
import numpy as np
from sklearn.ensemble import GradientBoostingRegressor


def read(channel: str) -> tuple[np.ndarray, np.ndarray]:
    folder = pathlib.Path(os.environ[f"SM_CHANNEL_{channel.upper()}"])
    data = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2) for path in sorted(folder.glob("*.csv"))])
    return data[:, 1:], data[:, 0]


def model_fn(model_dir: str) -> GradientBoostingRegressor:
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    args = parser.parse_args()

    x_train, y_train = read("train")
    x_validation, y_validation = read("validation")
    model = GradientBoostingRegressor(
        n_estimators=args.n_estimators,
        max_depth=args.max_depth,
        learning_rate=args.learning_rate,
        random_state=0,
    )
    model.fit(x_train, y_train)
    train_mse = float(np.mean((model.predict(x_train) - y_train) ** 2))
    validation_mse = float(np.mean((model.predict(x_validation) - y_validation) ** 2))
    print(f"train:mse={train_mse:.4f}")
    print(f"validation:mse={validation_mse:.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
