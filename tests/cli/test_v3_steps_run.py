"""``pipelines run`` end to end with ForEach, Cleanup and Lineage steps: real processing scripts
and Lambda handlers made here, the v3 SDK's definitions (tests/fixtures/sdk_v3, with the code
input a local run needs) and a Lineage step built with the real SDK (v2, in this venv)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pipelines.cli import app
from pipelines.config import load_config
from pipelines.hosting import EndpointHost
from pipelines.objects import LocalObjectStore

from tests.sdk.generate_v2 import offline_sdk

from .helpers import Invoke

SDK_V3 = Path(__file__).resolve().parents[1] / "fixtures" / "sdk_v3"
BUCKET = "s3://sdk-fixtures-bucket"
CODE = f"{BUCKET}/code/"
SCRIPT = """
import argparse, os, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--region"); parser.add_argument("--rows"); parser.add_argument("--item"); parser.add_argument("--in")
args = parser.parse_args()
out = pathlib.Path("/opt/ml/processing/out")
if args.region:
    (out / f"{args.region}.txt").write_text(str(int(args.rows) * 2))
elif args.item is not None:
    (out / f"item-{args.item}.txt").write_text(args.item)
elif os.environ.get("MAKE_PARTS") or args.__dict__["in"] is None:
    for part in range(3):
        (out / f"part-{part}").write_text(str(part))
"""
HANDLER = """
import json, pathlib
ROOT = pathlib.Path(__file__).resolve().parent.parent

def handler(event, context):
    with open(ROOT / "events.jsonl", "a") as fh:
        fh.write(json.dumps(event) + "\\n")
    if "region" in event:
        return {"score": {"eu": 1.5, "us": 4.0, "ap": 2.5}[event["region"]]}
    return {}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "v3"
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "score.py").write_text(textwrap.dedent(HANDLER))
    (root / "pipelines.toml").write_text(
        'state_dir = ".pipelines"\nobject_root = "objects"\n'
        '[functions]\n"arn:aws:lambda:*:*:function:score-region" = "functions/score.py:handler"\n'
        f'[images]\n"*python-runtime*" = "{sys.executable}"\n'
    )
    LocalObjectStore(root / "objects").put(f"{CODE}run.py", SCRIPT.encode())
    return root


def with_code(step: dict[str, Any]) -> dict[str, Any]:
    """The processing script as the step's code input (the SDK sample runs a baked-in image)."""
    arguments = step["Arguments"]
    arguments["AppSpecification"]["ContainerEntrypoint"] = ["python3", "/opt/ml/processing/input/code/run.py"]
    arguments["ProcessingInputs"] = [
        {
            "InputName": "code",
            "AppManaged": False,
            "S3Input": {
                "S3Uri": CODE,
                "LocalPath": "/opt/ml/processing/input/code",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
            },
        }
    ]
    return step


def events(project: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (project / "events.jsonl").read_text().splitlines()]


def write(project: Path, name: str, definition: dict[str, Any]) -> str:
    path = project / f"{name}.json"
    path.write_text(json.dumps(definition))
    return str(path)


def for_each_sample(project: Path) -> str:
    definition = json.loads((SDK_V3 / "for_each.json").read_text())
    with_code(definition["Steps"][0]["Arguments"]["ForEachBody"][0])
    with_code(definition["Steps"][2]["Arguments"]["ForEachBody"][0])
    return write(project, "for-each", definition)


