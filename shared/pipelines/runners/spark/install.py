"""Where Spark comes from on this machine: ``spark-submit`` and the Java it needs.

Spark is the ``pyspark`` package (``requirements-spark.txt``, installed by ``make install``):
its ``bin/spark-submit`` and bundled jars are a complete local Spark, so ``SPARK_HOME`` is
pyspark's own folder. ``[spark] spark_home`` names a Spark distribution instead. Java is
``[spark] java_home``, else ``$JAVA_HOME``, else ``java`` on the PATH; Spark 4 needs Java 17 or
later, Spark 3 Java 8 or later. Each lookup is done once per process; what is missing becomes
a :class:`SparkUnavailable` whose message says how to install it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import Config
from pipelines.errors import PipelinesError

INSTALL_HINT = (
    "`make install` installs it (requirements-spark.txt), or `pip install -r requirements-spark.txt` "
    "into the interpreter that runs pipelines; [spark] spark_home may name a Spark distribution instead"
)
JAVA_HINT = (
    "install a Java runtime (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; `make install` "
    "does this as root) or point [spark] java_home at one"
)
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
_SPARK_CORE_JAR = re.compile(r"^spark-core_[\d.]+-(\d+)\.(\d+)\.(\d+).*\.jar$")


class SparkUnavailable(PipelinesError):
    """Spark or the Java it needs is not installed on this machine (the message says how)."""


@dataclass(frozen=True)
class SparkInstall:
    """A usable local Spark: the ``spark-submit`` to run, and the Java it runs on."""

    home: Path  # SPARK_HOME
    spark_submit: Path
    version: str  # Spark's version, e.g. "4.3.0"
    java: Path
    java_home: Path | None  # JAVA_HOME for the job, when known
    java_version: int
    python: str  # PYSPARK_PYTHON / PYSPARK_DRIVER_PYTHON

    def describe(self) -> str:
        return f"Spark {self.version} at {self.home} on Java {self.java_version} ({self.java}), Python {self.python}"


def spark_install(config: Config) -> SparkInstall:
    """The Spark that EMR and EMRServerless steps run on; raises :class:`SparkUnavailable`."""
    options = config.spark
    home = _absolute(config, options.spark_home) if options.spark_home else None
    java_home = _absolute(config, options.java_home) if options.java_home else None
    return _find(home, java_home, options.python)


def _absolute(config: Config, path: Path) -> Path:
    return path if path.is_absolute() else (config.base_dir / path).resolve()


@functools.lru_cache(maxsize=8)
def _find(home: Path | None, java_home: Path | None, python: str | None) -> SparkInstall:
    spark_home = home or _pyspark_home()
    spark_submit = spark_home / "bin" / "spark-submit"
    if not spark_submit.is_file():
        where = f"[spark] spark_home {spark_home}" if home else f"the pyspark package at {spark_home}"
        raise SparkUnavailable(f"{where} has no bin/spark-submit; {INSTALL_HINT}")
    version = _spark_version(spark_home)
    java, known_home = _find_java(java_home)
    java_version = _java_version(java)
    needed = 17 if int(version.split(".")[0]) >= 4 else 8
    if java_version < needed:
        raise SparkUnavailable(
            f"Spark {version} needs Java {needed} or later, but {java} is Java {java_version}; {JAVA_HINT}"
        )
    return SparkInstall(
        home=spark_home,
        spark_submit=spark_submit,
        version=version,
        java=java,
        java_home=known_home,
        java_version=java_version,
        python=_python(python),
    )


def _pyspark_home() -> Path:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise SparkUnavailable(f"Spark is not installed: the pyspark package is missing; {INSTALL_HINT}")
    return Path(spec.origin).resolve().parent


def _spark_version(home: Path) -> str:
    jars = home / "jars"
    for jar in sorted(jars.glob("spark-core_*.jar")) if jars.is_dir() else []:
        match = _SPARK_CORE_JAR.match(jar.name)
        if match:
            return ".".join(match.groups())
    raise SparkUnavailable(f"{home} holds no Spark jars (jars/spark-core_*.jar); {INSTALL_HINT}")


def _find_java(java_home: Path | None) -> tuple[Path, Path | None]:
    if java_home is not None:
        java = java_home / "bin" / "java"
        if not java.is_file():
            raise SparkUnavailable(f"[spark] java_home {java_home} has no bin/java; {JAVA_HINT}")
        return java, java_home
    env_home = os.environ.get("JAVA_HOME")
    if env_home and (Path(env_home) / "bin" / "java").is_file():
        return Path(env_home) / "bin" / "java", Path(env_home)
    found = shutil.which("java")
    if found is None:
        raise SparkUnavailable(f"Spark needs Java, and no java is installed (nor JAVA_HOME set); {JAVA_HINT}")
    return Path(found), None


def _java_version(java: Path) -> int:
    try:
        proc = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SparkUnavailable(f"cannot run {java} -version: {exc}; {JAVA_HINT}") from exc
    match = _JAVA_VERSION.search(proc.stderr + proc.stdout)
    if proc.returncode != 0 or match is None:
        raise SparkUnavailable(f"{java} -version did not report a version; {JAVA_HINT}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0_x" is Java 8


def _python(configured: str | None) -> str:
    if not configured:
        return sys.executable
    found = shutil.which(configured)
    if found is None:
        raise SparkUnavailable(f"[spark] python {configured!r} is not found on this machine")
    return found
