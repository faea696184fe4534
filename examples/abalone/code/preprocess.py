"""Preprocessing step: split a regression data set into train / validation / test (+ batch).

Written as a SageMaker Processing script: it writes only below /opt/ml/processing/ and the
pipeline uploads each folder. The data is scikit-learn's diabetes data set (shipped with
scikit-learn, so the example needs no download); the target is the first CSV column and no
file has a header, as SageMaker's built-in and framework containers expect.
"""

import argparse
import pathlib

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

BASE = pathlib.Path("/opt/ml/processing")

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    args = parser.parse_args()

    features, target = load_diabetes(return_X_y=True, as_frame=True)
    frame = pd.concat([target.rename("target"), features], axis=1)
    shuffled = frame.sample(frac=1.0, random_state=args.seed).reset_index(drop=True)
    n_test = int(len(shuffled) * args.test_fraction)
    test = shuffled.iloc[:n_test]
    validation = shuffled.iloc[n_test : 2 * n_test]
    train = shuffled.iloc[2 * n_test :]
    print(f"rows: train={len(train)} validation={len(validation)} test={len(test)}")

    for name, part in (("train", train), ("validation", validation), ("test", test)):
        folder = BASE / name
        folder.mkdir(parents=True, exist_ok=True)
        part.to_csv(folder / f"{name}.csv", header=False, index=False)
    batch = BASE / "batch"
    batch.mkdir(parents=True, exist_ok=True)
    np.savetxt(batch / "batch.csv", test.drop(columns=["target"]).to_numpy(), delimiter=",")
