"""Builders shared by the job-runner tests: requests, scripts in the object store, archives."""

from __future__ import annotations

import functools
import io
import tarfile
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from pipelines.definition.models import Step
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import StepRequest
from pydantic import TypeAdapter

_STEP: TypeAdapter[Any] = TypeAdapter(Step)
BUCKET = "jobs-bucket"


def request(
    step_type: str, arguments: dict[str, Any], *, name: str = "Step", job_name: str = "job-1", **step: Any
) -> StepRequest:
    parsed = _STEP.validate_python({"Name": name, "Type": step_type, "Arguments": arguments, **step})
    return StepRequest(
        pipeline_name="p",
        pipeline_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/p",
        execution_id="exec12345678",
        execution_arn="arn:aws:sagemaker:us-east-1:000000000000:pipeline/p/execution/exec12345678",
        step=parsed,
        arguments=arguments,
        job_name=job_name,
        attempt=1,
    )


def put_script(objects: LocalObjectStore, key: str, source: str) -> str:
    uri = f"s3://{BUCKET}/{key}"
    objects.put(uri, source.encode())
    return uri


def tar_gz(files: Mapping[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def untar(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def processing_arguments(
    code_uri: str,
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    arguments: list[str] | None = None,
    max_runtime: int | None = None,
    image: str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2-1",
) -> dict[str, Any]:
    app: dict[str, Any] = {
        "ImageUri": image,
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/script.py"],
    }
    if arguments:
        app["ContainerArguments"] = arguments
    code_input = {
        "InputName": "code",
        "AppManaged": False,
        "S3Input": {
            "S3Uri": code_uri,
            "LocalPath": "/opt/ml/processing/input/code",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }
    request: dict[str, Any] = {
        "ProcessingResources": {
            "ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}
        },
        "AppSpecification": app,
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "ProcessingInputs": [*(inputs or []), code_input],
        "ProcessingOutputConfig": {"Outputs": outputs or []},
    }
    if max_runtime is not None:
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": max_runtime}
    return request


def s3_input(name: str, uri: str, local: str, data_type: str = "S3Prefix") -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": data_type, "S3InputMode": "File"},
    }


def s3_output(name: str, uri: str, local: str, mode: str = "EndOfJob") -> dict[str, Any]:
    return {
        "OutputName": name,
        "AppManaged": False,
        "S3Output": {"S3Uri": uri, "LocalPath": local, "S3UploadMode": mode},
    }


@functools.lru_cache(maxsize=1)
def _sagemaker_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def shape_problems(operation: str, value: Any) -> list[str]:
    """Where ``value`` does not fit the output shape of ``operation`` (member names and types)."""
    shape = _sagemaker_model().operation_model(operation).output_shape
    problems: list[str] = []
    _check(shape, value, operation, problems)
    return problems


def _check(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object")
            return
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                _check(shape.members[key], item, f"{path}.{key}", problems)
    elif isinstance(shape, ListShape):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    elif isinstance(shape, MapShape):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
    elif shape.type_name == "string" and not isinstance(value, str):
        problems.append(f"{path}: expected a string")
    elif shape.type_name in ("integer", "long") and not isinstance(value, int):
        problems.append(f"{path}: expected an integer")
    elif shape.type_name in ("float", "double") and not isinstance(value, int | float):
        problems.append(f"{path}: expected a number")
    elif shape.type_name == "timestamp" and not isinstance(value, str):
        problems.append(f"{path}: expected an ISO timestamp string")
