"""A CloudWatch Logs subset over the local jobs' logs: DescribeLogGroups, DescribeLogStreams,
GetLogEvents and FilterLogEvents, in the log groups and stream names SageMaker uses.

Each job's ``job.log`` (see :mod:`pipelines.runners.jobs.joblog`) is one stream
``<job name>/algo-1-<creation epoch seconds>`` in ``/aws/sagemaker/ProcessingJobs``,
``/aws/sagemaker/TrainingJobs`` or ``/aws/sagemaker/TransformJobs``, so the SageMaker SDK's
``wait(logs=True)`` / ``logs()`` and any CloudWatch client read job output from ``pipelines
serve`` as they would from AWS. Handlers are transport-free; :class:`pipelines.api.wire.JsonService`
serves them as ``Logs_20140328.<Operation>``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.utils import parse_to_aware_datetime

from pipelines.api.errors import ServiceError
from pipelines.api.ops.context import page_of
from pipelines.api.ops.jobs import JobRecordView, JobSource
from pipelines.api.wire import CallContext, Handler
from pipelines.runners.jobs.joblog import LogLine, read_job_log

LOG_GROUPS = {
    "/aws/sagemaker/ProcessingJobs": "ProcessingJob",
    "/aws/sagemaker/TrainingJobs": "TrainingJob",
    "/aws/sagemaker/TransformJobs": "TransformJob",
}
HOST = "algo-1"
DEFAULT_EVENTS_LIMIT = 10000
DEFAULT_STREAMS_LIMIT = 50


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


@dataclass(frozen=True)
class LogStream:
    group: str
    name: str
    job: JobRecordView
    path: Path
    created_ms: int

    def lines(self) -> list[LogLine]:
        return read_job_log(self.path)


def stream_name(job_name: str, created: Any) -> str:
    """``<job>/algo-1-<epoch seconds>``, as SageMaker names a job's stream."""
    return f"{job_name}/{HOST}-{int(_ms(created) // 1000)}"


def _ms(value: Any) -> int:
    if value in (None, ""):
        return 0
    moment: datetime = parse_to_aware_datetime(value)
    return int(moment.timestamp() * 1000)


