"""Pipeline versions and their aliases (PipelineVersionAliases), as botocore's model has them.

An alias names one version of one pipeline: 1-128 letters, digits, ``.``, ``-`` and ``_``, not
digits only, unique within the pipeline, at most 10 per version. Assigning an alias that names
another version moves it. DescribePipeline, StartPipelineExecution and ListPipelineExecutions
accept an alias where they accept a version id, never both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pipelines.errors import ResourceNotFound, ValidationError
from pipelines.store import PipelineRecord

MAX_ALIASES_PER_VERSION = 10
_ALIAS = re.compile(r"(?!\d+$)[A-Za-z0-9._-]{1,128}")


def checked_aliases(aliases: Iterable[str]) -> list[str]:
    """The aliases of a request, each valid and none repeated."""
    listed = list(aliases)
    for alias in listed:
        if not _ALIAS.fullmatch(alias):
            raise ValidationError(
                f"Alias {alias!r} is not valid: use 1-128 letters, numbers, periods (.), hyphens (-) "
                "and underscores (_), not only numbers."
            )
    repeated = sorted({a for a in listed if listed.count(a) > 1})
    if repeated:
        raise ValidationError(f"Aliases are given more than once: {', '.join(repeated)}")
    return listed


def assign(current: dict[str, int], aliases: Iterable[str], version_id: int) -> dict[str, int]:
    """``current`` with each alias naming ``version_id`` (moved from any other version)."""
    updated = dict(current)
    for alias in checked_aliases(aliases):
        updated[alias] = version_id
    crowded = sorted(
        {v for v in updated.values() if list(updated.values()).count(v) > MAX_ALIASES_PER_VERSION}
    )
    if crowded:
        raise ValidationError(
            f"A pipeline version can have at most {MAX_ALIASES_PER_VERSION} aliases; version {crowded[0]} would have more."
        )
    return updated


def remove(current: dict[str, int], aliases: Iterable[str], version_id: int) -> dict[str, int]:
    """``current`` without the aliases, each of which must name ``version_id``."""
    updated = dict(current)
    for alias in checked_aliases(aliases):
        if updated.get(alias) != version_id:
            raise ValidationError(f"Alias {alias} is not assigned to pipeline version {version_id}.")
        del updated[alias]
    return updated


def aliases_of(record: PipelineRecord, version_id: int | None) -> list[str] | None:
    """The aliases naming a version, sorted (None when it has none, so the member is left out)."""
    names = sorted(a for a, v in record.aliases.items() if v == version_id)
    return names or None


def requested_version(record: PipelineRecord, params: dict[str, Any]) -> int | None:
    """The version a request names by ``PipelineVersionId`` or ``PipelineVersionAlias``."""
    version_id = params.get("PipelineVersionId")
    alias = params.get("PipelineVersionAlias")
    if version_id is not None and alias is not None:
        raise ValidationError("Specify PipelineVersionId or PipelineVersionAlias, not both.")
    if alias is None:
        return int(version_id) if version_id is not None else None
    if alias not in record.aliases:
        raise ResourceNotFound(f"No version of pipeline {record.arn} has the alias {alias}.")
    return record.aliases[alias]
