"""Identifiers in the service's formats: execution ids, ARNs, callback and entity tokens."""

from __future__ import annotations

import re
import secrets
import string

from pipelines.errors import ValidationError

_LOWER_ALNUM = string.ascii_lowercase + string.digits
_ALNUM = string.ascii_letters + string.digits

EXECUTION_ID_LENGTH = 12
CALLBACK_TOKEN_LENGTH = 10
ENTITY_TOKEN_LENGTH = 8

_EXECUTION_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):sagemaker:(?P<region>[\w-]*):(?P<account>\d*):"
    r"pipeline/(?P<pipeline>[^/]+)/execution/(?P<execution_id>[a-z0-9]+)$"
)


class InvalidArn(ValidationError):
    """Not a pipeline execution ARN."""


def _random(alphabet: str, length: int) -> str:
    """``length`` characters of ``alphabet`` from one draw of the OS random source."""
    base = len(alphabet)
    value = secrets.randbits(8 * length)  # 8 bits per character leaves the bias far below 1e-9
    chars = []
    for _ in range(length):
        value, index = divmod(value, base)
        chars.append(alphabet[index])
    return "".join(chars)


def new_execution_id() -> str:
    """12 lowercase alphanumerics, like ``7pinimwddh3a``."""
    return _random(_LOWER_ALNUM, EXECUTION_ID_LENGTH)


def new_callback_token() -> str:
    """10 characters ``[a-zA-Z0-9]``, like ``26vcYbeWsZ`` (botocore ``CallbackToken``)."""
    return _random(_ALNUM, CALLBACK_TOKEN_LENGTH)


def new_entity_token() -> str:
    """The per-attempt random part of a job name."""
    return _random(_ALNUM, ENTITY_TOKEN_LENGTH)


def pipeline_arn(region: str, account_id: str, pipeline_name: str) -> str:
    """The name keeps its letter case: the SDK's integration tests match CreatePipeline's ARN
    against ``pipeline/{pipeline_name}`` for names like ``Selective-Pipeline-...`` (e.g.
    ``tests/integ/sagemaker/workflow/test_selective_execution.py``). Names are still unique
    regardless of case, and every lookup by ARN compares case-insensitively."""
    return f"arn:aws:sagemaker:{region}:{account_id}:pipeline/{pipeline_name}"


def sagemaker_arn(region: str, account_id: str, resource_type: str, name: str) -> str:
    """A job's, model's, endpoint's (...) ARN as SageMaker writes it: the name lower-cased
    (``.../training-job/pipelines-abc-train-pbhgn7bcvd-0``), unlike a pipeline's."""
    return f"arn:aws:sagemaker:{region}:{account_id}:{resource_type}/{name.lower()}"


def execution_arn(pipeline_arn_value: str, execution_id: str) -> str:
    return f"{pipeline_arn_value}/execution/{execution_id}"


def parse_execution_arn(arn: str) -> tuple[str, str]:
    """``arn:...:pipeline/<name>/execution/<id>`` -> (pipeline name as in the ARN, execution id)."""
    match = _EXECUTION_ARN.match(arn or "")
    if match is None:
        raise InvalidArn(f"Invalid pipeline execution ARN: {arn!r}")
    return match.group("pipeline"), match.group("execution_id")


def execution_id_of(execution_ref: str) -> str:
    """Accept an execution id or an execution ARN."""
    if execution_ref.startswith("arn:"):
        return parse_execution_arn(execution_ref)[1]
    return execution_ref
