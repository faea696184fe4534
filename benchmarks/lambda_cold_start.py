"""The deployed Lambdas' size and import cost, from what `cdk deploy` uploads.

Synthesizes the example stack for this machine's architecture with the CDK CLI (as the tests
do, ``tests/deploy_artifacts.py``), then
prints the core layer's unzipped size and, for each Python handler, the median time to import it
in a fresh python3.12 process whose ``sys.path`` holds only its function and layer directories
(the import share of a cold start; Lambda's own init adds to it).

    .venv/bin/python benchmarks/lambda_cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    assembly = synthesized(HOST_EXAMPLE)
    variant = HOST_EXAMPLE.name
    for logical_id, layer in layers(assembly).items():
        print(
            f"lambda_cold_start: variant={variant} layer={logical_id} unzipped_mb={directory_megabytes(layer):.1f}"
        )
    with tempfile.TemporaryDirectory() as scratch:
        for logical_id, function in sorted(python_functions(assembly).items()):
            if not function.layer_dirs:  # the example's own steps
                continue
            probes = [probe_handler(function, Path(scratch)) for _ in range(args.runs)]
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


if __name__ == "__main__":
    main()
