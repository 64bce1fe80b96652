"""Business hours of a call flow: is it open at a given instant?

Hours are wall-clock times per weekday in the tenant's time zone. The
instant is converted with zoneinfo, so DST changes are handled by the
conversion: on the spring-forward day the skipped hour simply never occurs,
on the fall-back day the repeated hour is open (or closed) both times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(text: str) -> time:
    """"08:30" -> time(8, 30); raises ValueError for anything else."""
    match = _HHMM.match((text or "").strip())
    if not match:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class DayHours:
    """Opening hours of one weekday; ``start == end`` means closed all day."""

    start: time
    """First open minute (local wall-clock time)."""
    end: time
    """First closed minute after opening (exclusive)."""

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("end must not be before start (use start == end for a closed day)")

    @property
    def closed(self) -> bool:
        return self.start == self.end

    def contains(self, at: time) -> bool:
        return not self.closed and self.start <= at < self.end

    def as_pair(self) -> list[str]:
        return [self.start.strftime("%H:%M"), self.end.strftime("%H:%M")]

    @classmethod
    def from_pair(cls, pair) -> "DayHours":
        return cls(parse_hhmm(pair[0]), parse_hhmm(pair[1]))


@dataclass(frozen=True)
class WeekHours:
    """Seven DayHours, Monday first."""

    days: tuple[DayHours, ...]
    """Exactly seven entries, index 0 = Monday."""

    def __post_init__(self):
        if len(self.days) != 7:
            raise ValueError("WeekHours needs seven days")

    def as_pairs(self) -> list[list[str]]:
        return [d.as_pair() for d in self.days]

    @classmethod
    def from_pairs(cls, pairs) -> "WeekHours":
        return cls(tuple(DayHours.from_pair(p) for p in pairs))

    @classmethod
    def always_closed(cls) -> "WeekHours":
        return cls(tuple(DayHours(time(0), time(0)) for _ in range(7)))


def zone(name: str) -> ZoneInfo:
    """The tenant's zone; an unknown name falls back to UTC rather than failing a call."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_open(hours: WeekHours, tz_name: str, at: datetime) -> bool:
    """True when ``at`` (an aware instant) falls into the opening hours."""
    if at.tzinfo is None:
        raise ValueError("is_open needs an aware datetime")
    local = at.astimezone(zone(tz_name))
    return hours.days[local.weekday()].contains(local.time().replace(tzinfo=None))


def utc(year, month, day, hour=0, minute=0, second=0) -> datetime:
    """Shorthand used by callers and tests for an aware UTC instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
