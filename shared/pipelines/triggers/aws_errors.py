"""AWS errors from boto3, re-raised as the API's errors with the same code and status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError

from pipelines.api.errors import ServiceError

_CLIENT_FAULTS = {
    "ValidationException",
    "ConflictException",
    "ResourceNotFoundException",
    "ServiceQuotaExceededException",
    "ThrottlingException",
    "LimitExceededException",
    "InvalidEventPatternException",
    "ConcurrentModificationException",
}


@contextmanager
def aws_errors(service: str) -> Iterator[None]:
    """Client faults keep their code and status (a duplicate schedule is the caller's
    ConflictException); anything else is a 500 naming the service, never a silent success."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "InternalServerException"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        message = str(error.get("Message", str(exc)))
        if code in _CLIENT_FAULTS or 400 <= status < 500:
            raise ServiceError(code, message, status if 400 <= status < 500 else 400) from exc
        raise ServiceError("InternalServerException", f"{service} failed: {code}: {message}", 500) from exc
    except BotoCoreError as exc:
        raise ServiceError("InternalServerException", f"{service} could not be reached: {exc}", 500) from exc


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a ServiceError raised by :func:`aws_errors` (None otherwise)."""
    return exc.code if isinstance(exc, ServiceError) else None
