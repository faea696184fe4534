"""The fixed overhead of a Spark job (an EMR step on local Spark), and what the runtime adds to it.

A PySpark script that starts a session, counts one row and stops is the smallest real Spark job.
It runs N times each way, interleaved so that the machine's load hits both alike:

1. **bare**: ``spark-submit --master local[*] --conf spark.ui.enabled=false job.py``, as a user
   would type it (JVM start, Python driver, SparkSession start and stop);
2. **step**: the same script as an EMR step (``command-runner.jar spark-submit s3://.../job.py``)
   through ``EMRRunner.run``: refusal checks, the command rewrite, the object-root mapping of
   ``s3://`` (the script itself is read through it), the job's namespace and log, the job records.

Printed: median and min of each, and the runtime's own share (step - bare, medians). The job's
fixed overhead is the step's median; the target is on what the runtime adds (<= 1.5 s), since
the JVM and session start-up are Spark's. Process CPU time (user+sys of the children) is printed
too: unlike wall time it is not inflated by a loaded machine.

Run: .venv/bin/python benchmarks/spark.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared"))

from pipelines.config import Config  # noqa: E402
from pipelines.definition.models import EMRStep  # noqa: E402
from pipelines.objects import LocalObjectStore  # noqa: E402
from pipelines.runners.base import RunContext, StepRequest  # noqa: E402
from pipelines.runners.spark import EMRRunner  # noqa: E402
from pipelines.runners.spark.install import spark_install  # noqa: E402

TARGET_ADDED_SECONDS = 1.5
JOB = b"""from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
assert spark.range(1).count() == 1
spark.stop()
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare(config: Config, script: Path) -> tuple[float, float]:
    spark = spark_install(config)
    env = {
        **os.environ,
        "SPARK_HOME": str(spark.home),
        "PYSPARK_PYTHON": spark.python,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    argv = [str(spark.spark_submit), "--master", "local[*]", "--conf", "spark.ui.enabled=false", str(script)]
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run(argv, env=env, cwd=script.parent, check=True, capture_output=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def step(config: Config, objects: LocalObjectStore, index: int) -> tuple[float, float]:
    arguments = {
        "ClusterId": "j-1BENCHMARKAAA",
        "StepConfig": {
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "s3://bench/job.py"]}
        },
    }
    definition = EMRStep.model_validate({"Name": "Spark", "Type": "EMR", "Arguments": arguments})
    request = StepRequest(
        pipeline_name="bench",
        pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/bench",
        execution_id="bench",
        execution_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/bench/execution/bench",
        step=definition,
        arguments=arguments,
        job_name=f"spark-bench-{index}",
        attempt=1,
    )
    cpu, started = _children_cpu(), time.perf_counter()
    EMRRunner().run(request, RunContext(config=config, objects=objects))
    return time.perf_counter() - started, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp:
        root = Path(tmp)
        config = Config(state_dir=root / "state", object_root=root / "objects", base_dir=root)
        objects = LocalObjectStore(config.object_root)
        objects.put("s3://bench/job.py", JOB)
        script = root / "job.py"
        script.write_bytes(JOB)
        spark = spark_install(config)
        print(f"local Spark: {spark.describe()}")
        bare_runs, step_runs = [], []
        for index in range(args.repeat):
            bare_runs.append(bare(config, script))
            step_runs.append(step(config, objects, index))
            print(
                f"  run {index + 1}: bare {bare_runs[-1][0]:.2f} s ({bare_runs[-1][1]:.2f} s CPU), "
                f"step {step_runs[-1][0]:.2f} s ({step_runs[-1][1]:.2f} s CPU)"
            )
    bare_median = statistics.median(t for t, _ in bare_runs)
    step_median = statistics.median(t for t, _ in step_runs)
    added = step_median - bare_median
    print(
        f"bare spark-submit: median {bare_median:.2f} s, min {min(t for t, _ in bare_runs):.2f} s, "
        f"CPU median {statistics.median(c for _, c in bare_runs):.2f} s"
    )
    print(
        f"EMR step (EMRRunner.run): median {step_median:.2f} s, min {min(t for t, _ in step_runs):.2f} s, "
        f"CPU median {statistics.median(c for _, c in step_runs):.2f} s"
    )
    verdict = "OK" if added <= TARGET_ADDED_SECONDS else "MISSED"
    print(
        f"spark job fixed overhead: {step_median:.2f} s, of which the runtime adds {added:+.2f} s "
        f"(target: runtime adds <= {TARGET_ADDED_SECONDS:.1f} s): {verdict}"
    )


if __name__ == "__main__":
    main()
