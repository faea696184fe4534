"""What ``cdk synth`` hands to ``cdk deploy``, for every context a user may deploy with: the
default (arm64), ``-c example=true``, and ``-c lambdaArchitecture=x86_64`` (the one the other
rehearsal tests run). Each synth must pass cdk-nag (``synthesize`` fails on any error); every
handler must import from its built assets alone; and a layer built for the other architecture
must hold a wheel for that platform for every compiled dependency (it cannot be imported here).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rehearsal.conftest import SESSION
from tests.rehearsal.harness import Rehearsal
from tests.rehearsal.synth import DEFAULT, EXAMPLE, Assembly, Variant, synthesize

ELF_MACHINES = {62: "x86_64", 183: "arm64"}


def elf_architecture(path: Path) -> str:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), f"machine {header[18:20].hex()}")


def python_functions(assembly: Assembly) -> dict[str, dict]:
    return {
        logical: resource["Properties"]
        for logical, resource in assembly.template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"].get("Runtime") == "python3.12"
    }


def layer_dir(assembly: Assembly) -> Path:
    (layer,) = [
        r["Properties"]["Content"]
        for r in assembly.template["Resources"].values()
        if r["Type"] == "AWS::Lambda::LayerVersion"
    ]
    return assembly.asset(layer) / "python"


def extensions(layer: Path) -> dict[str, Path]:
    """Compiled modules by platform-free name (``pydantic_core/_pydantic_core``)."""
    return {str(p.relative_to(layer)).split(".")[0]: p for p in layer.rglob("*.so")}


def distributions(layer: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in layer.glob("*.dist-info")}


@pytest.mark.parametrize("variant", [DEFAULT, EXAMPLE], ids=lambda v: v.name)
def test_the_arm64_layer_holds_arm64_wheels_for_every_compiled_dependency(
    variant: Variant, runnable: Assembly
) -> None:
    assembly = synthesize(variant, session=SESSION)
    assert {tuple(p.get("Architectures", ["x86_64"])) for p in python_functions(assembly).values()} == {
        ("arm64",)
    }
    arm64, x86_64 = layer_dir(assembly), layer_dir(runnable)
    assert distributions(arm64) == distributions(x86_64)
    built = extensions(arm64)
    assert {name: elf_architecture(p) for name, p in built.items()} == {name: "arm64" for name in built}
    assert set(built) == set(extensions(x86_64))
    assert built, "the layer holds no compiled dependency: the check would prove nothing"


def test_every_handler_imports_from_its_built_assets(rehearsal: Rehearsal, runnable: Assembly) -> None:
    handlers = {
        name: function
        for name, function in rehearsal.lambdas.functions.items()
        if runnable.outdir in function.code.parents
    }
    assert len(handlers) == len(python_functions(runnable)) == 4
    assert {name: rehearsal.lambdas.import_error(name) for name in handlers} == {
        name: None for name in handlers
    }
    for function in handlers.values():
        for layer in function.layers:
            compiled = extensions(layer / "python")
            assert {elf_architecture(p) for p in compiled.values()} == {"x86_64"}
