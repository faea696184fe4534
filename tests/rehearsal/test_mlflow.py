"""MLflow from the deployed engine (issue 17 in the cloud): the engine Lambda, run from its built
function and layer directories (the core layer and its MLflow layer, nothing else on
``sys.path`` but the runtime's boto3), logs an execution to a real MLflow tracking server.

A local ``mlflow server`` over SQLite in a temp dir stands in for the SageMaker managed server
(moto has none). The definition names the server by its ARN, and the engine writes through the
sagemaker-mlflow plugin with that ARN as tracking URI, as deployed; the only redirection is the
plugin's own ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT``, set on the engine function as a configuration
change (and for the job's container, which runs here). One execution, started through the
deployed API with an MlflowExperimentName override: the parent run, its params and tags, nested
step runs, and a metric the processing job's script logged with its MLFLOW_RUN_ID. A second one
against a server that is down: it still succeeds, and the dropped writes are warnings in the
deployed store, where ``pipelines steps`` reads them embedded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from pipelines.hosting.model_server import free_port
from pipelines.tracking import read_warnings

from tests.cloud.scenarios import lambda_step, pipeline, processing
from tests.mlflow_server import container, running_tracking_server, runs_of
from tests.rehearsal.harness import Rehearsal, add_user_function, wait_until

SCORE = "def handler(event, context):\n    return {'score': event['value'] * 2}\n"


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_tracking_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@contextmanager
def resolving_to(rehearsal: Rehearsal, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every tracking-server ARN resolves to ``url``, for the engine (its function's
    configuration) and for the job's container (this process's environment)."""
    engine = rehearsal.function_name("EngineEngineFunction")
    previous = rehearsal.lambdas.update_environment(engine, {"SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": url})
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", url)
    try:
        yield url
    finally:
        rehearsal.lambdas.update_environment(engine, previous)


