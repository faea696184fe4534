"""EMR and EMRServerless steps end to end on local Spark: real spark-submit runs of PySpark
scripts written here, through ``pipelines run``.

Every Spark run costs a JVM and a Python driver, so the module makes few of them (five) and
keeps each small: two EMR steps of one SDK-made pipeline (client and cluster deploy mode, the
second on a ClusterConfig, reading the first's output through ``s3a://``), one EMRServerless job
(hand-written in the v3 SDK's shape), one failing job and one stopped job. The refusals run no
Spark at all. All of them run on one xdist worker, one after the other.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pipelines.api.embedded import build_embedded_api
from pipelines.cli import app
from pipelines.config import Config, load_config
from pipelines.objects import LocalObjectStore
from pipelines.runners.jobs.records import JobRecords
from typer.testing import CliRunner

from ..cli.helpers import BackgroundRun, wait_for
from .jobs.sdk_offline import load_generate_v2
from .spark_helpers import spark_processes

pytestmark = pytest.mark.xdist_group("spark")

BUCKET = "sales-data"
CLUSTER_ID = "j-1SPARKTESTAAA"
SALES = "product,units\nbolt,3\nnut,5\nbolt,4\nwasher,1\n"

TOTALS = """
import sys
from pyspark.sql import SparkSession, functions as F

source, target = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.appName("totals").getOrCreate()
rows = spark.read.option("header", True).option("inferSchema", True).csv(source)
print(f"COUNTED {rows.count()} rows from {source}")
totals = rows.groupBy("product").agg(F.sum("units").alias("units")).orderBy("product")
totals.coalesce(1).write.mode("overwrite").option("header", True).csv(target)
spark.stop()
"""

HELPERS = """
def headline(rows):
    return f"{len(rows)} products, {sum(r['units'] for r in rows)} units"
"""

REPORT = """
import os
import sys
from pyspark.sql import SparkSession
import helpers  # shipped with --py-files from the object store

source, target, upstream_state = sys.argv[1], sys.argv[2], sys.argv[3]
spark = SparkSession.builder.appName("report").getOrCreate()
rows = [r.asDict() for r in spark.read.option("header", True).option("inferSchema", True).csv(source).collect()]
report = {
    "headline": helpers.headline(rows),
    "team": spark.conf.get("spark.pipelines.team"),
    "master": spark.sparkContext.master,
    "deploy_mode": spark.conf.get("spark.submit.deployMode"),
    "upstream_state": upstream_state,
    "title": os.environ.get("REPORT_TITLE"),
}
spark.createDataFrame([report]).coalesce(1).write.mode("overwrite").json(target)
spark.stop()
"""

SERVERLESS = """
import argparse
import os
from pyspark.sql import SparkSession

parser = argparse.ArgumentParser()
parser.add_argument("--input")
parser.add_argument("--output")
parser.add_argument("--label")
args = parser.parse_args()
spark = SparkSession.builder.getOrCreate()
rows = spark.read.option("header", True).csv(args.input)
summary = {
    "label": args.label,
    "rows": rows.count(),
    "shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
    "mode": spark.conf.get("spark.pipelines.mode"),
    "owner": spark.conf.get("spark.pipelines.owner"),
    "source": spark.conf.get("spark.pipelines.source"),
    "region": os.environ.get("SALES_REGION"),
}
spark.createDataFrame([summary]).coalesce(1).write.mode("overwrite").json(args.output)
spark.stop()
"""

FAILS = """
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
elsewhere = "s3://" + "not-in-the-object-root" + "/x.csv"  # a bucket the command does not name
try:
    spark.read.csv(elsewhere).count()
except Exception as exc:
    print("UNMAPPED", str(exc).splitlines()[1])
spark.read.option("header", True).csv("s3://%s/in/missing.csv" % "sales-data").count()
"""

SLEEPS = """
import time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.range(3).count()
print("READY", flush=True)
time.sleep(600)
"""


def _definition(steps: list[dict[str, Any]], parameters: list[dict[str, Any]] | None = None) -> str:
    return json.dumps(
        {"Version": "2020-12-01", "Metadata": {}, "Parameters": parameters or [], "Steps": steps}
    )


def _emr_step(name: str, args: list[Any], jar: Any = "command-runner.jar") -> dict[str, Any]:
    """An EMR step in the shape the v2 SDK's EMRStep writes (ClusterId form)."""
    return {
        "Name": name,
        "Type": "EMR",
        "Arguments": {"ClusterId": CLUSTER_ID, "StepConfig": {"HadoopJarStep": {"Jar": jar, "Args": args}}},
    }


