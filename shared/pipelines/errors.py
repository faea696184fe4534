"""Typed errors shared by every layer. Each error type carries its own message."""

from __future__ import annotations


class PipelinesError(Exception):
    """Base of every error this package raises on purpose."""

    code: str = "PipelinesError"

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
