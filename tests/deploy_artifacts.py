"""What `cdk deploy` would upload, for tests: each Python Lambda's staged directories.

The synth itself is the rehearsal's (:mod:`tests.rehearsal.synth`: ``npx cdk synth`` with an
account and region set, once per context variant and test run, into ``.rehearsal/<variant>/``);
this module reads its output without moto: :func:`python_functions` lists each Python function
with its code and layer directories, :func:`probe_handler` imports a handler from those alone in a
fresh Python 3.12 process (``tests/lambda_import_probe.py``), and :func:`wheel_tags` /
:func:`elf_architecture` say what platform a layer was built for. Used by
``tests/infra/test_cli_synth.py``, ``tests/infra/test_layer_imports.py`` and
``benchmarks/lambda_cold_start.py``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.rehearsal.invoker import find_python312, import_roots
from tests.rehearsal.stack import PYTHON_RUNTIMES
from tests.rehearsal.synth import (
    CONSOLE_OFF,
    DEFAULT,
    EXAMPLE,
    REGION,
    RUNNABLE,
    SESSION,
    Assembly,
    Variant,
    synthesize,
)

HOST_ARCHITECTURE = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
HOST_EXAMPLE: Variant = RUNNABLE if HOST_ARCHITECTURE == "x86_64" else EXAMPLE
"""The example stack built for this machine: every handler, runnable here."""
SYNTH_VARIANTS: dict[str, Variant] = {
    "default": DEFAULT,  # cdk.json's context: arm64
    "example-arm64": EXAMPLE,
    "example-x86_64": RUNNABLE,
    "console-off": CONSOLE_OFF,
}
"""Both ``lambdaArchitecture`` values, ``-c example=true`` and ``-c console=false``, as a user
synthesizes them."""


def synthesized(variant: Variant) -> Assembly:
    """The CLI synth of ``variant`` in this test run (shared with the rehearsal)."""
    return synthesize(variant, session=SESSION)


def architecture(variant: Variant) -> str:
    return variant.context.get("lambdaArchitecture", "arm64")


@dataclass(frozen=True)
class LambdaAsset:
    """One Python function as deployed: what Lambda unzips into /var/task and /opt."""

    logical_id: str
    handler: str  # module.function
    runtime: str
    architecture: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]  # each layer's staged asset directory (unzipped into /opt)
    environment: Mapping[str, Any]  # as in the template; values may be intrinsics

    @property
    def handler_module(self) -> str:
        return self.handler.rpartition(".")[0]

    def literal_environment(self) -> dict[str, str]:
        """The environment variables whose template values are plain strings."""
        return {k: v for k, v in self.environment.items() if isinstance(v, str)}


def _asset_dir(assembly: Assembly, code: Mapping[str, Any]) -> Path:
    path = assembly.asset(code)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} is not a staged directory")
    return path


def layers(assembly: Assembly) -> dict[str, Path]:
    """Each layer's staged asset directory (its ``python/`` is Lambda's ``/opt/python``), by logical id.

    Layers CDK ships prebuilt (the AWS CLI layer of the console's BucketDeployment, a zip file
    asset) are CDK's, not built here, and left out."""
    return {
        logical_id: _asset_dir(assembly, layer["Properties"]["Content"])
        for logical_id, layer in assembly.template["Resources"].items()
        if layer["Type"] == "AWS::Lambda::LayerVersion"
        and assembly.asset(layer["Properties"]["Content"]).is_dir()
    }


def python_functions(assembly: Assembly) -> dict[str, LambdaAsset]:
    """Every Python function of ours, with code from an asset, by logical id: on the stack's
    Python runtime. CDK's own helpers (inline code, or the BucketDeployment handler on CDK's
    runtime with its AWS CLI layer) are CDK's to build and test."""
    staged = layers(assembly)
    functions: dict[str, LambdaAsset] = {}
    for logical_id, resource in assembly.template["Resources"].items():
        props = resource.get("Properties", {})
        code = props.get("Code", {})
        if resource["Type"] != "AWS::Lambda::Function" or props.get("Runtime") not in PYTHON_RUNTIMES:
            continue
        if "S3Key" not in code:
            continue
        refs = [ref["Ref"] for ref in props.get("Layers", []) if isinstance(ref, dict) and "Ref" in ref]
        functions[logical_id] = LambdaAsset(
            logical_id=logical_id,
            handler=props["Handler"],
            runtime=props["Runtime"],
            architecture=(props.get("Architectures") or ["x86_64"])[0],
            code_dir=_asset_dir(assembly, code),
            layer_dirs=tuple(staged[ref] for ref in refs),
            environment=(props.get("Environment") or {}).get("Variables", {}),
        )
    return functions


def error_annotations(assembly: Assembly) -> list[str]:
    """Error annotations (cdk-nag findings included) recorded in the cloud assembly."""
    return [
        f"{path}: {entry.get('data')}"
        for path, entry in _metadata(assembly)
        if entry.get("type") == "aws:cdk:error"
    ]


def _metadata(assembly: Assembly) -> Iterator[tuple[str, dict[str, Any]]]:
    manifest = json.loads((assembly.outdir / "manifest.json").read_text())
    for artifact in manifest.get("artifacts", {}).values():
        for path, entries in (artifact.get("metadata") or {}).items():
            for entry in entries:
                yield path, entry


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
    loaded: dict[str, str]  # module -> function | layer | stdlib | builtin | elsewhere:<path>
    loaded_at_import: list[str]  # what importing the handler alone loaded (before the walk)
    then_import: dict[str, dict[str, Any]]  # module -> {seconds, cpu_seconds, origin}
    entry_points: dict[str, list[str]]  # mlflow.* group -> ["name=module:attr", ...]


def probe_handler(function: LambdaAsset, scratch: Path, then_import: tuple[str, ...] = ()) -> HandlerProbe:
    """Import ``function``'s handler in a fresh Lambda-like Python process (see the probe), then
    the ``then_import`` modules (what a first invocation may import lazily)."""
    if function.architecture != HOST_ARCHITECTURE:
        raise ValueError(f"{function.logical_id} is built for {function.architecture}, not this host")
    result_file = scratch / f"{function.logical_id}.probe.json"
    request = {
        "code_dir": str(function.code_dir),
        "layer_dirs": [str(p) for p in import_roots(function.code_dir, function.layer_dirs)[1:]],
        "handler": function.handler,
        "result": str(result_file),
        "then_import": list(then_import),
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
        [find_python312(), "-I", "-S", "-B", str(PROBE)],
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
        loaded_at_import=data["loaded_at_import"],
        then_import=data["then_import"],
        entry_points=data["entry_points"],
    )
