"""The SageMaker API shapes the registry speaks, read from botocore's service model.

Requests are checked against the Create* input shape and records are projected onto the
Describe*/List* output shapes, so the registry returns exactly the members the real API does
without a hand-kept list of field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from botocore.model import ServiceModel, StringShape, StructureShape
from botocore.validate import ParamValidator

from pipelines import aws
from pipelines.errors import ValidationError


class RegistryValidationError(ValidationError):
    """A registry request that the SageMaker API would reject."""


@cache
def _service_model() -> ServiceModel:
    return aws.service_model("sagemaker")


def input_shape(operation: str) -> StructureShape:
    shape = _service_model().operation_model(operation).input_shape
    assert shape is not None
    return shape


def output_members(operation: str) -> tuple[str, ...]:
    shape = _service_model().operation_model(operation).output_shape
    assert shape is not None
    return tuple(shape.members)


def structure_members(shape_name: str) -> tuple[str, ...]:
    shape = _service_model().shape_for(shape_name)
    assert isinstance(shape, StructureShape)
    return tuple(shape.members)


def enum_values(shape_name: str) -> list[str]:
    shape = _service_model().shape_for(shape_name)
    assert isinstance(shape, StringShape)
    return list(shape.enum)


def validate_request(operation: str, request: Mapping[str, Any]) -> None:
    """Raise :class:`RegistryValidationError` with botocore's report when the request is malformed."""
    report = ParamValidator().validate(dict(request), input_shape(operation))
    if report.has_errors():
        raise RegistryValidationError(f"{operation}: {report.generate_report()}")


def project(record: Mapping[str, Any], members: tuple[str, ...]) -> dict[str, Any]:
    """The members of ``record`` that ``members`` names, in the shape's order."""
    return {name: record[name] for name in members if name in record}
