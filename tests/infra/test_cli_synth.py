"""`npx cdk synth` as a user runs it (an account and region set): every variant synthesizes
with no error annotation, and the assets it stages are the ones `cdk deploy` would upload.

The synths are the rehearsal's (one per variant and test run, see tests/rehearsal/synth.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy_artifacts import (
    SYNTH_VARIANTS,
    Assembly,
    architecture,
    error_annotations,
    layers,
    python_functions,
    synthesized,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", params=sorted(SYNTH_VARIANTS))
def assembly(request: pytest.FixtureRequest) -> Assembly:
    return synthesized(SYNTH_VARIANTS[request.param])


def test_the_cli_synth_passes_with_literal_arns(assembly: Assembly) -> None:
    """The CLI exited 0 (else synthesized() raises), no error annotation (cdk-nag included) is
    recorded, and the ARNs are the resolved ones cdk-nag had to accept."""
    assert error_annotations(assembly) == []
    text = (assembly.outdir / f"{assembly.stack_name}.template.json").read_text()
    assert f"arn:aws:states:{assembly.region}:{assembly.account}:stateMachine:" in text
    assert f"arn:aws:iam::{assembly.account}:role/pipelines/*" in text
    assert {f.architecture for f in python_functions(assembly).values()} == {architecture(assembly.variant)}


def test_every_python_function_has_its_code_and_the_core_layer(assembly: Assembly) -> None:
    """The core layer first; the engine alone has a second one, with MLflow."""
    functions = python_functions(assembly)
    example = assembly.variant.context.get("example") == "true"
    service = {k: f for k, f in functions.items() if f.layer_dirs}
    assert len(service) == (4 if example else 3)
    for name, function in service.items():
        assert (function.code_dir / "handler.py").is_file()
        core, *more = function.layer_dirs
        assert (core / "python" / "pipelines" / "__init__.py").is_file()
        if "Engine" in name:
            [tracking] = more
            assert (tracking / "python" / "mlflow" / "__init__.py").is_file()
            assert (tracking / "python" / "sagemaker_mlflow" / "__init__.py").is_file()
            assert not (tracking / "python" / "pipelines").exists()
        else:
            assert more == [], name
    # The example's own Lambda steps: their code and the validation set Evaluate reads by default.
    steps = {f.handler: f for f in functions.values() if not f.layer_dirs}
    assert sorted(steps) == (["functions.evaluate.handler", "functions.summarize.handler"] if example else [])
    for function in steps.values():
        assert (function.code_dir / "data" / "validation.csv").is_file()
        assert not (function.code_dir / "pipeline.json").exists()


def test_layer_keys_differ_by_architecture_and_code_is_shared() -> None:
    """Each layer's S3 key covers the platform (different binaries, different keys); the handler
    folders are pure source, identical for both, so their content hash is rightly the same."""
    arm = synthesized(SYNTH_VARIANTS["example-arm64"])
    x86 = synthesized(SYNTH_VARIANTS["example-x86_64"])
    assert len(layers(arm)) == len(layers(x86)) == 2  # core, and the engine's MLflow layer
    assert len({p.name for p in layers(arm).values()}) == 2
    assert {p.name for p in layers(arm).values()}.isdisjoint(p.name for p in layers(x86).values())

    def code(assembly: Assembly) -> set[str]:
        return {f.code_dir.name for f in python_functions(assembly).values()}

    assert code(arm) == code(x86)


CONSOLE_TYPES = ("AWS::CloudFront::Distribution", "AWS::Cognito::UserPool", "AWS::Cognito::IdentityPool")


def test_the_console_is_deployed_unless_switched_off(assembly: Assembly) -> None:
    """On by default (with the committed build and its generated config.json as the sources of
    its BucketDeployment); ``-c console=false`` leaves out its resources and the API's CORS."""
    resources = assembly.template["Resources"].values()
    kinds = {r["Type"] for r in resources}
    methods = {r["Properties"]["HttpMethod"] for r in resources if r["Type"] == "AWS::ApiGateway::Method"}
    # the console's files go to its own bucket (the example stack deploys its model file too)
    console_deployments = [
        r
        for r in resources
        if r["Type"] == "Custom::CDKBucketDeployment"
        and str(r["Properties"]["DestinationBucketName"].get("Ref", "")).startswith("Console")
    ]
    if assembly.variant.context.get("console") == "false":
        assert not kinds & set(CONSOLE_TYPES) and not console_deployments
        assert "OPTIONS" not in methods
        return
    assert set(CONSOLE_TYPES) <= kinds and "OPTIONS" in methods
    [deployment] = console_deployments
    build, config = (assembly.assets[key] for key in deployment["Properties"]["SourceObjectKeys"])
    static = REPO / "shared" / "pipelines" / "console" / "static"
    assert sorted(p.relative_to(build) for p in build.rglob("*") if p.is_file()) == sorted(
        p.relative_to(static) for p in static.rglob("*") if p.is_file()
    )
    assert (config / "_console" / "config.json").is_file()
