"""The bundled asset's hash covers everything that decides its bytes."""

from __future__ import annotations

from pathlib import Path

from infra.packaging import build_fingerprint


def test_the_layer_hash_covers_platform_python_requirements_and_sources(tmp_path: Path) -> None:
    source = tmp_path / "pkg"
    source.mkdir()
    (source / "mod.py").write_text("x = 1\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic>=2\n")
    base = build_fingerprint([source], requirements, arm64=True)
    assert build_fingerprint([source], requirements, arm64=True) == base  # deterministic
    assert build_fingerprint([source], requirements, arm64=False) != base
    requirements.write_text("pydantic>=2\nregex\n")
    changed_requirements = build_fingerprint([source], requirements, arm64=True)
    assert changed_requirements != base
    (source / "mod.py").write_text("x = 2\n")
    changed_source = build_fingerprint([source], requirements, arm64=True)
    assert changed_source != changed_requirements
    (source / "__pycache__").mkdir()  # running the tests must not change what deploys
    (source / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0")
    assert build_fingerprint([source], requirements, arm64=True) == changed_source


def test_the_wheels_are_chosen_for_the_functions_runtime() -> None:
    from infra.packaging import PYTHON_VERSION, RUNTIME

    assert RUNTIME.name == f"python{PYTHON_VERSION}"


def test_a_layer_beside_another_is_rebuilt_when_the_other_layers_requirements_change(tmp_path: Path) -> None:
    """The MLflow layer leaves out what the core layer holds, so the core's requirements decide
    its bytes too."""
    own = tmp_path / "requirements-tracking.txt"
    own.write_text("mlflow-skinny==3.18.0\n")
    core = tmp_path / "requirements.txt"
    core.write_text("pydantic>=2\n")
    base = build_fingerprint([], own, arm64=True, beside=core)
    assert base != build_fingerprint([], own, arm64=True)
    assert base != build_fingerprint([], own, arm64=False, beside=core)
    core.write_text("pydantic>=2\nprotobuf\n")
    assert build_fingerprint([], own, arm64=True, beside=core) != base
