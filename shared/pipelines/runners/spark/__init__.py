"""Spark on this machine: EMR and EMRServerless steps run as local spark-submit jobs.

- ``emr.py``: an EMR step whose ``HadoopJarStep`` is ``command-runner.jar`` ``spark-submit ...``
  (client or cluster deploy mode, on a ``ClusterId`` or a ``ClusterConfig``); any other jar or
  command is refused before the run, naming the step.
- ``emr_serverless.py``: an EMRServerless step's ``sparkSubmit`` job (``entryPoint``,
  ``entryPointArguments``, ``sparkSubmitParameters``); Hive jobs are refused.
- ``submit.py``: spark-submit's command line, parsed as Spark parses it and rewritten for a
  local master (client mode, the runtime's confs first, the step's options winning).
- ``objectroot.py``: ``s3://``/``s3a://``/``s3n://`` mapped onto the object root through the
  bundled Hadoop's ``ViewFileSystemOverloadScheme`` (no S3 connector is needed or used).
- ``job.py``: what both runners share: ``SparkStepRunner`` (``check`` is the step's refusal, then
  whether Spark runs here; ``label`` names the job, builds its metadata and refuses before the
  run) and the run itself, as a local job (sandbox, log, stop, timeout: runners/jobs), its job
  record (kinds ``EMRStep`` and ``EMRServerlessJobRun``, so ``pipelines logs`` prints the
  driver log) and its FailureReason (exit code and the driver log's last error lines).
- ``install.py``: which spark-submit and Java run the jobs (pyspark from requirements-spark.txt,
  or ``[spark] spark_home``; Java 17+ for Spark 4), refused with an install hint when missing.
- ``ids.py``: cluster, step, application and job-run IDs in the services' formats.

``docs/spark.md`` is the user's guide: what runs, the ``s3://`` mapping and its limits, the
``[spark]`` config table and what the install costs.
"""

from __future__ import annotations

from pipelines.runners.spark.emr import EMRRunner
from pipelines.runners.spark.emr_serverless import EMRServerlessRunner

RUNNERS = [EMRRunner(), EMRServerlessRunner()]
"""Picked up by ``pipelines.runners.registry.default_registry``."""

__all__ = ["RUNNERS", "EMRRunner", "EMRServerlessRunner"]
