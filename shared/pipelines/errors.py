"""Typed errors shared by every layer. Each error type carries its own message.

``code`` is the service error code (the ``__type`` the SDKs read) and ``status`` the HTTP status
the API answers with; SageMaker's JSON protocol answers every client error with 400, so only
the wire layer's own errors (pipelines.api.errors) override it.
"""

from __future__ import annotations


class PipelinesError(Exception):
    """Base of every error this package raises on purpose."""

    code: str = "PipelinesError"
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(PipelinesError):
    """Input broke a documented rule (maps to the service's ValidationException)."""

    code = "ValidationException"


class ResourceNotFound(PipelinesError):
    code = "ResourceNotFound"


class ConflictError(PipelinesError):
    code = "ConflictException"


class ResourceLimitExceeded(PipelinesError):
    code = "ResourceLimitExceeded"
