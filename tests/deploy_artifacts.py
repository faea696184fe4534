"""What `cdk deploy` would upload, for tests: the CDK CLI's own synth, and the Lambda assets in it.

``synthesize(name)`` runs ``npx cdk synth`` exactly as a user does (``CDK_DEFAULT_ACCOUNT``,
``CDK_DEFAULT_REGION`` and ``AWS_REGION`` set, the repository's ``cdk.json``) for one of
:data:`VARIANTS` and returns the cloud assembly: the template, and each Python Lambda with its
asset directories (function code + layer import roots) and environment. A synth with any error
annotation (cdk-nag included) or a non-zero exit raises :class:`SynthFailed`.

Cost: one ``cdk.out`` per variant under ``.cdk-synth/`` (git-ignored), reused while nothing that
feeds the synth changed (a digest of app.py, cdk.json, infra/, functions/ and shared/pipelines/),
and guarded by a file lock so pytest-xdist workers synthesize each variant once. The layer is
built by pip for each architecture; the ``example`` variant starts from the host variant's staged
assets (same content hash, so CDK skips bundling them again).

Used by the infra tests (``tests/infra/test_cli_synth.py``, ``test_layer_imports.py``) and by the
deploy rehearsal, which runs the handlers from these very directories.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE_ROOT = REPO / ".cdk-synth"
ACCOUNT = "111111111111"
REGION = "eu-west-1"
HOST_ARCHITECTURE = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
SYNTH_TIMEOUT_SECONDS = 1200
_INPUTS = ("app.py", "cdk.json", "infra", "functions", "shared/pipelines")


@dataclass(frozen=True)
class Variant:
    """One way a user synthesizes the stack: the `-c key=value` options given to the CLI."""

    name: str
    context: Mapping[str, str]

    @property
    def architecture(self) -> str:
        return self.context.get("lambdaArchitecture", "arm64")


VARIANTS: dict[str, Variant] = {
    "arm64": Variant("arm64", {"lambdaArchitecture": "arm64"}),  # cdk.json's default
    "x86_64": Variant("x86_64", {"lambdaArchitecture": "x86_64"}),
    # The example on the host's architecture, so its handlers can be run here.
    "example": Variant("example", {"lambdaArchitecture": HOST_ARCHITECTURE, "example": "true"}),
}


class SynthFailed(AssertionError):
    """`cdk synth` exited non-zero or reported an error annotation; carries its output."""


@dataclass(frozen=True)
class LambdaAsset:
    """One Python function as deployed: what Lambda unzips into /var/task and /opt."""

    logical_id: str
    handler: str  # module.function
    runtime: str
    architecture: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]  # each layer's import root (asset/python = /opt/python)
    environment: Mapping[str, Any]  # as in the template; values may be intrinsics

    @property
    def handler_module(self) -> str:
        return self.handler.rpartition(".")[0]

    def literal_environment(self) -> dict[str, str]:
        """The environment variables whose template values are plain strings."""
        return {k: v for k, v in self.environment.items() if isinstance(v, str)}


@dataclass
class Assembly:
    """The CLI's output for one variant."""

    variant: Variant
    outdir: Path
    stack_name: str
    template: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}

    def asset_dir(self, s3_key: Any) -> Path:
        """The staged directory of an asset referenced by a ``Code``/``Content`` S3 key."""
        if not isinstance(s3_key, str) or not s3_key.endswith(".zip"):
            raise ValueError(f"not a zip asset key: {s3_key!r}")
        path = self.outdir / f"asset.{s3_key.removesuffix('.zip')}"
        if not path.is_dir():
            raise FileNotFoundError(f"{path} is not in the cloud assembly")
        return path

    def layers(self) -> dict[str, Path]:
        """Each layer's import root, by logical id."""
        return {
            logical_id: self.asset_dir(layer["Properties"]["Content"]["S3Key"]) / "python"
            for logical_id, layer in self.resources("AWS::Lambda::LayerVersion").items()
        }

    def python_functions(self) -> dict[str, LambdaAsset]:
        """Every Python function with code from an asset (not CDK's inline helpers)."""
        layers = self.layers()
        functions: dict[str, LambdaAsset] = {}
        for logical_id, resource in self.resources("AWS::Lambda::Function").items():
            props = resource["Properties"]
            code = props.get("Code", {})
            if not str(props.get("Runtime", "")).startswith("python") or "S3Key" not in code:
                continue
            refs = [ref["Ref"] for ref in props.get("Layers", []) if isinstance(ref, dict) and "Ref" in ref]
            functions[logical_id] = LambdaAsset(
                logical_id=logical_id,
                handler=props["Handler"],
                runtime=props["Runtime"],
                architecture=(props.get("Architectures") or ["x86_64"])[0],
                code_dir=self.asset_dir(code["S3Key"]),
                layer_dirs=tuple(layers[ref] for ref in refs),
                environment=(props.get("Environment") or {}).get("Variables", {}),
            )
        return functions

    def outputs(self) -> dict[str, Any]:
        return {name: output["Value"] for name, output in self.template.get("Outputs", {}).items()}


