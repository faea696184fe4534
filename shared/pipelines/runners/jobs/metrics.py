"""Training metrics read from the job's log, as SageMaker reads them for FinalMetricDataList.

Each ``MetricDefinitions`` entry is a name and a regex searched in every log line; the first
capture group (or the whole match) is the value. The last value seen for a metric is its final
value, stamped with the time the line was read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.runners.jobs.errors import JobRequestError


class MetricCollector:
    """Thread-safe enough for one job: lines arrive from the reader threads one at a time each,
    and a metric's latest value is replaced atomically."""

    def __init__(self, definitions: Iterable[Mapping[str, Any]] | None, *, what: str) -> None:
        self._patterns: list[tuple[str, re.Pattern[str]]] = []
        for definition in definitions or []:
            name, regex = definition.get("Name"), definition.get("Regex")
            if not isinstance(name, str) or not isinstance(regex, str):
                raise JobRequestError(f"{what}: each MetricDefinitions entry needs a Name and a Regex")
            try:
                self._patterns.append((name, re.compile(regex)))
            except re.error as exc:
                raise JobRequestError(
                    f"{what}: metric {name!r} has an invalid Regex {regex!r}: {exc}"
                ) from exc
        self._latest: dict[str, tuple[float, datetime]] = {}

    def feed(self, line: str) -> None:
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if match is None:
                continue
            text = match.group(1) if pattern.groups else match.group(0)
            try:
                value = float(text)
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                self._latest[name] = (value, datetime.now(UTC))

    def value(self, name: str) -> float | None:
        found = self._latest.get(name)
        return found[0] if found else None

    def final_metric_data_list(self) -> list[dict[str, Any]]:
        return [
            {"MetricName": name, "Value": value, "Timestamp": stamp.isoformat()}
            for name, (value, stamp) in self._latest.items()
        ]
