"""The deployed Lambdas' size and import cost, from what `cdk deploy` uploads.

Synthesizes the example stack for this machine's architecture with the CDK CLI (as the tests
do, ``tests/deploy_artifacts.py``), then
prints each layer's size zipped (as ``cdk deploy`` uploads it) and unzipped (what counts against
Lambda's 250 MB), each function's total, and, for each Python handler, the median time to import
it in a fresh python3.12 process whose ``sys.path`` holds only its function and layer directories
(the import share of a cold start; Lambda's own init adds to it). For the engine it also times
what the first write of an execution with MlflowConfig imports lazily (mlflow and the
sagemaker-mlflow plugin, from the MLflow layer): executions without MlflowConfig never pay it.

    .venv/bin/python benchmarks/lambda_cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.deploy_artifacts import (
    HOST_EXAMPLE,
    directory_megabytes,
    layers,
    probe_handler,
    python_functions,
    synthesized,
)

MLFLOW_MODULES = ("mlflow.tracking", "sagemaker_mlflow")
"""What the engine imports on its writing thread for an execution with MlflowConfig."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    assembly = synthesized(HOST_EXAMPLE)
    variant = HOST_EXAMPLE.name
    with tempfile.TemporaryDirectory() as scratch:
        for logical_id, layer in layers(assembly).items():
            print(
                f"lambda_cold_start: variant={variant} layer={logical_id} "
                f"zipped_mb={zipped_megabytes(layer, Path(scratch)):.1f} "
                f"unzipped_mb={directory_megabytes(layer):.1f}"
            )
        for logical_id, function in sorted(python_functions(assembly).items()):
            if not function.layer_dirs:  # the example's own steps
                continue
            total = directory_megabytes(function.code_dir) + sum(
                map(directory_megabytes, function.layer_dirs)
            )
            print(
                f"lambda_cold_start: variant={variant} function={logical_id} layers={len(function.layer_dirs)} "
                f"unzipped_total_mb={total:.1f} limit_mb=250"
            )
            lazy = MLFLOW_MODULES if "Engine" in logical_id else ()
            probes = [probe_handler(function, Path(scratch), then_import=lazy) for _ in range(args.runs)]
            errors = sorted({e for p in probes for e in p.errors})
            millis = [p.import_seconds * 1000 for p in probes]
            cpu = [p.import_cpu_seconds * 1000 for p in probes]
            modules = len(probes[0].loaded)
            print(
                f"lambda_cold_start: variant={variant} function={logical_id} "
                f"import_ms_median={statistics.median(millis):.0f} import_ms_min={min(millis):.0f} "
                f"import_cpu_ms_median={statistics.median(cpu):.0f} "
                f"modules={modules} runs={args.runs} errors={len(errors)}"
            )
            for error in errors:
                print(f"  {error.splitlines()[0]}")
            if lazy:
                first_write = [sum(i["seconds"] for i in p.then_import.values()) * 1000 for p in probes]
                first_cpu = [sum(i["cpu_seconds"] for i in p.then_import.values()) * 1000 for p in probes]
                print(
                    f"lambda_cold_start: variant={variant} function={logical_id} "
                    f"lazy_mlflow_import_ms_median={statistics.median(first_write):.0f} "
                    f"lazy_mlflow_import_cpu_ms_median={statistics.median(first_cpu):.0f} "
                    f"mlflow_loaded_at_handler_import={any(m == 'mlflow' for p in probes for m in p.loaded_at_import)}"
                )


def zipped_megabytes(directory: Path, scratch: Path) -> float:
    """The directory zipped with deflate, as the CDK zips an asset for upload."""
    archive = scratch / f"{directory.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(directory))
    size = archive.stat().st_size / 1e6
    archive.unlink()
    return size


if __name__ == "__main__":
    main()
