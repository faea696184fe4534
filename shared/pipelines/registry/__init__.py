"""The local model registry: models, model package groups, versions and approval status."""

from pipelines.registry.local import (
    DEFAULT_APPROVAL_STATUS,
    ModelRegistry,
    RegistryConflict,
    RegistryNotFound,
)
from pipelines.registry.shapes import RegistryValidationError

__all__ = [
    "DEFAULT_APPROVAL_STATUS",
    "ModelRegistry",
    "RegistryConflict",
    "RegistryNotFound",
    "RegistryValidationError",
]