def _sdk_sales_pipeline(workdir: Path) -> str:
    """Two EMR steps made by the SageMaker SDK v2: Totals on a running cluster in client mode,
    Report on a pipeline-made cluster in cluster mode, fed Totals' output and its Status.State."""
    generate = load_generate_v2()
    with generate.offline_sdk(workdir) as session:
        from sagemaker.workflow.emr_step import EMRStep, EMRStepConfig
        from sagemaker.workflow.parameters import ParameterString
        from sagemaker.workflow.pipeline import Pipeline

        input_data = ParameterString(name="InputData", default_value=f"s3://{BUCKET}/in/sales.csv")
        totals = EMRStep(
            name="Totals",
            display_name="Totals per product",
            description="spark-submit in client mode on a running cluster",
            cluster_id=CLUSTER_ID,
            step_config=EMRStepConfig(
                jar="command-runner.jar",
                args=[
                    "spark-submit",
                    "--deploy-mode",
                    "client",
                    "--conf",
                    "spark.sql.shuffle.partitions=2",
                    f"s3://{BUCKET}/code/totals.py",
                    input_data,
                    f"s3://{BUCKET}/out/totals",
                ],
            ),
        )
        report = EMRStep(
            name="Report",
            display_name="Report",
            description="spark-submit in cluster mode on a cluster the pipeline creates",
            cluster_id=None,
            step_config=EMRStepConfig(
                jar="command-runner.jar",
                args=[
                    "spark-submit",
                    "--master",
                    "yarn",
                    "--deploy-mode",
                    "cluster",
                    "--py-files",
                    f"s3://{BUCKET}/code/helpers.py",
                    "--conf",
                    "spark.yarn.appMasterEnv.REPORT_TITLE=Weekly sales",
                    f"s3://{BUCKET}/code/report.py",
                    f"s3a://{BUCKET}/out/totals",
                    f"s3://{BUCKET}/out/report",
                    totals.properties.Status.State,
                ],
            ),
            cluster_config={
                "ReleaseLabel": "emr-7.1.0",
                "Applications": [{"Name": "Spark"}],
                "Instances": {
                    "InstanceGroups": [
                        {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}
                    ]
                },
                "Configurations": [
                    {"Classification": "spark-defaults", "Properties": {"spark.pipelines.team": "analytics"}},
                    {
                        "Classification": "yarn-site",
                        "Properties": {"yarn.nodemanager.vmem-check-enabled": "false"},
                    },
                ],
                "JobFlowRole": "EMR_EC2_DefaultRole",
                "ServiceRole": "EMR_DefaultRole",
            },
        )
        pipeline = Pipeline(
            name="SparkSales", parameters=[input_data], steps=[totals, report], sagemaker_session=session
        )
        return str(pipeline.definition())


def _serverless_pipeline() -> str:
    """An EMRServerless step in the v3 SDK's shape (tests/fixtures/sdk_v3/emr_serverless.json),
    with a Condition on its ``jobRun.state`` property."""
    role = "arn:aws:iam::123456789012:role/EMRServerlessJobRole"
    summarize = {
        "Name": "Summarize",
        "Type": "EMRServerless",
        "Arguments": {
            "ExecutionRoleArn": role,
            "JobConfig": {
                "executionRoleArn": role,
                "jobDriver": {
                    "sparkSubmit": {
                        "entryPoint": f"s3://{BUCKET}/code/serverless.py",
                        "entryPointArguments": [
                            "--input",
                            {"Get": "Parameters.InputData"},
                            "--output",
                            f"s3://{BUCKET}/out/summary",
                            "--label",
                            "q4",
                        ],
                        "sparkSubmitParameters": f"--conf spark.sql.shuffle.partitions=3 --conf spark.pipelines.mode=serverless --properties-file s3://{BUCKET}/code/job.conf"
                        " --conf spark.emr-serverless.driverEnv.SALES_REGION=emea",
                    }
                },
                "configurationOverrides": {
                    "applicationConfiguration": [
                        {
                            "classification": "spark-defaults",
                            "properties": {"spark.pipelines.owner": "ml-team"},
                        }
                    ],
                    "monitoringConfiguration": {
                        "s3MonitoringConfiguration": {"logUri": f"s3://{BUCKET}/logs/"}
                    },
                },
                "executionTimeoutMinutes": 30,
                "name": "summarize-sales",
                "tags": {"team": "ml"},
            },
            "ApplicationConfig": {"name": "pipeline-spark-app", "releaseLabel": "emr-7.1.0", "type": "SPARK"},
        },
    }
    check = {
        "Name": "CheckState",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "Equals",
                    "LeftValue": {"Get": "Steps.Summarize.jobRun.state"},
                    "RightValue": "SUCCESS",
                }
            ],
            "IfSteps": [],
            "ElseSteps": [
                {
                    "Name": "NotSucceeded",
                    "Type": "Fail",
                    "Arguments": {"ErrorMessage": "job run did not succeed"},
                }
            ],
        },
    }
    parameters = [{"Name": "InputData", "Type": "String", "DefaultValue": f"s3://{BUCKET}/in/sales.csv"}]
    return _definition([summarize, check], parameters)


