"""Check steps end to end: SDK v2-made definitions run by ``pipelines run`` beside a ``pipelines serve``.

The SDK builds each pipeline with a PipelineSession pointed at a real ``pipelines serve`` (so
the files it uploads while building, datasets, baselines and Clarify's analysis config, land in
that server's object store, as they would in S3), and ``pipelines run`` runs the definition with
the server's config: the run's check jobs read those objects and its RegisterModel steps write to
the registry the server answers for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from pipelines.config import load_config
from pipelines.objects import LocalObjectStore
from sagemaker.clarify import DataConfig
from sagemaker.model import Model
from sagemaker.model_monitor.dataset_format import DatasetFormat
from sagemaker.workflow.check_job_config import CheckJobConfig
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
from sagemaker.workflow.step_collections import RegisterModel

from tests.sdk_integ.conftest import TELEMETRY_OFF
from tests.sdk_integ.upstream_plugin import BUCKET, REGION, ROLE, Server

PIPELINES = Path(sys.executable).parent / "pipelines"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(tmp_path_factory.mktemp("checks"))
    try:
        served.create_bucket(BUCKET)
        yield served
    finally:
        served.stop()


@pytest.fixture
def server_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The endpoint variables pointed at the server, for one test only: the worker's other tests
    (the cloud's in moto, the offline SDK generators) must not reach this server."""
    values = server.environment()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def session(server_environment: dict[str, str]) -> PipelineSession:
    boto_session = boto3.Session(region_name=REGION)
    return PipelineSession(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        sagemaker_config=TELEMETRY_OFF,
        default_bucket=BUCKET,
    )


@pytest.fixture(scope="session")
def objects(server: Server) -> LocalObjectStore:
    return LocalObjectStore(load_config(server.root / "pipelines.toml").object_root)


@dataclass
class RunResult:
    exit_code: int
    document: dict[str, Any]
    stderr: str

    @property
    def status(self) -> str:
        return str(self.document["Execution"]["PipelineExecutionStatus"])

    def step(self, name: str) -> dict[str, Any]:
        for step in self.document["Steps"]:
            if step["StepName"] == name:
                return dict(step)
        raise AssertionError(f"no step {name} in {[s['StepName'] for s in self.document['Steps']]}")


@dataclass
class Runner:
    server: Server
    tmp: Path

    def __call__(self, pipeline: Pipeline, **parameters: Any) -> RunResult:
        """``pipelines run`` on the pipeline's SDK definition, with the server's config."""
        definition = self.tmp / f"{pipeline.name}.json"
        definition.write_text(pipeline.definition())
        argv = [str(PIPELINES), "run", str(definition), "--config", str(self.server.root / "pipelines.toml")]
        argv += ["--pipeline-name", pipeline.name, "--json"]
        for name, value in parameters.items():
            argv += ["--param", f"{name}={value}"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode in (0, 1), done.stderr
        return RunResult(done.returncode, json.loads(done.stdout), done.stderr)

    def cli(self, *args: str) -> str:
        """Another ``pipelines`` command with the server's config; its standard output."""
        argv = [str(PIPELINES), *args, "--config", str(self.server.root / "pipelines.toml")]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def run(server: Server, tmp_path: Path) -> Runner:
    return Runner(server, tmp_path)


@pytest.fixture(scope="session")
def role() -> str:
    return ROLE


def upload_csv(objects: LocalObjectStore, key: str, frame: pd.DataFrame, *, header: bool = True) -> str:
    """``frame`` as CSV (without its index) at ``s3://BUCKET/key`` in the server's object store."""
    uri = f"s3://{BUCKET}/{key}"
    objects.put(uri, frame.to_csv(index=False, header=header).encode())
    return uri


def check_job_config(session: PipelineSession, instance_type: str = "ml.m5.xlarge") -> CheckJobConfig:
    """One instance of ``instance_type`` under the tests' role."""
    return CheckJobConfig(role=ROLE, instance_count=1, instance_type=instance_type, sagemaker_session=session)


def data_quality_step(
    session: PipelineSession,
    name: str,
    dataset: Any,
    output_s3_uri: Any,
    *,
    skip_check: Any,
    register_new_baseline: Any,
    dataset_format: dict[str, Any] | None = None,
    **options: Any,
) -> QualityCheckStep:
    """A DATA_QUALITY QualityCheckStep on ``dataset`` (CSV with a header unless ``dataset_format``
    says otherwise), writing to ``output_s3_uri``; ``options`` are the step's other arguments."""
    return QualityCheckStep(
        name=name,
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=dataset,
            dataset_format=dataset_format or DatasetFormat.csv(header=True),
            output_s3_uri=output_s3_uri,
        ),
        check_job_config=check_job_config(session),
        skip_check=skip_check,
        register_new_baseline=register_new_baseline,
        **options,
    )


CLARIFY_HEADERS = ["Label", "F1", "F2", "F3"]


def clarify_data_config(dataset: str, prefix: str) -> DataConfig:
    """Clarify's DataConfig for a headerless CSV of :data:`CLARIFY_HEADERS` labelled ``Label``,
    its result and analysis config under ``s3://BUCKET/<prefix>/``."""
    return DataConfig(
        s3_data_input_path=dataset,
        s3_output_path=f"s3://{BUCKET}/{prefix}/result",
        s3_analysis_config_output_path=f"s3://{BUCKET}/{prefix}/config",
        label="Label",
        headers=CLARIFY_HEADERS,
        dataset_type="text/csv",
    )


def data_quality_registration(properties: Any) -> dict[str, Any]:
    """``model_metrics`` and ``drift_check_baselines`` for a model registration, read from a
    DATA_QUALITY check step's properties as the AWS notebooks wire them: the calculated baseline
    as the version's metrics, the one used for the drift check as its drift-check baselines."""
    from sagemaker.drift_check_baselines import DriftCheckBaselines
    from sagemaker.model_metrics import MetricsSource, ModelMetrics

    def source(uri: Any) -> MetricsSource:
        return MetricsSource(content_type="application/json", s3_uri=uri)

    return {
        "model_metrics": ModelMetrics(
            model_data_statistics=source(properties.CalculatedBaselineStatistics),
            model_data_constraints=source(properties.CalculatedBaselineConstraints),
        ),
        "drift_check_baselines": DriftCheckBaselines(
            model_data_statistics=source(properties.BaselineUsedForDriftCheckStatistics),
            model_data_constraints=source(properties.BaselineUsedForDriftCheckConstraints),
        ),
    }


def approved_registration(check: QualityCheckStep, group: str) -> dict[str, Any]:
    """The arguments of ``RegisterModel`` and ``Model.register`` for an Approved CSV model on
    ml.m5.large in ``group``, its metrics and drift-check baselines the DATA_QUALITY ``check``'s
    properties (:func:`data_quality_registration`)."""
    return {
        "content_types": ["text/csv"],
        "response_types": ["text/csv"],
        "inference_instances": ["ml.m5.large"],
        "transform_instances": ["ml.m5.large"],
        "model_package_group_name": group,
        "approval_status": "Approved",
        **data_quality_registration(check.properties),
    }


REGISTERED_IMAGE = "683313688378.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def register_checked_model(
    session: PipelineSession, check: QualityCheckStep, *, group: str, role: str, model_data: str
) -> RegisterModel:
    """A RegisterModel step collection of :func:`approved_registration`."""
    return RegisterModel(
        name="RegisterModel",
        model=Model(image_uri=REGISTERED_IMAGE, model_data=model_data, role=role, sagemaker_session=session),
        **approved_registration(check, group),
        sagemaker_session=session,
    )