class JobLogs:
    """The Logs operations over the job records and their log files."""

    def __init__(
        self, jobs: JobSource, log_path: Callable[[str], Path], account_id: str, region: str
    ) -> None:
        self.jobs = jobs
        self.log_path = log_path
        self.account_id = account_id
        self.region = region

    def handlers(self) -> dict[str, Handler]:
        return {
            "DescribeLogGroups": self.describe_log_groups,
            "DescribeLogStreams": self.describe_log_streams,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
        }

    # -- streams -------------------------------------------------------------------------------
    def _group(self, params: dict[str, Any]) -> str:
        group = (
            params.get("logGroupName")
            or str(params.get("logGroupIdentifier", "")).rpartition(":log-group:")[2]
        )
        group = group.removesuffix(":*")
        if group not in LOG_GROUPS:
            raise not_found("The specified log group does not exist.")
        return group

    def streams(self, group: str) -> list[LogStream]:
        """Every job of the group's kind that has written a log, oldest first."""
        found = []
        for job in self.jobs.of_kind(LOG_GROUPS[group]):
            path = self.log_path(job.name)
            if path.is_file():
                created = job.describe.get("CreationTime")
                found.append(LogStream(group, stream_name(job.name, created), job, path, _ms(created)))
        return found

    def _stream(self, group: str, name: str) -> LogStream:
        for stream in self.streams(group):
            if stream.name == name:
                return stream
        raise not_found("The specified log stream does not exist.")

    def _arn(self, group: str, stream: str | None = None) -> str:
        base = f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{group}"
        return f"{base}:log-stream:{stream}" if stream else f"{base}:*"

    # -- operations ----------------------------------------------------------------------------
    def describe_log_groups(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        prefix = params.get("logGroupNamePrefix", "")
        groups = [
            {"logGroupName": name, "creationTime": 0, "arn": self._arn(name), "storedBytes": 0}
            for name in sorted(LOG_GROUPS)
            if name.startswith(prefix)
        ]
        page, token = _page(groups, params, "groups", DEFAULT_STREAMS_LIMIT)
        return {"logGroups": page, "nextToken": token}

    def describe_log_streams(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        group = self._group(params)
        prefix = params.get("logStreamNamePrefix", "")
        order = params.get("orderBy", "LogStreamName")
        if prefix and order == "LastEventTime":
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        described = []
        for stream in self.streams(group):
            if not _has_prefix(stream.name, prefix):
                continue
            lines = stream.lines()
            item: dict[str, Any] = {
                "logStreamName": stream.name,
                "creationTime": stream.created_ms,
                "arn": self._arn(group, stream.name),
                "storedBytes": stream.path.stat().st_size,
            }
            if lines:
                item.update(
                    firstEventTimestamp=lines[0].timestamp,
                    lastEventTimestamp=lines[-1].timestamp,
                    lastIngestionTime=lines[-1].timestamp,
                )
            described.append(item)
        if order == "LastEventTime":
            described.sort(key=lambda s: (s.get("lastEventTimestamp", 0), s["logStreamName"]))
        else:
            described.sort(key=lambda s: s["logStreamName"])
        if params.get("descending"):
            described.reverse()
        page, token = _page(described, params, f"streams:{group}:{prefix}", DEFAULT_STREAMS_LIMIT)
        return {"logStreams": page, "nextToken": token}

    def get_log_events(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        group = self._group(params)
        stream = self._stream(group, params["logStreamName"])
        events = _in_window(stream.lines(), params)
        limit = params.get("limit", DEFAULT_EVENTS_LIMIT)
        token = params.get("nextToken")
        if token:
            direction, _, number = token.partition("/")
            if direction not in ("f", "b") or not number.isdigit():
                raise invalid("The specified nextToken is invalid.")
            position = min(int(number), len(events))
            start, end = (
                (position, position + limit) if direction == "f" else (max(0, position - limit), position)
            )
        elif params.get("startFromHead"):
            start, end = 0, limit
        else:
            start, end = max(0, len(events) - limit), len(events)
        chosen = events[start:end]
        end = start + len(chosen)
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.timestamp} for e in chosen
            ],
            # At the end, the forward token stays the same: callers poll with it for new lines.
            "nextForwardToken": f"f/{end}",
            "nextBackwardToken": f"b/{start}",
        }

    def filter_log_events(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        group = self._group(params)
        names = params.get("logStreamNames")
        prefix = params.get("logStreamNamePrefix")
        if names and prefix:
            raise invalid("logStreamNames and logStreamNamePrefix cannot both be specified.")
        matches = pattern_matcher(params.get("filterPattern", ""))
        streams = [
            s
            for s in self.streams(group)
            if (not names or s.name in names) and _has_prefix(s.name, prefix or "")
        ]
        found: list[dict[str, Any]] = []
        for stream in streams:
            for number, line in enumerate(_in_window(stream.lines(), params)):
                if matches(line.message):
                    found.append(
                        {
                            "logStreamName": stream.name,
                            "timestamp": line.timestamp,
                            "message": line.message,
                            "ingestionTime": line.timestamp,
                            "eventId": f"{stream.created_ms}-{number:08d}-{stream.name}"[:128],
                        }
                    )
        found.sort(key=lambda e: (e["timestamp"], e["logStreamName"], e["eventId"]))
        page, token = _page(found, params, f"filter:{group}", DEFAULT_EVENTS_LIMIT)
        return {
            "events": page,
            "searchedLogStreams": [{"logStreamName": s.name, "searchedCompletely": True} for s in streams],
            "nextToken": token,
        }


def _has_prefix(name: str, prefix: str) -> bool:
    """Stream prefixes match regardless of case: job ARNs carry names lower-cased, and the SDK
    asks for ``<name from the ARN>/`` while streams carry the name as the job was created."""
    return name.lower().startswith(prefix.lower())


def _in_window(lines: Sequence[LogLine], params: dict[str, Any]) -> list[LogLine]:
    start, end = params.get("startTime"), params.get("endTime")
    return [
        line
        for line in lines
        if (start is None or line.timestamp >= start) and (end is None or line.timestamp <= end)
    ]


def pattern_matcher(pattern: str) -> Callable[[str], bool]:
    """CloudWatch's term patterns: every term must occur, ``"a phrase"`` as written, ``-term``
    must not, and among ``?term`` alternatives at least one must. JSON and space-delimited
    field patterns are refused by name."""
    text = pattern.strip()
    if not text:
        return lambda _message: True
    if text.startswith(("{", "[")):
        raise invalid(
            "Only term filter patterns (words, quoted phrases, -term, ?term) are supported by this "
            "endpoint; JSON and space-delimited patterns are not."
        )
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise invalid(f"Invalid filter pattern {pattern!r}: {exc}") from exc
    required = [t for t in terms if not t.startswith(("-", "?"))]
    excluded = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    optional = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]

    def matches(message: str) -> bool:
        return (
            all(t in message for t in required)
            and not any(t in message for t in excluded)
            and (not optional or any(t in message for t in optional))
        )

    return matches


def _page(
    items: Sequence[Any], params: dict[str, Any], listing: str, default_limit: int
) -> tuple[list[Any], str | None]:
    return page_of(
        items,
        params,
        listing,
        limit=params.get("limit", default_limit),
        token_member="nextToken",
        invalid=lambda: invalid("The specified nextToken is invalid."),
    )
