"""Service errors of the wire layer that the core error types do not cover.

Every error the API returns is a :class:`pipelines.errors.PipelinesError`: its ``code`` becomes
the ``__type`` the SDKs read and its ``status`` the HTTP status. The core types (validation, not
found, conflict, limit) keep the base's 400 like SageMaker's JSON protocol does; the REST-style
subsets (Scheduler, RAM, S3) use :class:`ServiceError` to carry their own codes and statuses.
"""

from __future__ import annotations

from pipelines.errors import PipelinesError

DEFAULT_ERROR_STATUS = PipelinesError.status


class AccessDenied(PipelinesError):
    """The caller's account may not perform the action on the resource (owner or RAM share)."""

    code = "AccessDeniedException"


class UnknownOperation(PipelinesError):
    """The request names no operation this endpoint serves."""

    code = "UnknownOperationException"


class SerializationError(PipelinesError):
    """The body is not the JSON document the protocol requires."""

    code = "SerializationException"


class RequestTooLarge(PipelinesError):
    """The body exceeds what one request may carry; refused before it is parsed."""

    code = "RequestEntityTooLargeException"
    status = 413


class InternalFailure(PipelinesError):
    """A server fault (SageMaker's common error: HTTP 500). With :class:`ServiceUnavailable`
    the only errors answered with a 5xx status, which the SDKs retry on their own."""

    code = "InternalFailure"
    status = 500


class ServiceUnavailable(PipelinesError):
    """A part of the service is briefly over capacity (SageMaker's common error: HTTP 503);
    retrying later can succeed."""

    code = "ServiceUnavailable"
    status = 503


class ServiceError(PipelinesError):
    """An error with a service-specific code and status (e.g. Scheduler's 404
    ``ResourceNotFoundException`` or RAM's ``UnknownResourceException``)."""

    def __init__(self, code: str, message: str, status: int = DEFAULT_ERROR_STATUS) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def http_status(error: PipelinesError) -> int:
    """The HTTP status an error is answered with."""
    return error.status