def test_run_for_each_iterates_with_current_item_selects_and_lists_iterations(project: Path) -> None:
    invoke = Invoke(project / "pipelines.toml")
    result = invoke("run", for_each_sample(project), "--quiet")
    assert result.exit_code == 0, result.output
    objects = LocalObjectStore(project / "objects")
    document = invoke.json("steps", "latest")
    execution_id = document["Execution"]["PipelineExecutionArn"].rsplit("/", 1)[1]
    # each iteration's script saw its own item, and wrote under its own output
    assert objects.get(f"{BUCKET}/regions/{execution_id}/eu/eu.txt") == b"20"
    assert objects.get(f"{BUCKET}/regions/{execution_id}/us/us.txt") == b"40"
    assert sorted(objects.list(f"{BUCKET}/literal/out/")) == sorted(
        f"{BUCKET}/literal/out/item-{item}.txt" for item in ("a", "1", "2.5", "True", "ap")
    )
    report = next(e for e in events(project) if "best_score" in e)
    assert report == {"best_score": 4.0, "first_score": 1.5, "items": 2, "failed": 0, "status": "Succeeded"}
    steps = {s["StepName"]: s for s in document["Steps"]}
    assert steps["ScoreRegion-1"]["IterationContext"] == {
        "ParentStepName": "PerRegion",
        "Index": 1,
        "Item": '{"region":"us","rows":20}',
    }
    assert steps["EchoItem-3"]["IterationContext"] == {
        "ParentStepName": "PerLiteral",
        "Index": 3,
        "Item": "true",
    }
    assert steps["PerRegion"]["Metadata"]["ForEach"]["Selector"] == {"StepName": "ScoreRegion-1", "Index": 1}
    assert "IterationContext" not in steps["PerRegion"]
    table = invoke("steps", "latest").stdout
    assert 'PerRegion[1]: {"region":"us","rows":20}' in table and "4/4 iteration steps succeeded" in table