class Project:
    """A folder with a config, an object root holding the data and the scripts, and a CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "pipelines.toml").write_text('state_dir = ".pipelines"\nobject_root = "objects"\n')
        self.config = load_config(root / "pipelines.toml")
        self.objects = LocalObjectStore(self.config.object_root)
        self.objects.put(f"s3://{BUCKET}/in/sales.csv", SALES.encode())
        for name, source in {
            "totals": TOTALS,
            "helpers": HELPERS,
            "report": REPORT,
            "serverless": SERVERLESS,
            "fails": FAILS,
            "sleeps": SLEEPS,
        }.items():
            self.objects.put(f"s3://{BUCKET}/code/{name}.py", textwrap.dedent(source).encode())
        self.objects.put(f"s3://{BUCKET}/code/job.conf", b"spark.pipelines.source properties-file\n")
        self.runner = CliRunner()

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def cli(self, *args: str) -> Any:
        result = self.runner.invoke(
            app, [*args, "--config", str(self.root / "pipelines.toml")], catch_exceptions=False
        )
        assert "Traceback (most recent call last)" not in result.stdout
        return result

    def run(self, definition: Path, *, exit_code: int) -> dict[str, Any]:
        result = self.cli("run", str(definition), "--json")
        assert result.exit_code == exit_code, result.output
        return json.loads(result.stdout)

    def json_output(self, prefix: str) -> dict[str, Any]:
        [part] = [uri for uri in self.objects.list(prefix) if uri.rsplit("/", 1)[1].startswith("part-")]
        return json.loads(self.objects.get(part))


def _steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["StepName"]: step for step in document["Steps"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return Project(tmp_path_factory.mktemp("spark"))


@pytest.fixture(scope="module")
def sales_run(project: Project, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    definition = project.write("sales.json", _sdk_sales_pipeline(tmp_path_factory.mktemp("sdk")))
    return project.run(definition, exit_code=0)


def test_emr_steps_in_both_deploy_modes_read_and_write_the_object_root(
    project: Project, sales_run: dict[str, Any]
) -> None:
    assert sales_run["Execution"]["PipelineExecutionStatus"] == "Succeeded"
    totals = project.objects.list(f"s3://{BUCKET}/out/totals/")
    [part] = [uri for uri in totals if uri.endswith(".csv")]
    assert project.objects.get(part).decode().splitlines() == ["product,units", "bolt,7", "nut,5", "washer,1"]
    assert f"s3://{BUCKET}/out/totals/_SUCCESS" in totals
    written = project.objects.list(f"s3://{BUCKET}/out/")
    assert not [uri for uri in written if uri.endswith(".crc") or "/_temporary" in uri], written

    report = project.json_output(f"s3://{BUCKET}/out/report/")
    assert report == {
        "headline": "3 products, 13 units",  # helpers.py came from the object store (--py-files)
        "team": "analytics",  # the ClusterConfig's spark-defaults classification
        "master": "local[*]",  # --master yarn runs locally
        "deploy_mode": "client",  # --deploy-mode cluster runs in client mode locally
        "upstream_state": "COMPLETED",  # Steps.Totals.Status.State
        "title": "Weekly sales",  # spark.yarn.appMasterEnv: the cluster-mode driver's environment
    }


def test_emr_step_metadata_and_records_name_the_cluster_step_and_driver_log(
    project: Project, sales_run: dict[str, Any]
) -> None:
    steps = _steps(sales_run)
    totals, report = steps["Totals"]["Metadata"]["EMR"], steps["Report"]["Metadata"]["EMR"]
    assert totals["ClusterId"] == CLUSTER_ID
    assert re.fullmatch(r"j-[0-9A-Z]{13}", report["ClusterId"]) and report["ClusterId"] != CLUSTER_ID
    for metadata in (totals, report):
        assert re.fullmatch(r"s-[0-9A-Z]{13}", metadata["StepId"])
        assert "Running Spark version" in Path(metadata["LogFilePath"]).read_text()
    assert "COUNTED 4 rows" in Path(totals["LogFilePath"]).read_text()
    assert totals["StepId"] != report["StepId"]

    records = JobRecords.from_config(project.config).for_execution(
        sales_run["Execution"]["PipelineExecutionArn"]
    )
    by_step = {record.step_name: record for record in records}
    assert {r.kind for r in records} == {"EMRStep"}
    assert by_step["Totals"].status == "Completed"
    described = by_step["Totals"].describe
    assert described["Id"] == totals["StepId"] and described["Name"] == totals["StepName"]
    assert described["Status"]["State"] == "COMPLETED"
    assert described["Config"]["Jar"] == "command-runner.jar"
    assert described["Config"]["Args"][-2] == f"s3://{BUCKET}/in/sales.csv"  # the parameter, resolved


def test_boto3_lists_the_emr_steps_metadata_through_pipelines_serve(
    project: Project, sales_run: dict[str, Any]
) -> None:
    server = build_embedded_api(project.config, strict_shapes=True).server(
        "127.0.0.1", 0, run_scheduler=False, resume=False
    )
    with server.start():
        client = boto3.client(
            "sagemaker",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        listed = client.list_pipeline_execution_steps(
            PipelineExecutionArn=sales_run["Execution"]["PipelineExecutionArn"]
        )["PipelineExecutionSteps"]
    served = {step["StepName"]: step for step in listed}
    for name, step in _steps(sales_run).items():
        assert served[name]["StepStatus"] == "Succeeded"
        assert served[name]["Metadata"]["EMR"] == step["Metadata"]["EMR"]


def test_pipelines_logs_prints_the_spark_driver_log(project: Project, sales_run: dict[str, Any]) -> None:
    execution = sales_run["Execution"]["PipelineExecutionId"]
    result = project.cli("logs", execution, "Totals")
    assert result.exit_code == 0, result.output
    assert f"COUNTED 4 rows from s3://{BUCKET}/in/sales.csv" in result.stdout
    assert "Running Spark version" in result.stdout


def test_emr_serverless_job_runs_with_its_arguments_and_parameters(project: Project) -> None:
    document = project.run(project.write("serverless.json", _serverless_pipeline()), exit_code=0)
    steps = _steps(document)
    assert document["Execution"]["PipelineExecutionStatus"] == "Succeeded"
    assert steps["CheckState"]["Metadata"]["Condition"]["Outcome"] == "True"  # jobRun.state == SUCCESS
    assert "NotSucceeded" not in steps
    metadata = steps["Summarize"]["Metadata"]["EMRServerless"]
    assert metadata["JobRunName"] == "summarize-sales"
    assert re.fullmatch(r"[0-9a-z]{16}", metadata["ApplicationId"])
    assert re.fullmatch(r"[0-9a-z]{16}", metadata["JobRunId"])
    assert project.json_output(f"s3://{BUCKET}/out/summary/") == {
        "label": "q4",
        "rows": 4,
        "shuffle_partitions": "3",
        "mode": "serverless",
        "owner": "ml-team",  # configurationOverrides' spark-defaults
        "source": "properties-file",  # --properties-file, read from the object root
        "region": "emea",  # spark.emr-serverless.driverEnv.SALES_REGION
    }
    [record] = JobRecords.from_config(project.config).for_execution(
        document["Execution"]["PipelineExecutionArn"]
    )
    assert record.kind == "EMRServerlessJobRun" and record.status == "Completed"
    run = record.describe["jobRun"]
    assert run["state"] == "SUCCESS" and run["jobRunId"] == metadata["JobRunId"]
    assert run["arn"].endswith(f":/applications/{metadata['ApplicationId']}/jobruns/{metadata['JobRunId']}")


def test_a_failing_spark_job_fails_the_step_with_the_driver_errors(project: Project) -> None:
    definition = project.write(
        "fails.json", _definition([_emr_step("Broken", ["spark-submit", f"s3://{BUCKET}/code/fails.py"])])
    )
    document = project.run(definition, exit_code=1)
    step = _steps(document)["Broken"]
    assert step["StepStatus"] == "Failed"
    reason = step["FailureReason"]
    assert reason.startswith(
        f"step Broken (EMR step {step['Metadata']['EMR']['StepId']} on cluster {CLUSTER_ID}"
    )
    assert "the Spark job failed: spark-submit exited with code 1" in reason
    assert f"[PATH_NOT_FOUND] Path does not exist: s3://{BUCKET}/in/missing.csv" in reason
    assert " INFO " not in reason and "\tat " not in reason
    log = Path(step["Metadata"]["EMR"]["LogFilePath"]).read_text()
    assert (
        "UNMAPPED : java.io.IOException: Could not initialize target File System for URI : s3://not-in-the-object-root/"
        in log
    )


def test_stopping_the_execution_kills_the_spark_process_tree(project: Project) -> None:
    definition = project.write(
        "sleeps.json", _definition([_emr_step("Sleepy", ["spark-submit", f"s3://{BUCKET}/code/sleeps.py"])])
    )
    with BackgroundRun(definition.name, cwd=project.root) as run:
        jobs = project.config.state_dir / "jobs"
        log = wait_for(
            lambda: next((p for p in jobs.glob("*Sleepy*/job.log") if "READY" in p.read_text()), None),
            timeout=240,
            what="the Spark job to start",
        )
        job_dir = log.parent
        assert spark_processes(job_dir), "the JVM of the running job"
        stopped = project.cli("stop", "latest")
        assert stopped.exit_code == 0, stopped.output
        document = run.document(exit_code=1)
    assert document["Execution"]["PipelineExecutionStatus"] == "Stopped"
    assert _steps(document)["Sleepy"]["StepStatus"] == "Stopped"
    assert spark_processes(job_dir) == []
    [record] = JobRecords.from_config(project.config).for_execution(
        document["Execution"]["PipelineExecutionArn"]
    )
    assert record.status == "Stopped" and record.describe["Status"]["State"] == "CANCELLED"


def test_other_jars_and_commands_are_refused_before_the_run_naming_the_step(project: Project) -> None:
    definition = project.write(
        "jars.json",
        _definition(
            [
                _emr_step(
                    "Script",
                    [f"s3://{BUCKET}/code/run.sh"],
                    jar="s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar",
                ),
                _emr_step("Streaming", ["hadoop-streaming", "-input", f"s3://{BUCKET}/in"]),
                _emr_step("Fine", ["spark-submit", f"s3://{BUCKET}/code/totals.py"]),
            ]
        ),
    )
    result = project.cli("run", str(definition))
    assert result.exit_code != 0
    output = " ".join(result.output.split())
    assert (
        "step Script: HadoopJarStep.Jar 's3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar' is not command-runner.jar"
        in output
    )
    assert (
        "step Streaming: command-runner.jar runs 'hadoop-streaming': locally only spark-submit runs" in output
    )
    assert "step Fine" not in output
    assert not (project.config.state_dir / "jobs").exists() or not list(
        (project.config.state_dir / "jobs").glob("*Script*")
    )


def test_a_jar_chosen_at_run_time_is_refused_when_the_step_runs(project: Project) -> None:
    step = _emr_step(
        "Chosen", ["spark-submit", f"s3://{BUCKET}/code/totals.py"], jar={"Get": "Parameters.Jar"}
    )
    definition = project.write(
        "chosen.json",
        _definition(
            [step], [{"Name": "Jar", "Type": "String", "DefaultValue": "s3://my-bucket/jars/etl.jar"}]
        ),
    )
    document = project.run(definition, exit_code=1)
    chosen = _steps(document)["Chosen"]
    assert chosen["StepStatus"] == "Failed"
    assert (
        "HadoopJarStep.Jar 's3://my-bucket/jars/etl.jar' is not command-runner.jar" in chosen["FailureReason"]
    )


@pytest.fixture(autouse=True)
def _no_spark_left_behind(project: Project) -> Iterator[None]:
    yield
    assert spark_processes(project.root) == [], "a Spark process outlived its test"


def test_pipelines_installs_spark_here() -> None:
    """The install this module relies on is the one `make install` makes (requirements-spark.txt)."""
    from pipelines.runners.spark.install import spark_install

    install = spark_install(Config())
    assert install.version == "4.3.0" and install.java_version >= 17
