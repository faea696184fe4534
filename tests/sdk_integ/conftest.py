"""The SageMaker Python SDK's pipeline integration tests, run offline against ``pipelines serve``.

The SDK's own tests (``tests/integ/sagemaker/workflow/`` in aws/sagemaker-python-sdk, v2 line;
``sagemaker-mlops/tests/integ/workflow/`` in v3) are not in its PyPI distribution, so this
package holds our equivalents: the same pipelines built with the same SDK calls, the same
assertions about the service, each test naming the SDK test it mirrors. They run the way the
SDK's tests run: a real ``pipelines serve`` process, the SDK's own clients pointed at it with
the endpoint variables (``AWS_ENDPOINT_URL_SAGEMAKER``, ``_S3``, ``_SCHEDULER``), and fixtures
named and built like the SDK's (``tests/conftest.py`` and ``tests/integ/sagemaker/workflow/
conftest.py`` there), with three offline substitutions:

- ``role`` is a fixed ARN (the SDK's ``get_execution_role`` asks IAM);
- the sessions are given a ``default_bucket`` (the SDK derives one through a hard-coded STS
  endpoint) and telemetry is opted out (it posts to an AWS URL);
- ``dummy_container_without_error`` is an image URI the server's ``[images]`` table maps to this
  interpreter, where the SDK's fixture builds and pushes a Docker image to ECR.

The client signs for ``us-west-2`` (the SDK's ``DEFAULT_REGION``) while the server is configured
for ``us-east-1``: ARNs must carry the region the client called, as a regional endpoint's do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from sagemaker import Session, utils
from sagemaker.sklearn.processing import SKLearnProcessor
from sagemaker.workflow.pipeline import Pipeline, _PipelineExecution
from sagemaker.workflow.pipeline_context import PipelineSession

from tests.sdk_integ.helpers import (
    DUMMY_INPUT,
    DeleteAtTeardown,
    ExecutePipeline,
    SklearnProcessorFactory,
    create_and_execute_pipeline,
    delete_quietly,
)
from tests.sdk_integ.upstream_plugin import (
    BUCKET,
    DUMMY_IMAGE,
    REGION,
    ROLE,
    Server,
)

CUSTOM_S3_OBJECT_KEY_PREFIX = "session-default-prefix"  # as the SDK's workflow conftest sets it
TELEMETRY_OFF = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(tmp_path_factory.mktemp("sdk_integ"))
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def endpoint_environment(server: Server) -> Iterator[None]:
    """The endpoint variables the SDK's clients read, pointed at the server while a module of
    this package runs (restored after it, so no other test's clients reach the server)."""
    values = server.environment()
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- the SDK's fixtures (tests/conftest.py, tests/integ/sagemaker/workflow/conftest.py) ------------
@pytest.fixture(scope="session")
def bucket(server: Server) -> str:
    """The bucket the SDK's ``default_bucket()`` would have created in the account."""
    return server.create_bucket(BUCKET)


@pytest.fixture(scope="module")
def boto_session(endpoint_environment: None, bucket: str) -> boto3.Session:
    return boto3.Session(region_name=REGION)


@pytest.fixture(scope="module")
def sagemaker_client_config() -> dict[str, Any]:
    return {"config": BotoConfig(retries={"max_attempts": 2, "mode": "standard"})}


def _session(cls: type[Session], boto_session: boto3.Session, client_config: dict[str, Any]) -> Any:
    session = cls(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker", **client_config),
        sagemaker_config=TELEMETRY_OFF,
        default_bucket=BUCKET,
        default_bucket_prefix=CUSTOM_S3_OBJECT_KEY_PREFIX,
    )
    return session


@pytest.fixture(scope="module")
def sagemaker_session(boto_session: boto3.Session, sagemaker_client_config: dict[str, Any]) -> Session:
    return _session(Session, boto_session, sagemaker_client_config)


@pytest.fixture(scope="module")
def sagemaker_session_for_pipeline(
    boto_session: boto3.Session, sagemaker_client_config: dict[str, Any]
) -> Session:
    return _session(Session, boto_session, sagemaker_client_config)


@pytest.fixture(scope="module")
def pipeline_session(boto_session: boto3.Session, sagemaker_client_config: dict[str, Any]) -> PipelineSession:
    return _session(PipelineSession, boto_session, sagemaker_client_config)


@pytest.fixture(scope="session")
def role() -> str:
    return ROLE


@pytest.fixture(scope="module")
def region_name(boto_session: boto3.Session) -> str:
    return str(boto_session.region_name)


@pytest.fixture(scope="module")
def smclient(sagemaker_session: Session) -> Any:
    return sagemaker_session.sagemaker_client


@pytest.fixture(scope="session")
def dummy_container_without_error() -> str:
    return DUMMY_IMAGE


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stand-ins for the SDK's ``tests/data/dummy_script.py`` (prints a line) and
    ``dummy_input.txt`` (see ``helpers.DUMMY_INPUT``)."""
    root = tmp_path_factory.mktemp("data")
    (root / "dummy_script.py").write_text('print("This is the print output from dummy_script.py.")\n')
    (root / "dummy_input.txt").write_text(DUMMY_INPUT)
    return root


@pytest.fixture(scope="session")
def step_settings(role: str, dummy_container_without_error: str) -> dict[str, Any]:
    """The ``@step`` arguments of the SDK's tests: the role, the dummy container, ml.m5.large."""
    return {"role": role, "image_uri": dummy_container_without_error, "instance_type": "ml.m5.large"}


@pytest.fixture(scope="session")
def sklearn_latest_version() -> str:
    return "1.2-1"


@pytest.fixture(scope="session")
def cpu_instance_type() -> str:
    return "ml.m5.xlarge"


@pytest.fixture(scope="session")
def sklearn_processor(role: str, sklearn_latest_version: str) -> SklearnProcessorFactory:
    """The SDK tests' SKLearnProcessor (the role, the latest version, ``python3``, base job name
    ``test-sklearn``) for a session, an instance type and an instance count."""

    def processor(session: Any, instance_type: str, instance_count: Any) -> SKLearnProcessor:
        return SKLearnProcessor(
            framework_version=sklearn_latest_version,
            role=role,
            instance_type=instance_type,
            instance_count=instance_count,
            command=["python3"],
            sagemaker_session=session,
            base_job_name="test-sklearn",
        )

    return processor


# -- the SDK tests' per-test pattern: a unique name, ``try: ... finally: pipeline.delete()`` -------
@pytest.fixture
def pipeline_name(request: pytest.FixtureRequest) -> str:
    """A unique pipeline name per test, from the module's, in mixed case as the SDK's tests name
    theirs (``Selective-Execution-<time>-<hex>``): the ARN checks then pin the name's letter case."""
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return str(utils.unique_name_from_base("-".join(word.capitalize() for word in module.split("_"))))


@pytest.fixture
def delete_at_teardown() -> Iterator[DeleteAtTeardown]:
    """Hands each pipeline given to it back, and deletes it once the test ends, quietly: the SDK's
    tests end with ``try: pipeline.delete() except Exception: pass``, so a failed create does not
    hide the assertion that failed."""
    pipelines: list[Pipeline] = []

    def track(pipeline: Pipeline) -> Pipeline:
        if all(tracked is not pipeline for tracked in pipelines):
            pipelines.append(pipeline)
        return pipeline

    yield track
    for pipeline in pipelines:
        delete_quietly(pipeline)


@pytest.fixture
def execute_pipeline(region_name: str, role: str, delete_at_teardown: DeleteAtTeardown) -> ExecutePipeline:
    """``helpers.create_and_execute_pipeline(pipeline, **expected)`` with this test's region and
    role and the pipeline's own name; the pipeline is deleted when the test ends."""

    def execute(pipeline: Pipeline, **expected: Any) -> tuple[_PipelineExecution, list[dict[str, Any]]]:
        return create_and_execute_pipeline(
            pipeline=delete_at_teardown(pipeline),
            pipeline_name=pipeline.name,
            region_name=region_name,
            role=role,
            **expected,
        )

    return execute
