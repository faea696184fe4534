"""The one config file of the embedded runtime (TOML): where state and objects live, and how
images and Lambda ARNs map to local interpreters and handlers.

Example ``pipelines.toml``::

    state_dir = ".pipelines"            # SQLite store and queues
    object_root = ".pipelines/objects"  # s3://bucket/key -> <object_root>/bucket/key
    region = "us-east-1"
    account_id = "000000000000"
    install_requirements = false        # local jobs: pip-install a submit dir's requirements.txt

    [images]        # ImageUri (exact or glob) -> local interpreter or command
    "*sklearn*" = "python3"

    [functions]     # FunctionArn (exact or glob) -> "file.py:handler"
    "arn:aws:lambda:*:*:function:metric" = "functions/metric.py:handler"

    [accounts]      # `pipelines serve`: SigV4 access key id -> the account it acts as
    "AKIDTEAMA" = { account = "000000000000", secret_key = "..." }   # signatures verified
    "AKIDTEAMB" = { account = "222222222222", secret_key = "..." }

    [policies]      # optional: account -> IAM policy file its calls are authorized by (docs/serve.md)
    "222222222222" = "policies/team-b.json"

    [serve]         # `pipelines serve`: browser-origin defence (see the README's Security model)
    allowed_hosts = ["pipelines.internal"]   # Host names besides the bound address and loopback
    allowed_origins = ["self"]               # Origins whose pages may call the API ("self": the console; [] for none)

    [warm_pools]    # local Python jobs fork from an interpreter that imported these already
    enabled = true
    preload = ["numpy", "pandas", "sklearn"]
    exclude = []                             # ImageUri globs that always start cold
    keep_alive_seconds = 0                   # > 0: an interpreter outlives its run (reused later)

    [spark]         # EMR and EMRServerless steps: spark-submit on this machine (docs/spark.md)
    master = "local[*]"                      # --master of every Spark job
    conf = { "spark.sql.shuffle.partitions" = "8" }   # --conf for every job (the step's own win)
    java_options = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"   # the driver JVM's (default)
    # spark_home = "/opt/spark"              # a Spark distribution instead of pyspark's
    # java_home = "/usr/lib/jvm/java-17-openjdk-amd64"
    # python = "python3"                     # PYSPARK_PYTHON (default: the pipelines interpreter)

    [mlflow]        # MlflowResourceArn (exact or glob) -> MLflow tracking URI
    "arn:aws:sagemaker:*:*:mlflow-tracking-server/team" = "http://127.0.0.1:5000"
    # (a definition's MlflowConfig with no entry logs to sqlite:///<state_dir>/mlflow.db)

With secret keys in ``[accounts]`` every request must carry a valid SigV4 signature of one of
those keys. Without ``[accounts]`` the server is single-user (every request acts as
``account_id``) and listens on loopback only unless told otherwise. An entry without a secret
(``"AKID" = "222222222222"``) only labels requests: it is an identity, not a lock.

Relative paths are relative to the config file's folder.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.errors import ValidationError

DEFAULT_CONFIG_NAME = "pipelines.toml"
CONFIG_ENV = "PIPELINES_CONFIG"


class ConfigError(ValidationError):
    """The config file is missing, malformed or names something that does not exist."""


AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]


class AccessKey(BaseModel):
    """One ``[accounts]`` entry with its secret: requests signed with it are verified."""

    model_config = ConfigDict(extra="forbid")

    account: AccountId
    secret_key: str = Field(min_length=1)


class ServeOptions(BaseModel):
    """``[serve]``: which Host names and browser Origins ``pipelines serve`` accepts."""

    model_config = ConfigDict(extra="forbid")

    allowed_hosts: list[str] = Field(default_factory=list)
    # "self" (pages this server serves: the web console) by default. The only other pages on
    # that origin are stored objects, which the S3 endpoint serves with `Content-Security-Policy:
    # sandbox` (an opaque origin, whose requests are refused), so no page but the console's own
    # can call the API. `[]` turns the console's calls off.
    allowed_origins: list[str] = Field(default_factory=lambda: ["self"])


class WarmPoolOptions(BaseModel):
    """``[warm_pools]``: local Python jobs start as forks of an interpreter per mapped image that
    has already imported ``preload`` (runners/jobs/warm.py); ``exclude`` lists ImageUri globs that
    always start cold, ``enabled = false`` turns warm starts off, ``keep_alive_seconds`` keeps
    an interpreter for later runs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    preload: list[str] = Field(default_factory=lambda: ["numpy", "pandas", "sklearn"])
    exclude: list[str] = Field(default_factory=list)
    keep_alive_seconds: int = Field(default=0, ge=0, le=3600)
    """Like SageMaker's ``KeepAlivePeriodInSeconds``: a warm interpreter outlives the process
    that started it until it has had no job for this long, and later ``pipelines`` processes of
    the same user reuse it instead of importing the preload again. 0: it ends with its driver."""


