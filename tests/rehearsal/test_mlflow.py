"""MLflow from the deployed engine (issue 17 in the cloud): the engine Lambda, run from its built
function and layer directories (the core layer and its MLflow layer, nothing else on
``sys.path`` but the runtime's boto3), logs an execution to a real MLflow tracking server.

A local ``mlflow server`` over SQLite in a temp dir stands in for the SageMaker managed server
(moto has none). The definition names the server by its ARN, and the engine writes through the
sagemaker-mlflow plugin with that ARN as tracking URI, as deployed; the only redirection is the
plugin's own ``SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT``, set on the engine function as a configuration
change (and for the job's container, which runs here). One execution, started through the
deployed API with an MlflowExperimentName override: the parent run, its params and tags, nested
step runs, and a metric the processing job's script logged with its MLFLOW_RUN_ID.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from tests.cloud.scenarios import lambda_step, pipeline, processing
from tests.mlflow_server import container, running_tracking_server, runs_of
from tests.rehearsal.harness import Rehearsal, add_user_function, wait_until

SCORE = "def handler(event, context):\n    return {'score': event['value'] * 2}\n"


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_tracking_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture
def engine_logs_to(
    rehearsal: Rehearsal, tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Every tracking-server ARN resolves to the local server, for the engine (its function's
    configuration) and for the job's container (this process's environment)."""
    engine = rehearsal.function_name("EngineEngineFunction")
    previous = rehearsal.lambdas.update_environment(
        engine, {"SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT": tracking_server}
    )
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", tracking_server)
    try:
        yield tracking_server
    finally:
        rehearsal.lambdas.update_environment(engine, previous)


def test_the_deployed_engine_logs_an_execution_to_the_tracking_server(
    rehearsal: Rehearsal, engine_logs_to: str, functions_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_arn = f"arn:aws:sagemaker:{rehearsal.region}:{rehearsal.account}:mlflow-tracking-server/team"
    role = rehearsal.output("SamplePipelineRoleArn")
    if "rehearsal-score" not in rehearsal.lambdas.functions:
        add_user_function(rehearsal, "rehearsal-score", SCORE, functions_dir)
    seen: list[dict[str, str]] = []
    rehearsal.moto.jobs.decide = container(seen, rehearsal.moto.jobs, monkeypatch)
    definition = pipeline(
        processing("Process", arguments={"RoleArn": role}),
        lambda_step("Score", "rehearsal-score", {"value": 21}, {"score": "Integer"})
        | {"DependsOn": ["Process"]},
        parameters=[{"Name": "Label", "Type": "String", "DefaultValue": "nightly"}],
        MlflowConfig={"MlflowResourceArn": server_arn, "MlflowExperimentName": "from-definition"},
    )
    api = rehearsal.sagemaker()
    api.create_pipeline(
        PipelineName="rehearsal-mlflow",
        PipelineDefinition=json.dumps(definition),
        RoleArn=role,
        ClientRequestToken=uuid.uuid4().hex,
    )
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
