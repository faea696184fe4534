"""A pytest plugin that runs the SageMaker SDK's *own* workflow integration test files offline,
against a real ``pipelines serve`` (``make sdk-integ-upstream SDK_SRC=<checkout>``).

The SDK's test files are not on PyPI, so CI runs our equivalents (the rest of this package);
with a checkout of aws/sagemaker-python-sdk (v2 line) at hand, this plugin drives its files
unchanged, from its own root, with its own fixtures. It only does what an AWS account would
have done for those fixtures:

- starts ``pipelines serve`` (``[images]`` mapping the SDK's framework images and its ECR
  "dummy container" to this interpreter) and points the endpoint variables at it;
- answers the two identity lookups the fixtures make outside the endpoints: the caller's role
  (``get_execution_role``) and the default bucket (the SDK derives it through a hard-coded
  STS endpoint), and creates that bucket in our S3;
- replaces the fixture's Docker build and ECR push of the dummy container by the mapped image
  URI, and turns the SDK's telemetry (a request to an AWS URL) into a no-op.

It is self-contained (the SDK's checkout has its own ``tests`` package): ``tests/sdk_integ/
conftest.py`` imports :class:`Server` from here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pipelines.testing import IN_THIS_INTERPRETER, ServeProcess

REGION = "us-west-2"  # the SDK integ tests' DEFAULT_REGION
SERVER_REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
ACCESS_KEY = "AKIDSDKINTEG"
DUMMY_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-python-sdk-integ-dummy:py3"
MAPPED_IMAGES = (
    DUMMY_IMAGE,
    "*.dkr.ecr.*.amazonaws.com/sagemaker-scikit-learn:*",
    "*.dkr.ecr.*.amazonaws.com/sagemaker-xgboost:*",
)


class Server:
    """A ``pipelines serve`` process and the folder it keeps its state in."""

    def __init__(self, root: Path, extra_config: str = "", images: dict[str, str] | None = None) -> None:
        """``extra_config``: more TOML tables for ``pipelines.toml`` (``[functions]``, ``[serve]``...);
        ``images`` maps more image URIs to interpreters (the SDK v3 tests' image to the v3 venv's),
        beside :data:`MAPPED_IMAGES` mapped to this interpreter."""
        self.root = root
        config = root / "pipelines.toml"
        interpreters = {image: sys.executable for image in MAPPED_IMAGES} | (images or {})
        images_table = "".join(f'"{image}" = "{python}"\n' for image, python in interpreters.items())
        config.write_text(
            f'state_dir = "state"\nobject_root = "objects"\nregion = "{SERVER_REGION}"\n'
            f'account_id = "{ACCOUNT}"\n\n[images]\n{images_table}\n{extra_config}'
        )
        self.served = ServeProcess(
            root, config=config, command=IN_THIS_INTERPRETER, env={**os.environ, "COLUMNS": "400"}
        )
        self.url = self.served.url

    def environment(self) -> dict[str, str]:
        """The variables the SDK's clients read to reach this server as the test account."""
        return {
            "AWS_ENDPOINT_URL_SAGEMAKER": self.url,
            "AWS_ENDPOINT_URL_S3": self.url,
            "AWS_ENDPOINT_URL_SCHEDULER": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_DEFAULT_REGION": REGION,
            "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        }

    def create_bucket(self, name: str = BUCKET) -> str:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key="secret",
        )
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def stop(self) -> None:
        self.served.stop(grace=20)


# -- the plugin (only when loaded with ``-p upstream_plugin``) ------------------------------------
_server: Server | None = None


def pytest_configure(config: Any) -> None:
    if config.pluginmanager.get_plugin("upstream_plugin") is None:
        return  # imported as a module by tests/sdk_integ, not loaded as the plugin
    global _server
    import tempfile

    import sagemaker.session
    import sagemaker.telemetry.telemetry_logging as telemetry

    _server = Server(Path(tempfile.mkdtemp(prefix="sdk-integ-upstream-")))
    os.environ.update(_server.environment())
    bucket = _server.create_bucket()
    sagemaker.session.Session.get_caller_identity_arn = lambda self: ROLE  # type: ignore[method-assign]
    sagemaker.session.Session.default_bucket = lambda self: bucket  # type: ignore[method-assign]
    telemetry._send_telemetry_request = lambda *args, **kwargs: None


def pytest_plugin_registered(plugin: Any, manager: Any) -> None:
    """The SDK's ``tests/integ/sagemaker/conftest.py`` builds and pushes its dummy containers
    with Docker: here they are the image ``[images]`` maps to this interpreter."""
    if getattr(plugin, "__name__", "") == "tests.integ.sagemaker.conftest" and hasattr(
        plugin, "_build_container"
    ):
        plugin._build_container = lambda *args, **kwargs: DUMMY_IMAGE


def pytest_unconfigure(config: Any) -> None:
    if _server is not None:
        _server.stop()