@pytest.fixture
def engine_logs_to(
    rehearsal: Rehearsal, tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with resolving_to(rehearsal, tracking_server, monkeypatch) as url:
        yield url


def create_tracked_pipeline(rehearsal: Rehearsal, name: str, functions_dir: Path) -> str:
    """Process (its container logs a metric) -> Score (a Lambda step), with MlflowConfig; the
    server's ARN."""
    server_arn = f"arn:aws:sagemaker:{rehearsal.region}:{rehearsal.account}:mlflow-tracking-server/team"
    role = rehearsal.output("SamplePipelineRoleArn")
    if "rehearsal-score" not in rehearsal.lambdas.functions:
        add_user_function(rehearsal, "rehearsal-score", SCORE, functions_dir)
    definition = pipeline(
        processing("Process", arguments={"RoleArn": role}),
        lambda_step("Score", "rehearsal-score", {"value": 21}, {"score": "Integer"})
        | {"DependsOn": ["Process"]},
        parameters=[{"Name": "Label", "Type": "String", "DefaultValue": "nightly"}],
        MlflowConfig={"MlflowResourceArn": server_arn, "MlflowExperimentName": "from-definition"},
    )
    rehearsal.sagemaker().create_pipeline(
        PipelineName=name,
        PipelineDefinition=json.dumps(definition),
        RoleArn=role,
        ClientRequestToken=uuid.uuid4().hex,
    )
    return server_arn


def test_the_deployed_engine_logs_an_execution_to_the_tracking_server(
    rehearsal: Rehearsal, engine_logs_to: str, functions_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine runs from its function code, the core layer and the MLflow layer (and the
    # runtime's boto3): no other copy of mlflow is on its sys.path.
    engine = rehearsal.lambdas.functions[rehearsal.function_name("EngineEngineFunction")]
    assert [(layer / "python" / "mlflow").is_dir() for layer in engine.layers] == [False, True]
    assert (engine.layers[0] / "python" / "pipelines").is_dir()
    server_arn = create_tracked_pipeline(rehearsal, "rehearsal-mlflow", functions_dir)
    seen: list[dict[str, str]] = []
    rehearsal.moto.jobs.decide = container(seen, rehearsal.moto.jobs, monkeypatch)
    api = rehearsal.sagemaker()
    arn = api.start_pipeline_execution(
        PipelineName="rehearsal-mlflow",
        PipelineExecutionDisplayName="nightly-7",
        PipelineParameters=[{"Name": "Label", "Value": "adhoc"}],
        MlflowExperimentName="rehearsal-experiment",
        ClientRequestToken=uuid.uuid4().hex,
    )["PipelineExecutionArn"]
    described = rehearsal.wait_execution(arn, timeout=240)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    assert described["MLflowConfig"] == {
        "MlflowResourceArn": server_arn,
        "MlflowExperimentName": "rehearsal-experiment",
    }

    server = MlflowClient(engine_logs_to)
    # The engine ends the parent run in the invocation that ends the execution: poll for it.
    parent, steps = wait_until(
        lambda: (found := runs_of(server, "rehearsal-experiment"))[0].info.status == "FINISHED" and found,
        60,
        "the parent run's end",
    )
    assert server.get_experiment_by_name("from-definition") is None  # the start request's won
    assert parent.info.run_name == "nightly-7"
    assert parent.data.params == {"Label": "adhoc"}
    assert parent.data.tags["pipelines.execution_arn"] == arn
    assert parent.data.tags["pipelines.pipeline_name"] == "rehearsal-mlflow"
    assert parent.data.tags["pipelines.status"] == "Succeeded"
    assert set(steps) == {"Process", "Score"}
    for run in steps.values():
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert (run.info.status, run.data.tags["pipelines.status"]) == ("FINISHED", "Succeeded")
        assert run.data.metrics["duration_seconds"] >= 0
    assert steps["Process"].data.tags["pipelines.step_type"] == "Processing"
    assert steps["Score"].data.params == {"output.score": "42"}
    # The job got its step's run from the deployed engine, and its script's metric landed there.
    (environment,) = seen
    assert environment["MLFLOW_RUN_ID"] == steps["Process"].info.run_id
    assert environment["MLFLOW_TRACKING_ARN"] == environment["MLFLOW_TRACKING_URI"] == server_arn
    assert environment["MLFLOW_EXPERIMENT_NAME"] == "rehearsal-experiment"
    assert steps["Process"].data.metrics["rows"] == 3
    assert read_warnings(rehearsal.store(), arn.rsplit("/", 1)[-1]) == []


def test_a_tracking_server_that_is_down_fails_nothing_and_leaves_warnings_in_the_deployed_store(
    rehearsal: Rehearsal, functions_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_tracked_pipeline(rehearsal, "rehearsal-mlflow-down", functions_dir)
    seen: list[dict[str, str]] = []
    rehearsal.moto.jobs.decide = container(seen, rehearsal.moto.jobs, monkeypatch)
    with resolving_to(rehearsal, f"http://127.0.0.1:{free_port()}", monkeypatch):
        arn = rehearsal.sagemaker().start_pipeline_execution(
            PipelineName="rehearsal-mlflow-down", ClientRequestToken=uuid.uuid4().hex
        )["PipelineExecutionArn"]
        described = rehearsal.wait_execution(arn, timeout=240)
    assert described["PipelineExecutionStatus"] == "Succeeded", described.get("FailureReason")
    # no run to log into: the job learns only where to log (its script's run is its own)
    (environment,) = seen
    assert "MLFLOW_RUN_ID" not in environment and environment["MLFLOW_EXPERIMENT_NAME"] == "from-definition"
    warnings = read_warnings(rehearsal.store(), arn.rsplit("/", 1)[-1])
    assert warnings, "the deployed engine keeps each dropped write as a warning in its store"
    assert all(w.message.startswith("MLflow") for w in warnings)
    assert {w.step_name for w in warnings} >= {None, "Process"}
