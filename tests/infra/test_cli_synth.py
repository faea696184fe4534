"""`npx cdk synth` as a user runs it (an account and region set): every variant synthesizes
with no error annotation, and the assets it stages are the ones `cdk deploy` would upload."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy_artifacts import ACCOUNT, REGION, VARIANTS, Assembly, synthesize


@pytest.fixture(scope="session", params=sorted(VARIANTS))
def assembly(request: pytest.FixtureRequest) -> Assembly:
    return synthesize(request.param)


def test_the_cli_synth_passes_with_literal_arns(assembly: Assembly) -> None:
    """synthesize() raises on a non-zero exit or any error annotation (cdk-nag included); the
    ARNs are the resolved ones cdk-nag must accept."""
    text = (assembly.outdir / f"{assembly.stack_name}.template.json").read_text()
    assert f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:" in text
    assert f"arn:aws:iam::{ACCOUNT}:role/pipelines/*" in text
    architectures = {f.architecture for f in assembly.python_functions().values()}
    assert architectures == {assembly.variant.architecture}


def test_every_python_function_has_its_code_and_the_core_layer(assembly: Assembly) -> None:
    functions = assembly.python_functions()
    expected = {"api", "engine", "trigger"} | (
        {"pipeline_resource"} if "example" in assembly.variant.name else set()
    )
    assert len(functions) == len(expected)
    for function in functions.values():
        assert (function.code_dir / "handler.py").is_file()
        [layer] = function.layer_dirs
        assert (layer / "pipelines" / "__init__.py").is_file()


def test_layer_keys_differ_by_architecture_and_code_is_shared() -> None:
    """The layer's S3 key covers the platform (different binaries, different keys); the handler
    folders are pure source, identical for both, so their content hash is rightly the same."""
    arm, x86 = synthesize("arm64"), synthesize("x86_64")
    assert set(arm.layers().values()).isdisjoint(x86.layers().values())

    def code(assembly: Assembly) -> set[Path]:
        return {f.code_dir.name for f in assembly.python_functions().values()}  # type: ignore[misc]

    assert code(arm) == code(x86)
