"""The fixed overhead of a Spark job (an EMR step on local Spark), and what the runtime adds to it.

A PySpark script that starts a session, counts one row and stops is the smallest real Spark job.
It runs N times each way, interleaved so that the machine's load hits both alike:

1. **bare**: ``spark-submit --master local[*] --conf spark.ui.enabled=false job.py``, as a user
   would type it (JVM start, Python driver, SparkSession start and stop);
2. **step**: the same script as an EMR step (``command-runner.jar spark-submit s3://.../job.py``)
   through ``EMRRunner.run``: refusal checks, the command rewrite, the object-root mapping of
   ``s3://`` (the script itself is read through it), the job's namespace and log, the job records.

Both use ``[spark] java_options`` (the runtime's default JVM options); one more bare run with
the JVM's own defaults shows what that tuning saves. Printed: median and min wall time and the
median CPU time (user+sys of the child processes) of each. The job's fixed overhead is the
step's median. The target is on what the runtime adds to Spark's own start-up, in CPU time
(<= 1.0 s): on a shared machine wall time is inflated by the load, CPU time much less.

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

TARGET_ADDED_CPU_SECONDS = 1.0
JOB = b"""from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
assert spark.range(1).count() == 1
spark.stop()
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare(config: Config, script: Path, java_options: str) -> tuple[float, float]:
    spark = spark_install(config)
    env = {
        **os.environ,
        "SPARK_HOME": str(spark.home),
        "PYSPARK_PYTHON": spark.python,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_SUBMIT_OPTS": java_options,
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
        java_options = config.spark.java_options
        for index in range(args.repeat):
            bare_runs.append(bare(config, script, java_options))
            step_runs.append(step(config, objects, index))
            print(
                f"  run {index + 1}: bare {bare_runs[-1][0]:.2f} s ({bare_runs[-1][1]:.2f} s CPU), "
                f"step {step_runs[-1][0]:.2f} s ({step_runs[-1][1]:.2f} s CPU)"
            )
        untuned = bare(config, script, "")
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
    bare_cpu = statistics.median(c for _, c in bare_runs)
    step_cpu = statistics.median(c for _, c in step_runs)
    print(
        f"bare spark-submit with the JVM's default options (no [spark] java_options): {untuned[0]:.2f} s, "
        f"{untuned[1]:.2f} s CPU ({untuned[1] / bare_cpu:.1f}x the tuned CPU)"
    )
    print(f"wall time the runtime adds (median step - median bare): {added:+.2f} s")
    added_cpu = step_cpu - bare_cpu
    verdict = "OK" if added_cpu <= TARGET_ADDED_CPU_SECONDS else "MISSED"
    print(
        f"spark job fixed overhead: {step_median:.2f} s wall, {step_cpu:.2f} s CPU, of which the runtime "
        f"adds {added_cpu:+.2f} s CPU (target: runtime adds <= {TARGET_ADDED_CPU_SECONDS:.1f} s CPU): {verdict}"
    )


if __name__ == "__main__":
    main()
