"""botocore's service models, loaded once per process.

The SDK itself derives step properties from these models (``PropertiesMeta``), so they are
the authority on which property paths exist and what a Create* request may contain.
Loading the sagemaker model takes about half a second; everything here is cached.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from botocore.model import ListShape, ServiceModel, Shape, StructureShape

from pipelines import aws
from pipelines.expressions.properties import FALLBACK_NAMING_FIELDS, LIST_NAMING_FIELDS


@cache
def service_model(service: str) -> ServiceModel:
    return aws.service_model(service)


@cache
def shape(service: str, name: str) -> Shape:
    return service_model(service).shape_for(name)


def element_name_field(list_field: str, list_shape: ListShape) -> str | None:
    """The member of a list's elements that ``['key']`` matches, or None when there is none.

    The evaluator's table decides (so validation and run time agree); lists it does not name
    fall back to its usual naming fields, in order, among the element's string members.
    """
    member = list_shape.member
    if not isinstance(member, StructureShape):
        return None
    known = LIST_NAMING_FIELDS.get(list_field)
    if known is not None and known[0] in member.members:
        return known[0]
    for name in FALLBACK_NAMING_FIELDS:
        if name in member.members:
            return name
    return None


@lru_cache(maxsize=4096)
def compiled_pattern(pattern: str) -> re.Pattern[str] | None:
    """botocore patterns are Java regexes matched against the whole value; None if Python can't read one."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None
