"""The pieces of the Spark runners that need no Spark: spark-submit parsing and rewriting, the
object-root mapping, the driver log's error lines, the install checks and the refusals."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from pipelines.config import Config, SparkOptions
from pipelines.definition import load_definition
from pipelines.definition.models import Step
from pipelines.runners.jobs.joblog import log_timestamp
from pipelines.runners.registry import default_registry
from pipelines.runners.spark import emr, emr_serverless
from pipelines.runners.spark.ids import emr_cluster_id, emr_step_id, serverless_job_run_id
from pipelines.runners.spark.install import SparkUnavailable, spark_install
from pipelines.runners.spark.job import driver_error_lines
from pipelines.runners.spark.objectroot import (
    buckets_named,
    local_path,
    object_root_buckets,
    object_root_conf,
)
from pipelines.runners.spark.submit import (
    SubmitError,
    classification_settings,
    driver_environment,
    local_command,
    parse_options,
    parse_parameters,
)
from pydantic import TypeAdapter

_STEP: TypeAdapter[Any] = TypeAdapter(Step)


def test_options_end_at_the_application_and_its_arguments_stay_its_own() -> None:
    submit = parse_options(
        ["--deploy-mode=cluster", "--conf", "a=1", "--verbose", "s3://b/job.py", "--master", "x", "--conf"],
        what="Args",
    )
    assert submit.options == (("--deploy-mode", "cluster"), ("--conf", "a=1"), ("--verbose", None))
    assert submit.application == "s3://b/job.py"
    assert submit.arguments == ("--master", "x", "--conf")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "names no application"),
        (["--conf"], "--conf needs a value"),
        (["--bogus", "job.py"], "'--bogus' is not a spark-submit option"),
        (["--kill", "driver-1"], "--kill kills a running driver; it runs no application"),
        (["--version"], "prints Spark's version"),
    ],
)
def test_commands_that_run_no_job_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(SubmitError, match=message):
        parse_options(args, what="Args")


def test_spark_submit_parameters_are_options_only() -> None:
    assert parse_parameters("--conf 'spark.x=a b' --jars s3://b/x.jar", what="p") == [
        ("--conf", "spark.x=a b"),
        ("--jars", "s3://b/x.jar"),
    ]
    with pytest.raises(SubmitError, match="'job.py' is not a spark-submit option"):
        parse_parameters("--conf a=1 job.py", what="p")
    with pytest.raises(SubmitError, match="cannot be split"):
        parse_parameters("--conf 'unclosed", what="p")


def test_the_local_command_runs_client_mode_on_the_local_master_and_keeps_the_steps_options() -> None:
    notes: list[str] = []
    submit = parse_options(
        [
            "--master",
            "yarn",
            "--deploy-mode",
            "cluster",
            "--conf",
            "spark.hadoop.fs.s3.impl=com.amazon.ws.emr.hadoop.fs.EmrFileSystem",
            "--conf",
            "spark.submit.deployMode=cluster",
            "--conf",
            "spark.sql.shuffle.partitions=4",
            "job.py",
            "in",
        ],
        what="Args",
    )
    argv = local_command(
        "/spark/bin/spark-submit",
        submit,
        master="local[2]",
        runtime_conf={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "8"},
        note=notes.append,
    )
    assert argv == [
        "/spark/bin/spark-submit",
        "--master",
        "local[2]",
        "--deploy-mode",
        "client",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        "spark.sql.shuffle.partitions=8",
        "--conf",
        "spark.sql.shuffle.partitions=4",  # the step's own conf comes later, so it wins
        "job.py",
        "in",
    ]
    text = "\n".join(notes)
    assert "--master yarn runs on local[2] here" in text
    assert "--deploy-mode cluster runs in client mode here" in text
    assert "spark.hadoop.fs.s3.impl would undo the local mapping of s3://" in text
    assert "spark.submit.deployMode is set by the local run" in text


def test_spark_defaults_and_spark_env_apply_and_other_classifications_are_named() -> None:
    settings = classification_settings(
        [
            {"Classification": "spark-defaults", "Properties": {"spark.a": "1"}},
            {
                "classification": "spark-env",
                "configurations": [{"classification": "export", "properties": {"PYTHONHASHSEED": "0"}}],
            },
            {"Classification": "yarn-site", "Properties": {"x": "y"}},
        ],
        what="Configurations",
    )
    assert settings.conf == {"spark.a": "1"}
    assert settings.environment == {"PYTHONHASHSEED": "0"}
    assert settings.not_applied == ["yarn-site"]


def test_each_bucket_maps_onto_its_object_root_folder_through_raw_local_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "Not_A bucket").mkdir()
    (tmp_path / "file").write_text("")
    assert object_root_buckets(tmp_path) == {"data"}
    assert buckets_named(["s3://one/x", "--conf k=s3a://two/y", "s3n://three", "gs://four/z"]) == {
        "one",
        "two",
        "three",
    }
    conf = object_root_conf(tmp_path, {"data", "one"})
    for scheme in ("s3", "s3a", "s3n"):
        assert (
            conf[f"spark.hadoop.fs.{scheme}.impl"]
            == "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme"
        )
    assert conf["spark.hadoop.fs.objectroot.impl"] == "org.apache.hadoop.fs.RawLocalFileSystem"
    assert conf["spark.hadoop.fs.viewfs.mounttable.data.linkFallback"] == f"objectroot://{tmp_path}/data"
    assert conf["spark.hadoop.fs.viewfs.mounttable.one.linkFallback"] == f"objectroot://{tmp_path}/one"


def _log(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "job.log"
    path.write_text("".join(f"{log_timestamp()} {line}\n" for line in lines))
    return path


def test_the_error_lines_of_a_python_driver_are_its_exception_not_frames_or_info(tmp_path: Path) -> None:
    log = _log(
        tmp_path,
        [
            "26/12/07 00:28:02 INFO SparkContext: Running Spark version 4.3.0",
            "26/12/07 00:28:05 ERROR Executor: Exception in task 0.0",
            "Traceback (most recent call last):",
            '  File "/tmp/job.py", line 8, in <module>',
            "    spark.read.csv(path).count()",
            "    ^^^^^^^^^^^^^^^^^^^^^^",
            "py4j.protocol.Py4JJavaError: An error occurred while calling o16.csv.",
            ": java.io.FileNotFoundException: nope",
            "\tat org.apache.hadoop.fs.RawLocalFileSystem.open(RawLocalFileSystem.java:1)",
            "\t... 94 more",
            "26/12/07 00:28:06 INFO ShutdownHookManager: Shutdown hook called",
        ],
    )
    assert driver_error_lines(log) == [
        "py4j.protocol.Py4JJavaError: An error occurred while calling o16.csv.",
        ": java.io.FileNotFoundException: nope",
    ]


def test_without_a_traceback_the_error_lines_are_java_exceptions_and_error_logs(tmp_path: Path) -> None:
    log = _log(
        tmp_path,
        [
            "26/12/07 00:28:02 INFO SparkContext: Running Spark version 4.3.0",
            "Exception in thread main java.lang.ClassNotFoundException: com.example.Main",
            "\tat java.base/java.net.URLClassLoader.findClass(URLClassLoader.java:445)",
            "26/12/07 00:28:03 ERROR SparkSubmit: the job failed",
            "26/12/07 00:28:04 INFO ShutdownHookManager: Deleting directory /tmp/spark-1",
        ],
    )
    assert driver_error_lines(log) == [
        "Exception in thread main java.lang.ClassNotFoundException: com.example.Main",
        "26/12/07 00:28:03 ERROR SparkSubmit: the job failed",
    ]
    assert driver_error_lines(_log(tmp_path, ["just output", "26/12/07 00:28:04 INFO x: y"])) == [
        "just output"
    ]


def test_ids_have_the_services_formats_and_differ_per_attempt() -> None:
    assert len(emr_cluster_id("a")) == 15 and emr_cluster_id("a").startswith("j-")
    assert emr_step_id("a") == emr_step_id("a") != emr_step_id("b")
    assert serverless_job_run_id("a").isalnum() and serverless_job_run_id("a").islower()


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_missing_spark_or_an_old_java_is_refused_with_how_to_install(tmp_path: Path) -> None:
    empty = Config(base_dir=tmp_path, spark=SparkOptions(spark_home=Path("nospark")))
    with pytest.raises(
        SparkUnavailable, match=r"nospark has no bin/spark-submit; `make install` installs it"
    ):
        spark_install(empty)

    home = tmp_path / "spark"
    _executable(home / "bin" / "spark-submit", "#!/bin/sh\n")
    (home / "jars").mkdir()
    (home / "jars" / "spark-core_2.13-4.1.0.jar").write_text("")
    java_home = tmp_path / "java11"
    _executable(java_home / "bin" / "java", "#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    old_java = Config(base_dir=tmp_path, spark=SparkOptions(spark_home=home, java_home=java_home))
    with pytest.raises(SparkUnavailable, match=r"Spark 4.1.0 needs Java 17 or later, but .*java is Java 11"):
        spark_install(old_java)

    java17 = tmp_path / "java17"
    _executable(java17 / "bin" / "java", "#!/bin/sh\necho 'openjdk version \"17.0.9\"' >&2\n")
    found = spark_install(
        Config(base_dir=tmp_path, spark=SparkOptions(spark_home=Path("spark"), java_home=java17))
    )
    assert (found.version, found.java_version, found.home) == ("4.1.0", 17, home)


def test_spark_steps_are_refused_at_start_when_spark_cannot_run(tmp_path: Path) -> None:
    config = Config(base_dir=tmp_path, spark=SparkOptions(spark_home=tmp_path / "none"))
    step = emr_serverless_step(
        {"ApplicationId": "00f", "JobConfig": {"jobDriver": {"sparkSubmit": {"entryPoint": "x.py"}}}}
    )
    reason = emr_serverless.EMRServerlessRunner().check(step, config)
    assert reason is not None and reason.startswith("step S: EMRServerless steps run on local Spark: ")
    assert "has no bin/spark-submit" in reason


def emr_serverless_step(arguments: dict[str, Any]) -> Step:
    return _STEP.validate_python({"Name": "S", "Type": "EMRServerless", "Arguments": arguments})


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (
            {"ApplicationId": "a", "JobConfig": {"jobDriver": {"hive": {"query": "q"}}}},
            "Hive jobs cannot run locally",
        ),
        (
            {
                "ApplicationConfig": {"type": "HIVE"},
                "JobConfig": {"jobDriver": {"sparkSubmit": {"entryPoint": "x"}}},
            },
            "ApplicationConfig.type 'HIVE': only Spark applications run locally",
        ),
        (
            {"JobConfig": {"jobDriver": {"sparkSubmit": {"entryPoint": "x"}}}},
            "exactly one of ApplicationId or ApplicationConfig",
        ),
        ({"ApplicationId": "a", "JobConfig": {"jobDriver": {"sparkSubmit": {}}}}, "entryPoint is missing"),
    ],
)
def test_emr_serverless_refusals(arguments: dict, reason: str) -> None:
    found = emr_serverless.refusal(arguments)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    ("jar", "args", "reason"),
    [
        ("s3://b/etl.jar", ["x"], "HadoopJarStep.Jar 's3://b/etl.jar' is not command-runner.jar"),
        ("command-runner.jar", [], "command-runner.jar has no Args"),
        ("command-runner.jar", ["s3-dist-cp", "--src", "s3://a"], "command-runner.jar runs 's3-dist-cp'"),
    ],
)
def test_emr_refusals(jar: str, args: list[str], reason: str) -> None:
    found = emr.refusal({"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": jar, "Args": args}}})
    assert found is not None and reason in found
    assert (
        emr.refusal(
            {
                "ClusterId": "j-1",
                "StepConfig": {
                    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["/usr/bin/spark-submit", "a.py"]}
                },
            }
        )
        is None
    )


def test_the_default_registry_runs_emr_and_emr_serverless_steps() -> None:
    assert {"EMR", "EMRServerless"} <= default_registry().step_types()


def test_files_spark_submit_opens_itself_are_read_from_the_object_root(tmp_path: Path) -> None:
    assert local_path(tmp_path, "s3://b/conf/job.conf") == tmp_path / "b" / "conf" / "job.conf"
    assert local_path(tmp_path, "s3a://b/x") == tmp_path / "b" / "x"
    assert local_path(tmp_path, "/etc/spark.conf") is None
    submit = parse_options(["--properties-file", "s3://b/job.conf", "job.py"], what="Args")
    argv = local_command(
        "spark-submit",
        submit,
        master="local[*]",
        runtime_conf={},
        note=print,
        local_file=lambda p: f"LOCAL:{p}",
    )
    assert argv[-3:] == ["--properties-file", "LOCAL:s3://b/job.conf", "job.py"]


def test_the_v3_sdks_emr_serverless_steps_are_accepted_at_start(tmp_path: Path) -> None:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
    definition = load_definition((fixtures / "emr_serverless.json").read_text())
    assert default_registry().unsupported_steps(definition, Config(base_dir=tmp_path)) == []


def test_driver_environment_confs_become_the_local_drivers_environment() -> None:
    notes: list[str] = []
    submit = parse_options(
        [
            "--conf",
            "spark.yarn.appMasterEnv.STAGE=prod",
            "--conf",
            "spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python",
            "--conf",
            "spark.executorEnv.OTHER=x",
            "job.py",
        ],
        what="Args",
    )
    environment = driver_environment(submit, {"spark.emr-serverless.driverEnv.TEAM": "ml"}, notes.append)
    assert environment == {"TEAM": "ml", "STAGE": "prod"}
    assert notes == [
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python: the driver runs on this "
        "machine's Python ([spark] python), not this interpreter"
    ]
