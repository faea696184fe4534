"""Every handler imports from its deployed assets alone, and the layer holds what they need.

The handlers run from the CLI synth's staged directories (function code + layer), in a fresh
python3.12 process with nothing else on ``sys.path`` (see ``tests/lambda_import_probe.py``);
every third-party module reachable from a handler's code must come from the layer. The other
architecture's layer cannot be imported here, so it must hold a wheel for that platform for every
compiled dependency, with the same distributions as the layer tested here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

from tests.deploy_artifacts import (
    HOST_ARCHITECTURE,
    HOST_EXAMPLE,
    SYNTH_VARIANTS,
    Assembly,
    HandlerProbe,
    architecture,
    directory_megabytes,
    elf_architecture,
    layers,
    probe_handler,
    python_functions,
    synthesized,
    wheel_tags,
)

LAMBDA_UNZIPPED_LIMIT_MB = 250
"""Function code plus all its layers, unzipped (Lambda's quota)."""


@pytest.fixture(scope="module")
def host() -> Assembly:
    """The example variant on this machine's architecture: all four handlers."""
    return synthesized(HOST_EXAMPLE)


@pytest.fixture(scope="module")
def probes(host: Assembly, tmp_path_factory: pytest.TempPathFactory) -> dict[str, HandlerProbe]:
    scratch = tmp_path_factory.mktemp("probes")
    service = {name: fn for name, fn in python_functions(host).items() if fn.layer_dirs}
    return {name: probe_handler(fn, scratch) for name, fn in service.items()}


def lambda_supported_tags(machine: str) -> set[Tag]:
    """The wheel tags CPython 3.12 on Lambda (Amazon Linux 2023, glibc 2.34) loads for ``machine``:
    what pip's ``--platform manylinux2014_<machine>`` selects from."""
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(34, 4, -1)] + [
        f"manylinux2014_{machine}"
    ]
    return set(cpython_tags((3, 12), platforms=platforms)) | set(compatible_tags((3, 12), "cp312", platforms))


def _layer(assembly: Assembly) -> Path:
    """The core layer's import root (``/opt/python``)."""
    [layer] = layers(assembly).values()
    return layer / "python"


def test_all_four_handlers_are_probed(probes: dict[str, HandlerProbe]) -> None:
    names = {probe.function.code_dir.name for probe in probes.values()}
    assert len(probes) == 4 and len(names) == 4


def test_every_handler_imports_from_its_assets_alone(probes: dict[str, HandlerProbe]) -> None:
    for name, probe in probes.items():
        assert probe.errors == [], name
        stray = {m: o for m, o in probe.loaded.items() if o.startswith("elsewhere")}
        assert stray == {}, f"{name} loaded modules from outside its assets"
        assert probe.loaded["pipelines"] == "layer"
        assert probe.loaded[probe.function.handler_module] == "function"


def test_every_third_party_module_the_code_reaches_resolves_from_the_layer(
    probes: dict[str, HandlerProbe],
) -> None:
    for name, probe in probes.items():
        assert probe.third_party, name  # the walk found the code's imports
        required = {m: e for m, e in probe.third_party.items() if not e["optional"]}
        unresolved = {m: e["origin"] for m, e in required.items() if e["origin"] != "layer"}
        assert unresolved == {}, name
    # The walk follows imports inside functions too: the api reaches the validator's `regex`.
    api = next(p for p in probes.values() if "Api" in p.function.logical_id)
    assert "regex" in api.third_party and "pipelines.api.validation" in api.first_party


def test_no_lambda_reaches_a_mocking_library(host: Assembly, probes: dict[str, HandlerProbe]) -> None:
    for name, probe in probes.items():
        assert [m for m in probe.loaded if m.split(".")[0] == "moto"] == [], name
        assert [m for m in probe.third_party if m.split(".")[0] == "moto"] == [], name
    api = next(p for p in probes.values() if "Api" in p.function.logical_id)
    assert "pipelines.api.rest_json" in api.first_party  # the REST subsets, from botocore's model
    assert "pipelines.api.codec" in api.first_party  # one codec for every protocol, no moto
    layer = _layer(host)
    assert not (layer / "moto").exists()
    assert not [t for t in wheel_tags(layer) if t.startswith(("moto==", "responses=="))]


def test_the_other_architectures_layer_has_a_wheel_for_every_compiled_dependency(host: Assembly) -> None:
    other_name = "arm64" if HOST_ARCHITECTURE == "x86_64" else "x86_64"
    [other_variant] = [
        v for v in SYNTH_VARIANTS.values() if architecture(v) == other_name and v.context.get("example")
    ]
    other = _layer(synthesized(other_variant))
    platform_tag = "aarch64" if other_name == "arm64" else "x86_64"
    tags = wheel_tags(other)
    assert tags.keys() == wheel_tags(_layer(host)).keys()  # the same distributions and versions
    compiled = {dist: t for dist, t in tags.items() if not all(tag.endswith("-none-any") for tag in t)}
    assert compiled  # pydantic-core, regex, ...: the check below has something to check
    supported = lambda_supported_tags(platform_tag)
    unsupported = {d: t for d, t in compiled.items() if not any(parse_tag(tag) & supported for tag in t)}
    assert unsupported == {}
    shared_objects = list(other.rglob("*.so"))
    assert shared_objects
    wrong = {str(so.relative_to(other)): elf_architecture(so) for so in shared_objects}
    assert {k: v for k, v in wrong.items() if v != other_name} == {}


def test_each_function_fits_lambdas_unzipped_size_limit(host: Assembly) -> None:
    for name, function in python_functions(host).items():
        total = directory_megabytes(function.code_dir) + sum(
            directory_megabytes(d) for d in function.layer_dirs
        )
        assert total < LAMBDA_UNZIPPED_LIMIT_MB, name
