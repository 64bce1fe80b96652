"""Business hours of a call flow: is it open at a given instant?

Hours are wall-clock times per weekday in the tenant's time zone. The
instant is converted with zoneinfo, so DST changes are handled by the
conversion: on the spring-forward day the skipped hour simply never occurs,
on the fall-back day the repeated hour is open (or closed) both times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..i18n import N_

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAY = 24 * 60
END_OF_DAY = "24:00"
"""An end of "24:00" keeps the day open up to midnight: 00:00-24:00 is open all day."""
RULE = N_("Same start and end: closed that day. 00:00 to 24:00: open all day. An end before the start "
        "runs past midnight and belongs to the day it starts (18:00 to 02:00 on Friday: Friday evening "
        "until 2 o'clock on Saturday).")
"""Shown beside the business-hours fields (translated there)."""


def parse_hhmm(text: str, *, end: bool = False) -> int:
    """"08:30" -> 510 (minutes after midnight); "24:00" only as an ``end``.
    Raises ValueError for anything else."""
    text = (text or "").strip()
    if end and text == END_OF_DAY:
        return DAY
    match = _HHMM.match(text)
    if not match:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class DayHours:
    """Opening hours that start on one weekday, in minutes after local midnight.

    ``start == end`` is closed (the manual's convention); ``end`` may be
    1440 (24:00); ``end < start`` runs past midnight into the next day."""

    start: int
    """First open minute (local wall-clock time)."""
    end: int
    """First closed minute (exclusive); below ``start`` it is on the next day."""

    def __post_init__(self) -> None:
        if not (0 <= self.start < DAY and 0 <= self.end <= DAY):
            raise ValueError("times must lie within the day")

    @property
    def closed(self) -> bool:
        return self.start == self.end

    @property
    def overnight(self) -> bool:
        return self.end < self.start

    def open_today(self, minute: int) -> bool:
        """Open at ``minute`` of this weekday."""
        if self.closed:
            return False
        return self.start <= minute if self.overnight else self.start <= minute < self.end

    def open_next_morning(self, minute: int) -> bool:
        """Open at ``minute`` of the following weekday (the part after midnight)."""
        return self.overnight and minute < self.end

    def as_pair(self) -> list[str]:
        return [_hhmm(self.start), END_OF_DAY if self.end == DAY else _hhmm(self.end)]

    @classmethod
    def from_pair(cls, pair: Sequence[str]) -> "DayHours":
        return cls(parse_hhmm(pair[0]), parse_hhmm(pair[1], end=True))


@dataclass(frozen=True)
class WeekHours:
    """Seven DayHours, Monday first."""

    days: tuple[DayHours, ...]
    """Exactly seven entries, index 0 = Monday."""

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError("WeekHours needs seven days")

    @classmethod
    def from_pairs(cls, pairs: Sequence[Sequence[str]]) -> "WeekHours":
        return cls(tuple(DayHours.from_pair(p) for p in pairs))


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
    minute = local.hour * 60 + local.minute
    today = local.weekday()
    return hours.days[today].open_today(minute) or hours.days[today - 1].open_next_morning(minute)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Shorthand used by callers and tests for an aware UTC instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
