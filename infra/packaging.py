"""Lambda packaging without Docker: pip installs wheels for the Lambda platform into the asset.

`PythonFunction` needs Docker, which CI machines and many laptops do not run. CDK's local
bundling hook lets us run pip with `--platform` instead, so `cdk synth` produces deployable
assets anywhere. Unit tests skip bundling entirely (context `aws:cdk:bundling-stacks: []`).

Two layers: the core layer (`pipelines` and `functions/requirements.txt`) that every handler
has, and the engine's MLflow layer (`functions/requirements-tracking.txt`: mlflow-skinny and the
sagemaker-mlflow plugin). Lambda unpacks a function's layers into one `/opt`, so the MLflow layer
holds only what the core layer lacks, at versions resolved against the core layer's.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
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
TRACKING_REQUIREMENTS = REPO_ROOT / "functions" / "requirements-tracking.txt"
"""The engine's MLflow layer: mlflow-skinny and sagemaker-mlflow, on top of the core layer."""


def architecture(arm64: bool) -> lambda_.Architecture:
    """The Lambda architecture of the ``lambdaArchitecture`` setting (functions and layers)."""
    return lambda_.Architecture.ARM_64 if arm64 else lambda_.Architecture.X86_64


def pip_platform(arm64: bool) -> str:
    """The manylinux platform tag pip selects wheels for (Lambda runs Amazon Linux 2023)."""
    return "manylinux2014_aarch64" if arm64 else "manylinux2014_x86_64"


def build_fingerprint(
    sources: list[Path], requirements: Path | None, arm64: bool, *, beside: Path | None = None
) -> str:
    """The asset hash of a bundled asset: everything that decides its bytes -- the source files,
    the platform, the Python version, the requirements file and (for a layer that leaves out what
    another layer holds) that layer's requirements. So an arm64 and an x86_64 build (or a changed
    requirements file) never share an S3 key, and any change re-uploads."""
    digest = hashlib.sha256()
    digest.update(f"platform={pip_platform(arm64)};python={PYTHON_VERSION}\n".encode())
    digest.update(requirements.read_bytes() if requirements else b"")
    if beside is not None:
        digest.update(b"\nbeside:\n" + beside.read_bytes())
    for root in sources:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not _ignored(p)):
            digest.update(f"\n{path.relative_to(root.parent).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _ignored(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix == ".pyc"


def _pip(platform: str, *arguments: str) -> None:
    """``pip install`` of wheels for ``platform`` and the functions' Python version."""
    platform_options = ["--platform", platform, "--implementation", "cp", "--python-version", PYTHON_VERSION]
    command = [sys.executable, "-m", "pip", "install", "--quiet", *platform_options, "--only-binary=:all:"]
    subprocess.run([*command, *arguments], check=True)


def resolved_distributions(requirements: list[str], platform: str, scratch: Path) -> dict[str, str]:
    """What pip would install for ``requirements`` (``-r file``, ``-c file``, ``name==v``
    arguments) on ``platform``: canonical name -> version, from pip's own installation report."""
    scratch.mkdir(parents=True, exist_ok=True)
    report = scratch / "report.json"
    target = str(scratch / "target")
    _pip(
        platform,
        "--dry-run",
        "--ignore-installed",
        "--target",
        target,
        "--report",
        str(report),
        *requirements,
    )
    installs = json.loads(report.read_text())["install"]
    return {canonical_name(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}


def canonical_name(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@jsii.implements(cdk.ILocalBundling)
class _PipBundler:
    """Copies sources and pip-installs requirements for the target platform into the output dir.

    With ``beside`` (another layer's requirements file, for a function that has both layers), it
    installs only the distributions that layer does not already hold, with that layer's versions
    as constraints, so the two merge into one consistent ``/opt/python``."""

    def __init__(
        self,
        sources: list[tuple[Path, str]],
        requirements: Path | None,
        target: str,
        arm64: bool,
        *,
        beside: Path | None = None,
    ):
        self._sources = sources
        self._requirements = requirements
        self._beside = beside
        self._target = target
        self._platform = pip_platform(arm64)
        self.fingerprint = build_fingerprint([src for src, _ in sources], requirements, arm64, beside=beside)

    def try_bundle(self, output_dir: str, *, image: Any = None, **_kwargs: Any) -> bool:
        out = Path(output_dir) / self._target
        out.mkdir(parents=True, exist_ok=True)
        if self._requirements is not None and self._beside is None:
            _pip(self._platform, "-r", str(self._requirements), "--target", str(out), "--no-compile")
        elif self._requirements is not None and self._beside is not None:
            _pip(self._platform, "--no-deps", "--target", str(out), "--no-compile", *self._extra_pins(out))
        for src, name in self._sources:
            dest = out / name
            shutil.copytree(
                src,
                dest,
                dirs_exist_ok=True,
                ignore=lambda d, names: [n for n in names if _ignored(Path(d, n))],
            )
        return True

    def _extra_pins(self, out: Path) -> list[str]:
        """``name==version`` for each distribution the requirements need beyond the other layer."""
        assert self._requirements is not None and self._beside is not None
        with tempfile.TemporaryDirectory(dir=out.parent) as scratch:
            base = resolved_distributions(["-r", str(self._beside)], self._platform, Path(scratch, "base"))
            constraints = Path(scratch, "constraints.txt")
            constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(base.items())))
            wanted = resolved_distributions(
                ["-r", str(self._requirements), "-c", str(constraints)], self._platform, Path(scratch, "all")
            )
        return [f"{name}=={version}" for name, version in sorted(wanted.items()) if name not in base]


def _layer(
    scope: Construct, construct_id: str, asset_dir: Path, bundler: _PipBundler, arm64: bool, description: str
) -> lambda_.LayerVersion:
    """A layer built by ``bundler`` (hashed by its fingerprint, so an unchanged layer is not
    rebuilt); ``asset_dir`` is the source folder CDK requires beside the bundling."""
    code = lambda_.Code.from_asset(
        str(asset_dir),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint,
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=bundler, command=["false"]),
    )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=code,
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[architecture(arm64)],
        description=description,
    )


def core_layer(scope: Construct, construct_id: str, *, arm64: bool) -> lambda_.LayerVersion:
    """The core package `pipelines` and its dependencies, shared by every handler."""
    bundler = _PipBundler(
        sources=[(REPO_ROOT / "shared" / "pipelines", "pipelines")],
        requirements=LAYER_REQUIREMENTS,
        target="python",
        arm64=arm64,
    )
    return _layer(
        scope,
        construct_id,
        REPO_ROOT / "shared",
        bundler,
        arm64,
        "Core package `pipelines` with pydantic, jsonpath-ng, Powertools",
    )


def tracking_layer(scope: Construct, construct_id: str, *, arm64: bool) -> lambda_.LayerVersion:
    """The engine's MLflow layer: mlflow-skinny and the sagemaker-mlflow plugin, plus those of
    their dependencies the core layer does not hold (it goes beside the core layer)."""
    bundler = _PipBundler(
        sources=[],
        requirements=TRACKING_REQUIREMENTS,
        target="python",
        arm64=arm64,
        beside=LAYER_REQUIREMENTS,
    )
    return _layer(
        scope,
        construct_id,
        REPO_ROOT / "functions",  # a source folder is required; unused
        bundler,
        arm64,
        "MLflow for the engine: mlflow-skinny and sagemaker-mlflow (beside the core layer)",
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
