"""EventBridge Scheduler expressions: ``at(...)``, ``rate(...)`` and AWS's six-field ``cron(...)``.

AWS cron differs from Unix cron (a year field, ``?``, ``L``, ``W``, ``#``), so Unix cron
libraries reject forms like ``cron(15 10 ? * 6L 2022-2023)``; occurrences come from
pyawscron. pyawscron accepts some expressions AWS refuses (``*`` in both day fields, hour 25),
so the field rules AWS documents are checked here first. Times are computed in the schedule's
time zone (IANA name, default UTC) and returned in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pyawscron import AWSCron

from pipelines.errors import ValidationError

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()
# (name, lowest, highest, names for values) per cron field, as AWS documents them.
_FIELDS = (
    ("minutes", 0, 59, None),
    ("hours", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, None),
)


class InvalidScheduleExpression(ValidationError):
    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"Invalid Schedule Expression {expression}: {reason}")


class ScheduleExpression(Protocol):
    @property
    def text(self) -> str: ...

    def next_after(self, moment: dt.datetime, start: dt.datetime) -> dt.datetime | None:
        """The first occurrence strictly after ``moment`` (UTC), or None if there is none.
        ``start`` anchors rate schedules (their first occurrence)."""
        ...


@dataclass(frozen=True)
class At:
    text: str
    when: dt.datetime  # UTC

    def next_after(self, moment: dt.datetime, start: dt.datetime) -> dt.datetime | None:
        return self.when if self.when > moment else None


@dataclass(frozen=True)
class Rate:
    text: str
    seconds: int

    def next_after(self, moment: dt.datetime, start: dt.datetime) -> dt.datetime | None:
        if moment < start:
            return start
        periods = int((moment - start).total_seconds() // self.seconds) + 1
        return start + dt.timedelta(seconds=periods * self.seconds)


@dataclass(frozen=True)
class Cron:
    text: str
    fields: str
    zone: ZoneInfo

    def next_after(self, moment: dt.datetime, start: dt.datetime) -> dt.datetime | None:
        # pyawscron computes on the wall clock: feed it local wall time labelled UTC.
        local = moment.astimezone(self.zone).replace(tzinfo=dt.UTC)
        found = AWSCron(self.fields).occurrence(local).next()
        if found is None:
            return None
        return found.replace(tzinfo=self.zone).astimezone(dt.UTC)


def time_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Invalid ScheduleExpressionTimezone: {name}") from exc


def parse_schedule_expression(text: str, timezone: str | None = None) -> ScheduleExpression:
    """Parse and check an expression; raises :class:`InvalidScheduleExpression`."""
    zone = time_zone(timezone)
    stripped = text.strip()
    if match := _AT.match(stripped):
        try:
            local = dt.datetime.fromisoformat(match.group(1))
        except ValueError as exc:
            raise InvalidScheduleExpression(text, "not a valid date and time") from exc
        return At(text, local.replace(tzinfo=zone).astimezone(dt.UTC))
    if match := _RATE.match(stripped):
        value, unit = int(match.group(1)), match.group(2)
        if value < 1:
            raise InvalidScheduleExpression(text, "the rate must be a positive whole number")
        return Rate(text, value * _UNIT_SECONDS[unit.rstrip("s")])
    if match := _CRON.match(stripped):
        fields = match.group(1).split()
        _check_cron_fields(text, fields)
        try:
            AWSCron(" ".join(fields))
        except (ValueError, IndexError, KeyError) as exc:
            raise InvalidScheduleExpression(text, str(exc)) from exc
        return Cron(text, " ".join(fields), zone)
    raise InvalidScheduleExpression(
        text, "expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(6 fields)"
    )


def _check_cron_fields(text: str, fields: list[str]) -> None:
    if len(fields) != 6:
        raise InvalidScheduleExpression(text, f"cron needs 6 fields, got {len(fields)}")
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise InvalidScheduleExpression(text, "exactly one of day-of-month and day-of-week must be '?'")
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for token in re.split(r"[,\-/#]", value.upper()):
            token = token.rstrip("LW") if name in ("day-of-month", "day-of-week") else token
            if token in ("", "*", "?"):
                continue
            if names and token in names:
                continue
            if not token.isdigit():
                raise InvalidScheduleExpression(text, f"{name} has an invalid value {token!r}")
            number = int(token)
            if value.upper().find(f"/{token}") >= 0:
                continue  # an increment, not a value
            if value.upper().find(f"#{token}") >= 0:
                if not 1 <= number <= 5:
                    raise InvalidScheduleExpression(text, f"{name}: #{number} must be 1-5")
                continue
            if not low <= number <= high:
                raise InvalidScheduleExpression(text, f"{name} value {number} is outside {low}-{high}")
