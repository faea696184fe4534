"""Every handler imports from its deployed assets alone, and the layers hold what they need.

The handlers run from the CLI synth's staged directories (function code + its layers), in a
fresh python3.12 process with nothing else on ``sys.path`` (see ``tests/lambda_import_probe.py``);
every third-party module reachable from a handler's code must come from its layers. Every handler
has the core layer; the engine also has the MLflow layer (mlflow-skinny and the sagemaker-mlflow
plugin), whose modules it imports only when an execution logs. Lambda unpacks a function's
layers into one /opt, so two layers never hold the same file. The other architecture's layers
cannot be imported here, so they must hold a wheel for that platform for every compiled
dependency, with the same distributions as the layers tested here.
"""

from __future__ import annotations

import importlib.metadata
import re
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
MLFLOW_MODULES = ("mlflow.tracking", "sagemaker_mlflow")
"""What the engine imports on the writing thread for an execution with MlflowConfig."""
TRACKING_REQUIREMENTS = Path(__file__).resolve().parents[2] / "functions" / "requirements-tracking.txt"


@pytest.fixture(scope="module")
def host() -> Assembly:
    """The example variant on this machine's architecture: all four handlers."""
    return synthesized(HOST_EXAMPLE)


@pytest.fixture(scope="module")
def probes(host: Assembly, tmp_path_factory: pytest.TempPathFactory) -> dict[str, HandlerProbe]:
    scratch = tmp_path_factory.mktemp("probes")
    service = {name: fn for name, fn in python_functions(host).items() if fn.layer_dirs}
    return {
        name: probe_handler(fn, scratch, then_import=MLFLOW_MODULES if "Engine" in name else ())
        for name, fn in service.items()
    }


def _engine(probes: dict[str, HandlerProbe]) -> HandlerProbe:
    [engine] = [p for name, p in probes.items() if "Engine" in name]
    return engine


def lambda_supported_tags(machine: str) -> set[Tag]:
    """The wheel tags CPython 3.12 on Lambda (Amazon Linux 2023, glibc 2.34) loads for ``machine``:
    what pip's ``--platform manylinux2014_<machine>`` selects from."""
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in range(34, 4, -1)] + [
        f"manylinux2014_{machine}"
    ]
    return set(cpython_tags((3, 12), platforms=platforms)) | set(compatible_tags((3, 12), "cp312", platforms))


def _layers(assembly: Assembly) -> dict[str, Path]:
    """Each layer's import root (``/opt/python``) by what it is: ``core`` (it holds ``pipelines``)
    or ``mlflow`` (it holds ``mlflow``)."""
    kinds: dict[str, Path] = {}
    for layer in layers(assembly).values():
        root = layer / "python"
        kind = "core" if (root / "pipelines").is_dir() else "mlflow" if (root / "mlflow").is_dir() else None
        assert kind is not None and kind not in kinds, f"unexpected layer {layer}"
        kinds[kind] = root
    assert kinds.keys() == {"core", "mlflow"}
    return kinds


def _layer(assembly: Assembly) -> Path:
    """The core layer's import root."""
    return _layers(assembly)["core"]


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


@pytest.mark.parametrize("kind", ["core", "mlflow"])
def test_the_other_architectures_layer_has_a_wheel_for_every_compiled_dependency(
    host: Assembly, kind: str
) -> None:
    other_name = "arm64" if HOST_ARCHITECTURE == "x86_64" else "x86_64"
    [other_variant] = [
        v for v in SYNTH_VARIANTS.values() if architecture(v) == other_name and v.context.get("example")
    ]
    other = _layers(synthesized(other_variant))[kind]
    platform_tag = "aarch64" if other_name == "arm64" else "x86_64"
    tags = wheel_tags(other)
    assert tags.keys() == wheel_tags(_layers(host)[kind]).keys()  # the same distributions and versions
    compiled = {dist: t for dist, t in tags.items() if not all(tag.endswith("-none-any") for tag in t)}
    assert compiled  # pydantic-core, regex / protobuf, cryptography ...: something to check
    supported = lambda_supported_tags(platform_tag)
    unsupported = {d: t for d, t in compiled.items() if not any(parse_tag(tag) & supported for tag in t)}
    assert unsupported == {}
    shared_objects = list(other.rglob("*.so"))
    assert shared_objects
    wrong = {str(so.relative_to(other)): elf_architecture(so) for so in shared_objects}
    assert {k: v for k, v in wrong.items() if v != other_name} == {}


