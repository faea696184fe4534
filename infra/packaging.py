"""Lambda packaging without Docker: pip installs wheels for the Lambda platform into the asset.

`PythonFunction` needs Docker, which CI machines and many laptops do not run. CDK's local
bundling hook lets us run pip with `--platform` instead, so `cdk synth` produces deployable
assets anywhere. Unit tests skip bundling entirely (context `aws:cdk:bundling-stacks: []`).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = RUNTIME.name.removeprefix("python")
"""The interpreter the wheels are chosen for: the runtime's (``3.12``)."""
LAYER_REQUIREMENTS = REPO_ROOT / "functions" / "requirements.txt"


def pip_platform(arm64: bool) -> str:
    """The manylinux platform tag pip selects wheels for (Lambda runs Amazon Linux 2023)."""
    return "manylinux2014_aarch64" if arm64 else "manylinux2014_x86_64"


def build_fingerprint(sources: list[Path], requirements: Path | None, arm64: bool) -> str:
    """The asset hash of a bundled asset: everything that decides its bytes -- the source files,
    the platform, the Python version and the requirements file. So an arm64 and an x86_64 build
    (or a changed requirements file) never share an S3 key, and any change re-uploads."""
    digest = hashlib.sha256()
    digest.update(f"platform={pip_platform(arm64)};python={PYTHON_VERSION}\n".encode())
    digest.update(requirements.read_bytes() if requirements else b"")
    for root in sources:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not _ignored(p)):
            digest.update(f"\n{path.relative_to(root.parent).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _ignored(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix == ".pyc"


@jsii.implements(cdk.ILocalBundling)
class _PipBundler:
    """Copies sources and pip-installs requirements for the target platform into the output dir."""

    def __init__(self, sources: list[tuple[Path, str]], requirements: Path | None, target: str, arm64: bool):
        self._sources = sources
        self._requirements = requirements
        self._target = target
        self._platform = pip_platform(arm64)
        self.fingerprint = build_fingerprint([src for src, _ in sources], requirements, arm64)

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
                    PYTHON_VERSION,
                    "--only-binary=:all:",
                    "--no-compile",
                ],
                check=True,
            )
        for src, name in self._sources:
            dest = out / name
            shutil.copytree(
                src,
                dest,
                dirs_exist_ok=True,
                ignore=lambda d, names: [n for n in names if _ignored(Path(d, n))],
            )
        return True


def _bundled_code(asset_dir: Path, bundler: _PipBundler) -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(asset_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint,
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=bundler, command=["false"]),
    )


def core_layer(scope: Construct, construct_id: str, *, arm64: bool) -> lambda_.LayerVersion:
    """The core package `pipelines` and its dependencies, shared by every handler."""
    bundler = _PipBundler(
        sources=[(REPO_ROOT / "shared" / "pipelines", "pipelines")],
        requirements=LAYER_REQUIREMENTS,
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


def model_archive(source: Path, out_dir: Path) -> Path:
    """``out_dir/model.tar.gz``: ``source``'s files as SageMaker expects a model archive
    (``ModelDataUrl``: one .tar.gz unpacked into /opt/ml/model). Deterministic (sorted names,
    fixed times and owners, no gzip timestamp), so the asset hash changes only with the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / "model.tar.gz"
    files = sorted(p for p in source.rglob("*") if p.is_file() and not _ignored(p))
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        for path in files:
            info = tarfile.TarInfo(path.relative_to(source).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as data:
                tar.addfile(info, data)
    return archive