def inputs_digest(variant: Variant) -> str:
    """Everything that feeds the synth; an unchanged digest means the last output still holds."""
    digest = hashlib.sha256(json.dumps([ACCOUNT, REGION, dict(variant.context)]).encode())
    for name in _INPUTS:
        root = REPO / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(f"\n{path.relative_to(REPO).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cli_environment() -> dict[str, str]:
    """The CLI's environment: an account and region (the CLI takes the region from the SDK's
    settings, so AWS_REGION too), no credentials lookups, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        CDK_DEFAULT_ACCOUNT=ACCOUNT,
        CDK_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    return env


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@functools.cache
def synthesize(name: str) -> Assembly:
    """The cloud assembly of ``VARIANTS[name]``, synthesized by the CDK CLI (or reused)."""
    variant = VARIANTS[name]
    outdir = CACHE_ROOT / name
    stamp = CACHE_ROOT / f"{name}.inputs"
    with _locked(CACHE_ROOT / f"{name}.lock"):
        digest = inputs_digest(variant)
        if not (stamp.is_file() and stamp.read_text() == digest and (outdir / "manifest.json").is_file()):
            if name == "example":
                _seed_from(synthesize_host_variant(), outdir)
            _run_cli(variant, outdir)
            stamp.write_text(digest)
        return _read_assembly(variant, outdir)


def synthesize_host_variant() -> Assembly:
    return synthesize(HOST_ARCHITECTURE)


def _seed_from(source: Assembly, outdir: Path) -> None:
    """Hard-link another variant's staged assets in: identical hashes are identical content, and
    CDK does not bundle an asset whose directory is already staged."""
    outdir.mkdir(parents=True, exist_ok=True)
    for asset in source.outdir.glob("asset.*"):
        target = outdir / asset.name
        if asset.is_dir() and not target.exists():
            shutil.copytree(asset, target, copy_function=os.link)


def _run_cli(variant: Variant, outdir: Path) -> None:
    command = ["npx", "--no", "cdk", "synth", "--quiet", "--output", str(outdir)]
    for key, value in variant.context.items():
        command += ["-c", f"{key}={value}"]
    result = subprocess.run(
        command,
        cwd=REPO,
        env=cli_environment(),
        capture_output=True,
        text=True,
        timeout=SYNTH_TIMEOUT_SECONDS,
    )
    output = result.stdout + result.stderr
    (outdir.parent / f"{variant.name}.log").write_text(output)
    errors = _error_annotations(outdir) if (outdir / "manifest.json").is_file() else []
    if result.returncode != 0 or errors:
        shown = "\n".join(errors) or output[-6000:]
        raise SynthFailed(
            f"`{' '.join(command)}` exited {result.returncode} with {len(errors)} error annotation(s):\n{shown}"
        )
    _prune_unreferenced_assets(outdir)


def _manifest_entries(outdir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        for path, entries in (artifact.get("metadata") or {}).items():
            for entry in entries:
                yield path, entry


def _error_annotations(outdir: Path) -> list[str]:
    return [
        f"{path}: {entry.get('data')}"
        for path, entry in _manifest_entries(outdir)
        if entry.get("type") == "aws:cdk:error"
    ]


def _prune_unreferenced_assets(outdir: Path) -> None:
    """Drop staged assets of earlier synths (a layer is ~50 MB) that this one no longer uses."""
    referenced: set[str] = set()
    for assets_file in outdir.glob("*.assets.json"):
        for entry in json.loads(assets_file.read_text()).get("files", {}).values():
            referenced.add(Path(entry["source"]["path"]).name)
    for staged in outdir.glob("asset.*"):
        if staged.name not in referenced and staged.is_dir():
            shutil.rmtree(staged)


def _read_assembly(variant: Variant, outdir: Path) -> Assembly:
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = [
        (name, artifact)
        for name, artifact in manifest["artifacts"].items()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]
    if len(stacks) != 1:
        raise SynthFailed(f"expected one stack in {outdir}, found {[n for n, _ in stacks]}")
    name, artifact = stacks[0]
    template = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
    warnings = [
        f"{path}: {entry.get('data')}"
        for path, entry in _manifest_entries(outdir)
        if entry.get("type") == "aws:cdk:warning"
    ]
    return Assembly(variant, outdir, name, template, warnings)


def wheel_tags(layer_dir: Path) -> dict[str, list[str]]:
    """``name==version`` -> the wheel tags pip installed, for each distribution in a layer."""
    tags: dict[str, list[str]] = {}
    for wheel in sorted(layer_dir.glob("*.dist-info/WHEEL")):
        dist = wheel.parent.name.removesuffix(".dist-info")
        name, _, version = dist.partition("-")
        key = f"{re.sub(r'[-_.]+', '-', name).lower()}=={version}"
        tags[key] = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
    return tags


ELF_MACHINES = {62: "x86_64", 183: "arm64"}


def elf_architecture(path: Path) -> str:
    """The architecture a shared object is compiled for, from its ELF header's e_machine."""
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    machine = int.from_bytes(header[18:20], "little")
    return ELF_MACHINES.get(machine, f"e_machine={machine}")


def directory_megabytes(path: Path) -> float:
    """Unzipped size, as Lambda counts it against the 250 MB limit."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


@functools.cache
def lambda_python() -> str:
    """An interpreter matching the functions' runtime (python3.12): ``$LAMBDA_PYTHON``, else a
    pyenv-installed 3.12, else ``python3.12`` on PATH. Fails (never skips) when there is none."""
    candidates = [os.environ.get("LAMBDA_PYTHON", "")]
    candidates += sorted(str(p) for p in (Path.home() / ".pyenv" / "versions").glob("3.12*/bin/python3.12"))
    candidates.append(shutil.which("python3.12") or "")
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-I", "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
        )
        if probe.stdout.strip() == "True":
            return candidate
    raise FileNotFoundError("no Python 3.12 interpreter (Lambda's runtime): set LAMBDA_PYTHON")


PROBE = Path(__file__).resolve().parent / "lambda_import_probe.py"


@dataclass
class HandlerProbe:
    """What importing one handler from its assets alone found (see lambda_import_probe.py)."""

    function: LambdaAsset
    import_seconds: float
    import_cpu_seconds: float  # less sensitive to a loaded machine than the wall time
    errors: list[str]
    third_party: dict[str, dict[str, Any]]
    first_party: list[str]
    loaded: dict[str, str]  # module -> function | layer<i> | stdlib | builtin | elsewhere:<path>


def probe_handler(function: LambdaAsset, scratch: Path) -> HandlerProbe:
    """Import ``function``'s handler in a fresh Lambda-like Python process (see the probe)."""
    if function.architecture != HOST_ARCHITECTURE:
        raise ValueError(f"{function.logical_id} is built for {function.architecture}, not this host")
    result_file = scratch / f"{function.logical_id}.probe.json"
    request = {
        "code_dir": str(function.code_dir),
        "layer_dirs": [str(p) for p in function.layer_dirs],
        "handler": function.handler,
        "result": str(result_file),
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **function.literal_environment(),
    }
    completed = subprocess.run(
        [lambda_python(), "-I", "-S", "-B", str(PROBE)],
        input=json.dumps(request),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0 or not result_file.is_file():
        raise AssertionError(
            f"the import probe of {function.logical_id} crashed:\n{completed.stderr[-4000:]}"
        )
    data = json.loads(result_file.read_text())
    return HandlerProbe(
        function=function,
        import_seconds=data["import_seconds"],
        import_cpu_seconds=data["import_cpu_seconds"],
        errors=data["errors"],
        third_party=data["third_party"],
        first_party=data["first_party"],
        loaded=data["loaded"],
    )
