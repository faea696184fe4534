"""A step's ``spark-submit`` command, parsed and rewritten to run on this machine.

An EMR step's ``command-runner.jar`` Args and an EMR Serverless job's ``sparkSubmit`` driver
both come down to spark-submit options, an application (a ``.py`` file or a jar) and its
arguments. :func:`parse_options` splits them the way spark-submit's own option parser does
(``SparkSubmitOptionParser``), so an application argument that looks like an option stays the
application's. :func:`local_command` then makes the command local:

- ``--master`` (``yarn`` on EMR) becomes ``[spark] master`` (``local[*]``), and ``--deploy-mode
  cluster`` becomes ``client``: Spark refuses cluster mode with a local master, and in client
  mode the driver is the spark-submit process itself, whose output is the job's log;
- the runtime's confs go first (the object-root mapping of ``s3://``, see objectroot.py, the
  local directories, ``[spark] conf``), then the step's own options, which win, except the
  ones that would undo the mapping (``spark.hadoop.fs.s3*.impl``, ``spark.hadoop.fs.viewfs.*``),
  which are dropped with a log line.

Cluster configuration (EMR ``Configurations``, EMR Serverless ``applicationConfiguration``)
reaches the job through :func:`classification_settings`: ``spark-defaults`` properties become
``--conf`` flags and ``spark-env``'s ``export`` block becomes environment variables; other
classifications configure the cluster's services (YARN, HDFS, Hive, log4j) and are named in
the log as not applied.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.errors import ValidationError

# spark-submit's options (org.apache.spark.launcher.SparkSubmitOptionParser, Spark 3.x/4.x).
VALUE_OPTIONS = frozenset(
    {
        "--archives",
        "--class",
        "--conf",
        "-c",
        "--deploy-mode",
        "--driver-class-path",
        "--driver-cores",
        "--driver-java-options",
        "--driver-library-path",
        "--driver-memory",
        "--exclude-packages",
        "--executor-cores",
        "--executor-memory",
        "--files",
        "--jars",
        "--keytab",
        "--kill",
        "--master",
        "--name",
        "--num-executors",
        "--packages",
        "--principal",
        "--properties-file",
        "--proxy-user",
        "--py-files",
        "--queue",
        "--remote",
        "--repositories",
        "--status",
        "--total-executor-cores",
    }
)
LOCAL_FILE_OPTIONS = frozenset({"--properties-file"})
"""Options whose file spark-submit opens itself, without a Hadoop file system."""
SWITCHES = frozenset({"--help", "-h", "--supervise", "--usage-error", "--verbose", "-v", "--version"})
_NOT_A_JOB = {
    "--kill": "kills a running driver",
    "--status": "asks for a driver's status",
    "--help": "prints spark-submit's usage",
    "-h": "prints spark-submit's usage",
    "--usage-error": "prints spark-submit's usage",
    "--version": "prints Spark's version",
}
# Confs the runtime owns: they carry the object-root mapping of s3:// (objectroot.py).
_OWNED_CONF_PREFIXES = ("spark.hadoop.fs.viewfs.",)
_OWNED_CONFS = frozenset(
    {
        "spark.hadoop.fs.s3.impl",
        "spark.hadoop.fs.s3a.impl",
        "spark.hadoop.fs.s3n.impl",
        "spark.hadoop.fs.objectroot.impl",
    }
)
_MASTER_CONFS = frozenset({"spark.master", "spark.submit.deployMode"})


class SubmitError(ValidationError):
    """The spark-submit command cannot run as given (the message says why)."""


@dataclass(frozen=True)
class SparkSubmit:
    """One spark-submit command: options as (flag, value) pairs in order, the application
    (a local path or URI of a .py file or jar), and the application's own arguments."""

    options: tuple[tuple[str, str | None], ...]
    application: str
    arguments: tuple[str, ...] = ()

    def uris(self) -> list[str]:
        """Every string of the command, for finding the buckets it names."""
        return [*(v for _f, v in self.options if v is not None), self.application, *self.arguments]


def parse_options(args: Sequence[str], *, what: str, application_expected: bool = True) -> SparkSubmit:
    """spark-submit's command line after ``spark-submit``: options, then the application and
    its arguments (or options only, for EMR Serverless ``sparkSubmitParameters``)."""
    options: list[tuple[str, str | None]] = []
    index = 0
    items = [str(a) for a in args]
    while index < len(items):
        arg = items[index]
        flag, equals, inline = arg.partition("=")
        if equals and flag in VALUE_OPTIONS and flag.startswith("--"):
            options.append((flag, inline))
            index += 1
            continue
        if arg in VALUE_OPTIONS:
            if index + 1 >= len(items):
                raise SubmitError(f"{what}: spark-submit option {arg} needs a value")
            options.append((arg, items[index + 1]))
            index += 2
            continue
        if arg in SWITCHES:
            options.append((arg, None))
            index += 1
            continue
        if arg.startswith("-"):
            raise SubmitError(f"{what}: {arg!r} is not a spark-submit option")
        break
    rest = items[index:]
    for flag, _value in options:
        if flag in _NOT_A_JOB:
            raise SubmitError(f"{what}: spark-submit {flag} {_NOT_A_JOB[flag]}; it runs no application")
    if not application_expected:
        if rest:
            raise SubmitError(f"{what}: {rest[0]!r} is not a spark-submit option")
        return SparkSubmit(tuple(options), "")
    if not rest:
        raise SubmitError(f"{what}: spark-submit names no application (a .py file or a jar)")
    return SparkSubmit(tuple(options), rest[0], tuple(rest[1:]))


