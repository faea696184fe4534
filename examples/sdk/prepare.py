"""The processing script of examples/sdk: splits numbers into a train file and writes a toy
"model" archive, printing what it does (the lines `wait(logs=True)` shows)."""

import json
import pathlib
import tarfile

out = pathlib.Path("/opt/ml/processing/output")
out.mkdir(parents=True, exist_ok=True)
numbers = list(range(1, 11))
(out / "train.json").write_text(json.dumps(numbers))
print(f"prepared {len(numbers)} numbers")
weights = out / "weights.json"
weights.write_text(json.dumps({"mean": sum(numbers) / len(numbers)}))
with tarfile.open(out / "model.tar.gz", "w:gz") as archive:
    archive.add(weights, arcname="weights.json")
print("wrote model.tar.gz")
