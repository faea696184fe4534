"""The EMRServerless step's StepRunner request: the v3 SDK's camelCase bodies in the casing of
Step Functions' optimized EMR Serverless integration.

The SDK's ``EMRServerlessStep`` emits ``JobConfig`` (a StartJobRun body) and either
``ApplicationId`` or ``ApplicationConfig`` (a CreateApplication body), with EMR Serverless's
own camelCase member names. Step Functions' ``arn:aws:states:::emr-serverless:*`` tasks take
the same requests with PascalCase member names (``JobDriver.SparkSubmit.EntryPoint``). The
conversion follows botocore's ``emr-serverless`` shapes, so only structure members change case:
map keys (Spark properties such as ``spark.executor.memory``, tags) stay exactly as written.

Names per attempt: the job run and an application the step creates are named with the
attempt's job name, and that name is also their ClientToken, so a retried Task never starts a
second job run or application, and a stop (``job_stops``) finds them by name. When the step's ``ExecutionRoleArn`` and
``JobConfig.executionRoleArn`` differ, the step's wins: the v3 SDK documents the top-level
role as the one the service uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from pipelines import aws

SERVICE = "emr-serverless"
JOB_RUN_REQUEST = "StartJobRunRequest"
APPLICATION_REQUEST = "CreateApplicationRequest"


def emr_serverless_request(arguments: Mapping[str, Any], job_name: str) -> dict[str, Any]:
    """``{"JobRun": <startJobRun parameters without ApplicationId>, "ApplicationId": id}`` for
    an existing application, or ``{"JobRun": ..., "Application": <createApplication
    parameters>}`` when the step creates one; the StepRunner fills in the application id."""
    job = {key: value for key, value in dict(arguments["JobConfig"]).items() if key != "applicationId"}
    role = arguments.get("ExecutionRoleArn") or job.get("executionRoleArn")
    job.update(executionRoleArn=role, name=job_name, clientToken=job_name)
    request: dict[str, Any] = {"JobRun": integration_case(JOB_RUN_REQUEST, job)}
    if arguments.get("ApplicationId") is not None:
        request["ApplicationId"] = arguments["ApplicationId"]
    else:
        application = {**dict(arguments["ApplicationConfig"]), "name": job_name, "clientToken": job_name}
        request["Application"] = integration_case(APPLICATION_REQUEST, application)
    return request


def integration_case(shape_name: str, value: Any) -> Any:
    """``value`` (a request of the named emr-serverless shape) with PascalCase member names."""
    return _convert(_shape(shape_name), value)


def _convert(shape: Shape | None, value: Any) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            key[:1].upper() + key[1:]: _convert(shape.members.get(key), item) for key, item in value.items()
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_convert(shape.member, item) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _convert(shape.value, item) for key, item in value.items()}
    return value


@cache
def _shape(name: str) -> Shape:
    return aws.service_model(SERVICE).shape_for(name)