def parse_parameters(parameters: str, *, what: str) -> list[tuple[str, str | None]]:
    """EMR Serverless ``sparkSubmitParameters`` (one string of flags) as option pairs."""
    try:
        words = shlex.split(parameters)
    except ValueError as exc:
        raise SubmitError(f"{what}: sparkSubmitParameters cannot be split into flags: {exc}") from exc
    return list(parse_options(words, what=what, application_expected=False).options)


@dataclass
class ClassificationSettings:
    """What a cluster's configuration classifications mean for one local Spark job."""

    conf: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    not_applied: list[str] = field(default_factory=list)


def classification_settings(configurations: Any, *, what: str) -> ClassificationSettings:
    """EMR ``Configurations`` (``Classification``/``Properties``/``Configurations``) or EMR
    Serverless ``applicationConfiguration`` (the same in camelCase), applied in order."""
    settings = ClassificationSettings()
    if configurations is None:
        return settings
    if not isinstance(configurations, list):
        raise SubmitError(f"{what}: configurations must be a list")
    for item in configurations:
        if not isinstance(item, Mapping):
            raise SubmitError(f"{what}: each configuration must be an object")
        name = str(item.get("Classification", item.get("classification", "")))
        properties = item.get("Properties", item.get("properties")) or {}
        nested = item.get("Configurations", item.get("configurations")) or []
        if name == "spark-defaults":
            settings.conf.update({str(k): str(v) for k, v in dict(properties).items()})
        elif name == "spark-env":
            for child in nested:
                if (
                    isinstance(child, Mapping)
                    and child.get("Classification", child.get("classification")) == "export"
                ):
                    exported = child.get("Properties", child.get("properties")) or {}
                    settings.environment.update({str(k): str(v) for k, v in dict(exported).items()})
        elif name:
            settings.not_applied.append(name)
    return settings


DRIVER_ENV_PREFIXES = ("spark.yarn.appMasterEnv.", "spark.emr-serverless.driverEnv.")
"""Confs that set the driver's environment on YARN in cluster mode (EMR) and on EMR Serverless;
a local driver is spark-submit itself, so they become its environment."""
_INTERPRETER_VARIABLES = frozenset({"PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"})


def driver_environment(
    submit: SparkSubmit, conf: Mapping[str, str], note: Callable[[str], None]
) -> dict[str, str]:
    """The driver's environment variables that ``conf`` (cluster configuration) and the
    command's ``--conf`` flags set through :data:`DRIVER_ENV_PREFIXES`. The Python interpreter
    is the runtime's ([spark] python): one named this way (usually ``./environment/bin/python``
    from a packed virtualenv in ``spark.archives``) is not used, and the log says so."""
    settings: list[tuple[str, str]] = list(conf.items())
    for flag, value in submit.options:
        if flag in ("--conf", "-c") and value is not None and "=" in value:
            key, _, setting = value.partition("=")
            settings.append((key, setting))
    environment: dict[str, str] = {}
    for key, value in settings:
        prefix = next((p for p in DRIVER_ENV_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            continue
        name = key[len(prefix) :]
        if name in _INTERPRETER_VARIABLES:
            note(
                f"{key}={value}: the driver runs on this machine's Python ([spark] python), not this interpreter"
            )
            continue
        environment[name] = value
    return environment


def conf_flags(conf: Mapping[str, str]) -> list[str]:
    return [word for key, value in conf.items() for word in ("--conf", f"{key}={value}")]


def local_command(
    spark_submit: str,
    submit: SparkSubmit,
    *,
    master: str,
    runtime_conf: Mapping[str, str],
    note: Callable[[str], None],
    local_file: Callable[[str], str] = lambda path: path,
) -> list[str]:
    """The argv that runs ``submit`` on ``master`` in client mode, with the runtime's confs
    first and the step's options after them (see the module docstring). ``local_file`` turns
    the value of an option that spark-submit opens as a local file (``--properties-file``) into
    one it can open."""
    kept: list[str] = []
    for flag, value in submit.options:
        if flag in LOCAL_FILE_OPTIONS and value is not None:
            value = local_file(value)
        if flag == "--master":
            if value != master:
                note(f"--master {value} runs on {master} here")
            continue
        if flag == "--deploy-mode":
            if value == "cluster":
                note(
                    "--deploy-mode cluster runs in client mode here: a local master has no cluster "
                    "to place the driver on, so the driver is the spark-submit process"
                )
            continue
        if flag in ("--conf", "-c") and value is not None:
            key = value.partition("=")[0]
            if key in _MASTER_CONFS:
                note(f"--conf {key} is set by the local run ({master}, client mode); {value!r} dropped")
                continue
            if key in _OWNED_CONFS or key.startswith(_OWNED_CONF_PREFIXES):
                note(f"--conf {key} would undo the local mapping of s3:// to the object root; dropped")
                continue
        kept.append(flag)
        if value is not None:
            kept.append(value)
    return [
        spark_submit,
        "--master",
        master,
        "--deploy-mode",
        "client",
        *conf_flags(runtime_conf),
        *kept,
        submit.application,
        *submit.arguments,
    ]
