"""Lambda packaging without Docker: pip installs wheels for the Lambda platform into the asset.

`PythonFunction` needs Docker, which CI machines and many laptops do not run. CDK's local
bundling hook lets us run pip with `--platform` instead, so `cdk synth` produces deployable
assets anywhere. Unit tests skip bundling entirely (context `aws:cdk:bundling-stacks: []`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = lambda_.Runtime.PYTHON_3_12


@jsii.implements(cdk.ILocalBundling)
class _PipBundler:
    """Copies sources and pip-installs requirements for the target platform into the output dir."""

    def __init__(self, sources: list[tuple[Path, str]], requirements: Path | None, target: str, arm64: bool):
        self._sources = sources
        self._requirements = requirements
        self._target = target
        self._platform = "manylinux2014_aarch64" if arm64 else "manylinux2014_x86_64"

    def try_bundle(self, output_dir: str, *, image: Any = None, **_kwargs: Any) -> bool:
        out = Path(output_dir) / self._target
        out.mkdir(parents=True, exist_ok=True)
        if self._requirements is not None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "-r",
                    str(self._requirements),
                    "--target",
                    str(out),
                    "--platform",
                    self._platform,
                    "--implementation",
                    "cp",
                    "--python-version",
                    "3.12",
                    "--only-binary=:all:",
                    "--no-compile",
                ],
                check=True,
            )
        for src, name in self._sources:
            dest = out / name
            shutil.copytree(
                src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        return True


def _bundled_code(asset_dir: Path, bundler: _PipBundler) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(asset_dir),
        asset_hash_type=cdk.AssetHashType.SOURCE,
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=bundler, command=["false"]),
    )


def core_layer(scope: Construct, construct_id: str, *, arm64: bool) -> lambda_.LayerVersion:
    """The core package `pipelines` and its dependencies, shared by every handler."""
    bundler = _PipBundler(
        sources=[(REPO_ROOT / "shared" / "pipelines", "pipelines")],
        requirements=REPO_ROOT / "functions" / "requirements.txt",
        target="python",
        arm64=arm64,
    )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=_bundled_code(REPO_ROOT / "shared", bundler),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64 if arm64 else lambda_.Architecture.X86_64],
        description="Core package `pipelines` with pydantic, jsonpath-ng, Powertools",
    )


def handler_code(name: str) -> lambda_.Code:
    """The thin handler folder `functions/<name>`; its imports come from the core layer."""
    return lambda_.Code.from_asset(
        str(REPO_ROOT / "functions" / name),
        exclude=["__pycache__", "*.pyc"],
    )