def test_only_the_engine_has_the_mlflow_layer(host: Assembly) -> None:
    by_kind = {path.parent: kind for kind, path in _layers(host).items()}
    for name, function in python_functions(host).items():
        kinds = [by_kind[d] for d in function.layer_dirs]
        if not kinds:
            continue  # the example's own Lambda steps
        assert kinds == (["core", "mlflow"] if "Engine" in name else ["core"]), name


def test_the_two_layers_never_hold_the_same_file_or_distribution(host: Assembly) -> None:
    """Lambda unpacks both into /opt: a shared path would be overwritten by the later layer."""
    roots = _layers(host)
    core, mlflow = (
        {p.relative_to(roots[k]) for p in roots[k].rglob("*") if p.is_file()} for k in ("core", "mlflow")
    )
    assert core & mlflow == set()
    core_names = {d.split("==")[0] for d in wheel_tags(roots["core"])}
    mlflow_names = {d.split("==")[0] for d in wheel_tags(roots["mlflow"])}
    assert core_names & mlflow_names == set()
    assert {"mlflow-skinny", "sagemaker-mlflow", "protobuf"} <= mlflow_names


def test_the_mlflow_layer_holds_the_pinned_versions_the_tests_run_with(host: Assembly) -> None:
    """What functions/requirements-tracking.txt pins (also installed into the test environment by
    requirements-extras.txt): pip left alone picks protobuf 7 for Lambda, against 6.x here."""
    pins = dict(
        re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()  # type: ignore[union-attr]
        for line in TRACKING_REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert {"mlflow-skinny", "sagemaker-mlflow", "protobuf"} <= pins.keys()
    in_layer = dict(d.split("==") for d in wheel_tags(_layers(host)["mlflow"]))
    for name, version in pins.items():
        canonical = re.sub(r"[-_.]+", "-", name).lower()
        assert in_layer.get(canonical) == version == importlib.metadata.version(name), name


def test_the_engine_imports_mlflow_and_the_plugin_from_its_layers_only_when_it_logs(
    probes: dict[str, HandlerProbe],
) -> None:
    engine = _engine(probes)
    # Lazy: importing the handler loads no MLflow, so executions without MlflowConfig never pay.
    assert [m for m in engine.loaded_at_import if m.split(".")[0] in ("mlflow", "sagemaker_mlflow")] == []
    # A first write imports both, from the layers, with no error.
    assert engine.errors == []
    assert {m: i["origin"] for m, i in engine.then_import.items()} == dict.fromkeys(MLFLOW_MODULES, "layer")
    assert engine.loaded["mlflow"] == engine.loaded["sagemaker_mlflow"] == "layer"
    # mlflow finds the plugin through its entry points: the ARN scheme's tracking store and signer.
    stores = engine.entry_points.get("mlflow.tracking_store", [])
    assert "arn=sagemaker_mlflow.mlflow_sagemaker_store:MlflowSageMakerStore" in stores
    assert (
        "arn=sagemaker_mlflow.auth_provider:AuthProvider"
        in engine.entry_points["mlflow.request_auth_provider"]
    )
    # The walk reached them from the engine's code (pipelines.tracking.cloud) and they resolved.
    assert engine.third_party["sagemaker_mlflow"]["origin"] == "layer"
    others = [p for name, p in probes.items() if "Engine" not in name]
    assert others and all(p.entry_points == {} for p in others)  # no MLflow in the other handlers


def test_each_function_fits_lambdas_unzipped_size_limit(host: Assembly) -> None:
    """Function code plus all its layers (the engine: both), unzipped."""
    for name, function in python_functions(host).items():
        total = directory_megabytes(function.code_dir) + sum(
            directory_megabytes(d) for d in function.layer_dirs
        )
        assert total < LAMBDA_UNZIPPED_LIMIT_MB, name