@pytest.mark.parametrize(
    ("value", "reason"),
    [("[]", "resolved to an empty list"), ("7", "must resolve to a JSON list; got a number 7")],
)
def test_run_for_each_over_a_bad_list_fails_with_the_reason(project: Path, value: str, reason: str) -> None:
    invoke = Invoke(project / "pipelines.toml")
    result = invoke("run", for_each_sample(project), "--param", f"Regions={value}", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    failed = {s["StepName"]: s for s in document["Steps"]}["PerRegion"]
    assert failed["StepStatus"] == "Failed" and reason in failed["FailureReason"]


def test_run_cleanup_deletes_the_scratch_objects_even_after_a_failure(project: Path) -> None:
    definition = json.loads((SDK_V3 / "cleanup.json").read_text())
    make, use, _train, cleanup = definition["Steps"]
    with_code(make)
    with_code(use)
    use["Arguments"]["AppSpecification"]["ContainerArguments"] = [
        "--in",
        "nope",
        "--rows",
        "x",
        "--region",
        "eu",
    ]
    cleanup["Arguments"]["Resources"]["S3"] = cleanup["Arguments"]["Resources"]["S3"][:1]
    cleanup["DependsOn"] = cleanup["DependsOn"][:2]
    definition["Steps"] = [make, use, cleanup]
    invoke = Invoke(project / "pipelines.toml")
    # not through ``invoke``: UseScratch's log shows its script's traceback, which is the point
    argv = ["run", write(project, "cleanup", definition), "--json", "--config", str(invoke.config)]
    result = invoke.runner.invoke(app, argv, catch_exceptions=False)
    document = json.loads(result.stdout)
    steps = {s["StepName"]: s for s in document["Steps"]}
    assert steps["UseScratch"]["StepStatus"] == "Failed"  # its --rows is no number
    assert steps["DeleteScratch"]["StepStatus"] == "Succeeded"
    assert steps["DeleteScratch"]["Metadata"]["Cleanup"]["CleanedSteps"] == ["MakeScratch"]
    assert document["Execution"]["PipelineExecutionStatus"] == "CompletedWithFailures"
    assert result.exit_code == 1
    assert LocalObjectStore(project / "objects").list(f"{BUCKET}/scratch/") == [f"{BUCKET}/scratch/part-2"]


def sdk_lineage_pipeline(workdir: Path) -> str:
    """A LineageStep and a LambdaStep reading its ARN, as the SageMaker SDK builds them."""
    with offline_sdk(workdir) as session:
        from sagemaker.lambda_helper import Lambda
        from sagemaker.lineage.action import Action
        from sagemaker.lineage.artifact import Artifact
        from sagemaker.workflow.execution_variables import ExecutionVariables
        from sagemaker.workflow.lambda_step import LambdaStep
        from sagemaker.workflow.lineage_step import LineageAssociation, LineageEntityReference, LineageStep
        from sagemaker.workflow.pipeline import Pipeline

        lineage = LineageStep(
            name="RecordLineage",
            actions=[
                Action.create(
                    action_name="train-run",
                    source_uri=ExecutionVariables.PIPELINE_EXECUTION_ARN,
                    action_type="ModelTraining",
                    sagemaker_session=session,
                )
            ],
            artifacts=[
                Artifact.create(
                    artifact_name="trained-model",
                    source_uri="s3://sdk-fixtures-bucket/model.tar.gz",
                    artifact_type="Model",
                    sagemaker_session=session,
                )
            ],
            associations=[
                LineageAssociation(
                    source=LineageEntityReference(name="train-run", type="Action"),
                    destination=LineageEntityReference(name="trained-model", type="Artifact"),
                    association_type="Produced",
                )
            ],
        )
        use = LambdaStep(
            name="UseArn",
            lambda_func=Lambda(function_arn="arn:aws:lambda:us-east-1:123456789012:function:score-region"),
            inputs={"artifact": lineage.properties.ArtifactArns["trained-model"]},
        )
        return str(
            Pipeline(name="LineagePipeline", steps=[lineage, use], sagemaker_session=session).definition()
        )


def test_run_lineage_records_entities_and_pipelines_lineage_shows_them(project: Path, tmp_path: Path) -> None:
    definition = sdk_lineage_pipeline(tmp_path / "sdk")
    path = project / "lineage.json"
    path.write_text(definition)
    invoke = Invoke(project / "pipelines.toml")
    assert invoke("run", str(path), "--quiet").exit_code == 0
    config = load_config(project / "pipelines.toml")
    artifact = f"arn:aws:sagemaker:{config.region}:{config.account_id}:artifact/trained-model"
    action = f"arn:aws:sagemaker:{config.region}:{config.account_id}:action/train-run"
    assert events(project) == [{"artifact": artifact}]
    table = invoke("lineage", "latest")
    assert table.exit_code == 0
    assert "train-run" in table.stdout and "ModelTraining" in table.stdout and "Produced" in table.stdout
    mermaid = invoke("lineage", "latest", "--format", "mermaid").stdout
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert '(["train-run<br/>Action: ModelTraining"])' in mermaid and "-- Produced -->" in mermaid
    dot = invoke("lineage", "latest", "--format", "dot").stdout
    assert dot.startswith("digraph lineage {") and '[label="Produced"]' in dot
    rows = json.loads(invoke("lineage", "latest", "--format", "json").stdout)
    assert [(r["Kind"], r["Name"]) for r in rows] == [
        ("Action", "train-run"),
        ("Artifact", "trained-model"),
        ("Association", "Produced"),
    ]
    assert rows[2]["Arn"] == f"{action} -> {artifact}"
    missing = invoke("lineage", "nosuchexec")
    assert missing.exit_code == 2 and "nosuchexec" in missing.output


def test_run_cleanup_deletes_the_endpoint_the_pipeline_deployed(tmp_path: Path) -> None:
    """Our Resources.Endpoint extension: the pipeline deploys a local endpoint, then cleans it up."""
    from tests.hosting.models import sklearn_model_data
    from tests.hosting.test_endpoint_lifecycle import deploy_definition

    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    LocalObjectStore(tmp_path / "objects").put("s3://models/good/model.tar.gz", sklearn_model_data())
    definition = json.loads(deploy_definition("s3://models/good/model.tar.gz", "scratch-endpoint"))
    definition["Steps"].append(
        {
            "Name": "Undeploy",
            "Type": "Cleanup",
            "Arguments": {
                "Resources": {
                    "Endpoint": [{"StepName": "CreateEndpoint"}],
                    "EndpointConfig": [{"StepName": "CreateEndpointConfig"}],
                }
            },
            "DependsOn": [{"Step": "CreateEndpoint", "Trigger": "Any"}],
        }
    )
    invoke = Invoke(tmp_path / "pipelines.toml")
    assert invoke("endpoints", "--json").stdout.strip() == "[]"
    result = invoke("run", write(tmp_path, "deploy", definition), "--json")
    assert result.exit_code == 0, result.output
    steps = {s["StepName"]: s for s in json.loads(result.stdout)["Steps"]}
    assert steps["CreateEndpoint"]["StepStatus"] == "Succeeded"
    assert steps["Undeploy"]["Metadata"]["Cleanup"]["CleanedSteps"] == [
        "CreateEndpoint",
        "CreateEndpointConfig",
    ]
    assert json.loads(invoke("endpoints", "--json").stdout) == []
    config = EndpointHost.for_config(load_config(tmp_path / "pipelines.toml"))
    assert config.list_endpoint_configs() == []
