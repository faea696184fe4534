"""A local job's log: ``<state_dir>/jobs/<job name>/job.log``, one line per output line.

Each line is ``<ISO-8601 UTC time with milliseconds> <text>`` (the form ``docker logs
--timestamps`` prints), so the file reads well and the CloudWatch Logs subset of ``pipelines
serve`` can answer GetLogEvents/FilterLogEvents with the time each line was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.config import Config


@dataclass(frozen=True)
class LogLine:
    timestamp: int  # epoch milliseconds
    message: str


def log_timestamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def job_log_path(config: Config, job_name: str) -> Path:
    return Path(config.state_dir).resolve() / "jobs" / job_name / "job.log"


def parse_line(line: str, fallback: int) -> LogLine:
    """One line of a job log; a line without a leading time gets ``fallback``."""
    stamp, _, text = line.partition(" ")
    if stamp.endswith("Z") and "T" in stamp:
        try:
            moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            return LogLine(fallback, line)
        return LogLine(int(moment.timestamp() * 1000), text)
    return LogLine(fallback, line)


def read_job_log(path: Path) -> list[LogLine]:
    """Every complete line written so far (a line still being written is left for later)."""
    try:
        raw = path.read_bytes()
        fallback = int(path.stat().st_mtime * 1000)
    except FileNotFoundError:
        return []
    text = raw.decode("utf-8", errors="replace")
    complete = text[: text.rfind("\n") + 1]
    return [parse_line(line, fallback) for line in complete.splitlines()]
