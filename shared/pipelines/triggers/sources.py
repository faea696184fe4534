"""Rule patterns confined to the event sources the deployment declares.

A rule on the owner's default bus sees every event of the account, and its targets map event
fields into parameters the caller can read back. So a rule registered through the API may
select only events the deployment declared as trigger sources:

* **S3** (``source: aws.s3``): ``detail.bucket.name`` must list declared buckets;
* **CloudWatch alarms** (``aws.cloudwatch``): ``detail.alarmName`` must list declared alarms
  (or ``resources`` their ARNs);
* **our status events** (:data:`pipelines.events.details.SOURCE`): ``detail.pipelineArn``
  must list pipelines of the owner's account;
* any other ``source`` must itself be declared (a custom source the account's own code puts on
  the bus, e.g. ``com.example.ingest``); an AWS service's other events are never selectable.

A declared entry ending in ``*`` is a prefix (``raw-*``): it admits exact names with that prefix
and ``{"prefix": ...}`` matchers at least that long; ``*`` alone admits every name. Values must be
exact strings or such prefixes -- ``anything-but``, ``wildcard``, ``exists`` and the like would
reach undeclared sources, and ``$or`` hides which branch constrains, so both are refused for
the confined fields. A refusal is :class:`UndeclaredEventSource` naming the pattern path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.events.details import SOURCE
from pipelines.triggers.errors import InvalidEventPattern

S3_SOURCE = "aws.s3"
ALARM_SOURCE = "aws.cloudwatch"


class UndeclaredEventSource(InvalidEventPattern):
    """A rule pattern selects events from a source the deployment did not declare."""


@dataclass(frozen=True)
class DeclaredSources:
    """What rules registered through the API may select (``None``: anything, the embedded
    default; an empty tuple: nothing of that kind)."""

    buckets: tuple[str, ...] | None = ()
    alarms: tuple[str, ...] | None = ()
    sources: tuple[str, ...] | None = ()

    @classmethod
    def anything(cls) -> DeclaredSources:
        return cls(None, None, None)


def check_declared_sources(pattern: Mapping[str, Any], declared: DeclaredSources, owner_account: str) -> None:
    """Refuse ``pattern`` unless every event it can match comes from a declared source."""
    if declared == DeclaredSources.anything():
        return
    if "$or" in pattern:
        raise UndeclaredEventSource(
            "$or: a top-level $or cannot be confined to declared sources; register one rule per branch"
        )
    sources = _exact("source", pattern.get("source"))
    for source in sources:
        if source == S3_SOURCE:
            _check_names(pattern, ("detail", "bucket", "name"), declared.buckets, "bucket")
        elif source == ALARM_SOURCE:
            _check_alarms(pattern, declared.alarms)
        elif source == SOURCE:
            arns = _exact("detail.pipelineArn", _at(pattern, ("detail", "pipelineArn")))
            for arn in arns:
                parts = arn.split(":")
                if len(parts) < 6 or parts[4] != owner_account or not parts[5].startswith("pipeline/"):
                    raise UndeclaredEventSource(
                        f"detail.pipelineArn: {arn} is not a pipeline of this deployment's account "
                        f"({owner_account}); status-change rules select only the owner's pipelines"
                    )
        elif declared.sources is not None and not _admitted(source, declared.sources):
            raise UndeclaredEventSource(
                f"source: {source} is not a declared trigger source (declared: "
                f"{_listing(declared.sources)}; the deployment's context triggerSources)"
            )


def _at(pattern: Mapping[str, Any], path: Iterable[str]) -> Any:
    node: Any = pattern
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _exact(where: str, values: Any) -> list[str]:
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise UndeclaredEventSource(
            f"{where}: must list exact values (strings) so the rule selects only declared sources"
        )
    return list(values)


def _check_names(
    pattern: Mapping[str, Any], path: tuple[str, ...], declared: tuple[str, ...] | None, kind: str
) -> None:
    if declared is None:
        return
    where = ".".join(path)
    values = _at(pattern, path)
    if not isinstance(values, list) or not values:
        raise UndeclaredEventSource(
            f"{where}: required: a {kind} rule must name its {kind}s (declared: {_listing(declared)})"
        )
    for value in values:
        if isinstance(value, str):
            if not _admitted(value, declared):
                raise UndeclaredEventSource(
                    f"{where}: {kind} {value} is not declared for triggers (declared: {_listing(declared)})"
                )
        elif isinstance(value, dict) and set(value) == {"prefix"} and isinstance(value["prefix"], str):
            if not _prefix_admitted(value["prefix"], declared):
                raise UndeclaredEventSource(
                    f"{where}: prefix {value['prefix']!r} reaches {kind}s that are not declared "
                    f"(declared: {_listing(declared)})"
                )
        else:
            raise UndeclaredEventSource(
                f"{where}: {json.dumps(value, sort_keys=True)} may match undeclared {kind}s; use exact names or a declared prefix"
            )


def _check_alarms(pattern: Mapping[str, Any], declared: tuple[str, ...] | None) -> None:
    if declared is None:
        return
    if _at(pattern, ("detail", "alarmName")) is None and isinstance(pattern.get("resources"), list):
        for arn in _exact("resources", pattern["resources"]):
            name = arn.split(":alarm:", 1)[1] if ":alarm:" in arn else None
            if name is None or not _admitted(name, declared):
                raise UndeclaredEventSource(
                    f"resources: {arn} is not a declared alarm (declared: {_listing(declared)})"
                )
        return
    _check_names(pattern, ("detail", "alarmName"), declared, "alarm")


def _admitted(name: str, declared: Iterable[str]) -> bool:
    return any(name == d or (d.endswith("*") and name.startswith(d[:-1])) for d in declared)


def _prefix_admitted(prefix: str, declared: Iterable[str]) -> bool:
    return any(d.endswith("*") and prefix.startswith(d[:-1]) for d in declared)


def _listing(declared: tuple[str, ...]) -> str:
    return ", ".join(declared) if declared else "none"