class SparkOptions(BaseModel):
    """``[spark]``: how EMR and EMRServerless steps run on this machine (runners/spark). Paths
    may be relative to the config file's folder."""

    model_config = ConfigDict(extra="forbid")

    master: str = "local[*]"
    conf: dict[str, str] = Field(default_factory=dict)
    # JVM options of the driver, which in local mode is all of Spark: tuned for start-up (C1
    # JIT only, serial GC), since pipeline jobs on a laptop are mostly short; "" gives the JVM's
    # defaults back for long, CPU-heavy jobs (docs/spark.md has the measurements).
    java_options: str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    spark_home: Path | None = None
    java_home: Path | None = None
    python: str | None = None


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state_dir: Path = Path(".pipelines")
    object_root: Path = Path(".pipelines/objects")
    region: str = "us-east-1"
    account_id: str = Field(default="000000000000", pattern=r"^\d{12}$")
    images: dict[str, str] = Field(default_factory=dict)
    functions: dict[str, str] = Field(default_factory=dict)
    # Local jobs: pip-install a script-mode submit directory's requirements.txt into the mapped
    # interpreter before the job, as the framework containers do. Off by default: it changes
    # the interpreter's environment.
    install_requirements: bool = False
    # `pipelines serve`: which account a SigV4 access key id acts as (cross-account sharing);
    # with secret keys, signatures are verified.
    accounts: dict[str, AccountId | AccessKey] = Field(default_factory=dict)
    serve: ServeOptions = Field(default_factory=ServeOptions)
    # Per-account IAM policy files (a policy document, or a JSON list of them): that account's
    # calls are authorized by them with the cloud's action names and condition keys
    # (pipelines.authorization), so a team can try its policies before deploying.
    policies: dict[Annotated[str, Field(pattern=r"^\d{12}$")], Path] = Field(default_factory=dict)
    # MLflow: tracking-server ARN (exact or glob) -> tracking URI (pipelines.tracking).
    mlflow: dict[str, str] = Field(default_factory=dict)
    warm_pools: WarmPoolOptions = Field(default_factory=WarmPoolOptions)
    spark: SparkOptions = Field(default_factory=SparkOptions)
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _secrets_for_all_or_none(self) -> Config:
        with_secret = [key for key, entry in self.accounts.items() if isinstance(entry, AccessKey)]
        if with_secret and len(with_secret) != len(self.accounts):
            unsigned = sorted(set(self.accounts) - set(with_secret))
            raise ValueError(
                f"[accounts]: give every access key a secret_key or none ({', '.join(unsigned)} have none); "
                "a key without one could act as its account without proof"
            )
        return self

    @property
    def verifies_signatures(self) -> bool:
        """Whether ``[accounts]`` holds secret keys, so every request must be signed with one."""
        return any(isinstance(entry, AccessKey) for entry in self.accounts.values())

    def account_of(self, access_key: str) -> str | None:
        entry = self.accounts.get(access_key)
        return entry.account if isinstance(entry, AccessKey) else entry

    def secret_of(self, access_key: str) -> str | None:
        entry = self.accounts.get(access_key)
        return entry.secret_key if isinstance(entry, AccessKey) else None

    @property
    def database_path(self) -> Path:
        return self.state_dir / "pipelines.sqlite"

    def image_command(self, image_uri: str) -> str | None:
        """The interpreter/command for an image: an exact entry wins over a glob."""
        if image_uri in self.images:
            return self.images[image_uri]
        for pattern, command in self.images.items():
            if fnmatch.fnmatchcase(image_uri, pattern):
                return command
        return None

    def function_handler(self, function_arn: str) -> str | None:
        """``file.py:handler`` for a Lambda ARN (exact, then glob), made absolute."""
        spec = self.functions.get(function_arn)
        if spec is None:
            spec = next(
                (v for k, v in self.functions.items() if fnmatch.fnmatchcase(function_arn, k)),
                None,
            )
        if spec is None:
            return None
        file_part, sep, handler = spec.rpartition(":")
        if not sep:
            raise ConfigError(f"function map entry {spec!r} must be 'file.py:handler'")
        return f"{(self.base_dir / file_part).resolve()}:{handler}"


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config from ``path``, $PIPELINES_CONFIG, or ./pipelines.toml; defaults if absent."""
    explicit = path or os.environ.get(CONFIG_ENV)
    candidate = Path(explicit) if explicit else Path(DEFAULT_CONFIG_NAME)
    if not candidate.exists():
        if explicit:
            raise ConfigError(f"config file not found: {candidate}")
        return _resolve(Config(), Path.cwd())
    try:
        raw = tomllib.loads(candidate.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: invalid TOML: {exc}") from exc
    try:
        config = Config.model_validate(raw)
    except Exception as exc:
        raise ConfigError(f"{candidate}: {exc}") from exc
    return _resolve(config, candidate.resolve().parent)


def _resolve(config: Config, base: Path) -> Config:
    def absolute(p: Path) -> Path:
        return p if p.is_absolute() else (base / p).resolve()

    return config.model_copy(
        update={
            "state_dir": absolute(config.state_dir),
            "object_root": absolute(config.object_root),
            "policies": {account: absolute(path) for account, path in config.policies.items()},
            "base_dir": base,
        }
    )
