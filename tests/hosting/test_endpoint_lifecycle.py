"""A pipeline's own deploy steps with ``pipelines run``, then ``pipelines serve`` bringing the
endpoint back (also after the server is killed), listed and deleted with ``pipelines endpoints``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from pipelines.objects.local import LocalObjectStore
from pipelines.testing import ServeProcess

from tests.cli.helpers import pipelines
from tests.hosting.models import BROKEN_INFERENCE, SKLEARN_IMAGE, sklearn_model_data
from tests.hosting.serving import in_service, local_client

ROLE = "arn:aws:iam::000000000000:role/pipelines"


def endpoint_steps(model_step: str, endpoint: str) -> list[dict[str, Any]]:
    """EndpointConfig -> Endpoint for the model a Model step created, as the SDK's
    EndpointConfigStep/EndpointStep emit them (the config named per execution)."""
    return [
        {
            "Name": "CreateEndpointConfig",
            "Type": "EndpointConfig",
            "Arguments": {
                "EndpointConfigName": {
                    "Std:Join": {"On": "-", "Values": [endpoint, {"Get": "Execution.PipelineExecutionId"}]}
                },
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": {"Get": f"Steps.{model_step}.ModelName"},
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
            },
        },
        {
            "Name": "CreateEndpoint",
            "Type": "Endpoint",
            "Arguments": {
                "EndpointName": endpoint,
                "EndpointConfigName": {"Get": "Steps.CreateEndpointConfig.EndpointConfigName"},
                "Tags": [],
            },
        },
    ]


def deploy_definition(model_data_url: str, endpoint: str) -> str:
    """Model -> EndpointConfig -> Endpoint."""
    model = {
        "Name": "CreateModel",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": SKLEARN_IMAGE, "ModelDataUrl": model_data_url},
        },
    }
    return json.dumps(
        {
            "Version": "2020-12-01",
            "Parameters": [],
            "Steps": [model, *endpoint_steps("CreateModel", endpoint)],
        }
    )


def assert_gone(url: str, timeout: float = 30.0) -> None:
    """The model server at ``url`` stops answering (it died with the process that hosted it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib3.request("GET", f"{url}/ping", timeout=1.0, retries=False)
        except urllib3.exceptions.HTTPError:
            return
        assert time.monotonic() < deadline, f"{url} still answers after its host died"
        time.sleep(0.1)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pipelines.toml").write_text('state_dir = "state"\nobject_root = "objects"\n')
    objects = LocalObjectStore(tmp_path / "objects")
    objects.put("s3://models/good/model.tar.gz", sklearn_model_data())
    objects.put("s3://models/broken/model.tar.gz", sklearn_model_data(BROKEN_INFERENCE))
    (tmp_path / "deploy.json").write_text(deploy_definition("s3://models/good/model.tar.gz", "houses"))
    (tmp_path / "broken.json").write_text(deploy_definition("s3://models/broken/model.tar.gz", "broken"))
    return tmp_path


def test_run_deploys_then_serve_brings_the_endpoint_back_after_a_crash(project: Path) -> None:
    ran = pipelines(project, "run", "deploy.json", "--json")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    listed = json.loads(pipelines(project, "endpoints", "--json").stdout)
    assert [(e["EndpointName"], e["EndpointStatus"], e["Served"]) for e in listed] == [
        ("houses", "InService", False)  # the run hosted it while it ran
    ]
    with ServeProcess(project) as first:
        described = in_service(first.url, "houses")
        assert described["EndpointConfigName"].startswith("houses-")
        answer = local_client("sagemaker-runtime", first.url).invoke_endpoint(
            EndpointName="houses", Body=b"[[1, 2]]", ContentType="application/json"
        )
        assert json.loads(answer["Body"].read()) == pytest.approx([8.0])
        served = json.loads(pipelines(project, "endpoints", "--json").stdout)[0]
        assert served["Served"] is True
        old_url = served["VariantUrls"]["AllTraffic"]
        first.kill()  # a crash: its model servers die with it
    assert_gone(old_url)
    with ServeProcess(project) as second:
        in_service(second.url, "houses")
        answer = local_client("sagemaker-runtime", second.url).invoke_endpoint(
            EndpointName="houses", Body=b"0,0", ContentType="text/csv", Accept="text/csv"
        )
        assert float(answer["Body"].read()) == pytest.approx(3.0)
        logs = pipelines(project, "endpoints", "logs", "houses")
        assert logs.returncode == 0, logs.stderr
        assert "serving model on port" in logs.stdout and '"POST /invocations HTTP/1.1" 200' in logs.stdout
        again = json.loads(pipelines(project, "endpoints", "--json").stdout)[0]
        assert again["Served"] is True and again["VariantUrls"]["AllTraffic"].startswith("http://127.0.0.1:")
        deleted = pipelines(project, "endpoints", "delete", "houses")
        assert deleted.returncode == 0, deleted.stderr
        assert json.loads(pipelines(project, "endpoints", "--json").stdout) == []
        with pytest.raises(Exception, match="houses"):
            local_client("sagemaker-runtime", second.url).invoke_endpoint(
                EndpointName="houses", Body=b"[[1, 2]]"
            )
    missing = pipelines(project, "endpoints", "delete", "houses")
    assert missing.returncode == 2 and "houses" in missing.stderr


def test_run_fails_the_endpoint_step_when_the_model_cannot_load(project: Path) -> None:
    ran = pipelines(project, "run", "broken.json", "--json")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    steps = json.loads(pipelines(project, "steps", "latest", "--json").stdout)
    failed = next(s for s in steps["Steps"] if s["StepName"] == "CreateEndpoint")
    assert failed["StepStatus"] == "Failed"
    assert "RuntimeError: weights are corrupt" in failed["FailureReason"]
    assert failed["Metadata"]["Endpoint"]["Arn"].endswith(":endpoint/broken")
    [endpoint] = json.loads(pipelines(project, "endpoints", "--json").stdout)
    assert endpoint["EndpointStatus"] == "Failed"
