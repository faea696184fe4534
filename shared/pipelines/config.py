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
    "AKIDTEAMB" = "222222222222"  # (unsigned requests and unknown keys act as account_id)

    [mlflow]        # MlflowResourceArn (exact or glob) -> MLflow tracking URI
    "arn:aws:sagemaker:*:*:mlflow-tracking-server/team" = "http://127.0.0.1:5000"
    # (a definition's MlflowConfig with no entry logs to sqlite:///<state_dir>/mlflow.db)

Relative paths are relative to the config file's folder.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from pipelines.errors import ValidationError

DEFAULT_CONFIG_NAME = "pipelines.toml"
CONFIG_ENV = "PIPELINES_CONFIG"


class ConfigError(ValidationError):
    """The config file is missing, malformed or names something that does not exist."""


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
    # `pipelines serve`: which account a SigV4 access key id acts as (cross-account sharing).
    accounts: dict[str, Annotated[str, Field(pattern=r"^\d{12}$")]] = Field(default_factory=dict)
    # MLflow: tracking-server ARN (exact or glob) -> tracking URI (pipelines.tracking).
    mlflow: dict[str, str] = Field(default_factory=dict)
    base_dir: Path = Path(".")

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
            "base_dir": base,
        }
    )
