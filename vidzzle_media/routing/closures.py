"""Closed days of a call flow: a regional public-holiday calendar plus
one-off exceptions (closed, or special hours) on top of the weekly hours.

Public holidays come from the maintained ``holidays`` package (country and
subdivision, e.g. ``DE-BY``: Epiphany is a holiday in Bavaria, not in
North Rhine-Westphalia). Which day an instant falls on is decided in the
flow's time zone (zoneinfo), so 00:30 on 25 December in Berlin is
Christmas although it is still the 24th in UTC, and DST days need no
special case.

Precedence for one local date: a one-off exception (closed, or its own
hours) wins over a public holiday, which wins over the weekly hours. On
such a day the previous day's hours do not run on past midnight into it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Iterator, Sequence

import holidays

from .hours import DayHours, WeekHours, is_open, parse_hhmm, zone

MAX_EXCEPTIONS = 200
_REGION = re.compile(r"^([A-Z]{2})(?:-([A-Za-z0-9]+))?$")
_EXCEPTION = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(?:(closed|geschlossen)|(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})))?$",
                        re.IGNORECASE)


class Openness(StrEnum):
    """Whether a flow takes calls at an instant, and if not, why."""

    OPEN = "open"
    CLOSED = "closed"
    """Outside the weekly hours (or a special-hours day's hours)."""
    HOLIDAY = "holiday"
    """A public holiday of the flow's region or a one-off closed day."""


def regions() -> list[str]:
    """Every region code the holiday calendar knows: "DE", "DE-BY", ... (for the form's suggestions)."""
    codes = []
    for country, subdivisions in sorted(holidays.list_supported_countries().items()):
        codes.append(country)
        codes += [f"{country}-{sub}" for sub in subdivisions]
    return codes


def check_region(code: str) -> str:
    """The normalised region code ("de-by" -> "DE-BY"; "" for none); ValueError if unknown."""
    code = code.strip()
    if not code:
        return ""
    match = _REGION.match(code.upper())
    supported = holidays.list_supported_countries()
    if not match or match.group(1) not in supported:
        raise ValueError(code)
    country, sub = match.group(1), match.group(2)
    if sub is None:
        return country
    for known in supported[country]:
        if known.upper() == sub.upper():
            return f"{country}-{known}"
    raise ValueError(code)


@lru_cache(maxsize=64)
def _calendar(region: str, year: int, language: str) -> dict[date, str]:
    country, _, sub = region.partition("-")
    try:
        found = holidays.country_holidays(country, subdiv=sub or None, years=year, language=language or None)
    except NotImplementedError:      # a language the country's calendar has no names in
        found = holidays.country_holidays(country, subdiv=sub or None, years=year)
    return dict(found.items())


def holiday_name(region: str, day: date, language: str = "") -> str | None:
    """The public holiday on ``day`` in ``region`` ("" region: none), named in ``language`` when the calendar can."""
    if not region:
        return None
    return _calendar(region, day.year, language).get(day)


@dataclass(frozen=True)
class DayException:
    """One dated exception: closed all day (``hours`` None) or open only in ``hours``."""

    day: date
    hours: DayHours | None = None

    def as_line(self) -> str:
        if self.hours is None:
            return f"{self.day.isoformat()} closed"
        start, end = self.hours.as_pair()
        return f"{self.day.isoformat()} {start}-{end}"


def parse_exceptions(text: str) -> tuple[list[DayException], dict[int, str]]:
    """Lines "YYYY-MM-DD" or "YYYY-MM-DD closed" (closed all day) or
    "YYYY-MM-DD HH:MM-HH:MM" (only these hours that day); blank lines are
    skipped. Returns the exceptions sorted by day and {line number: the
    bad line} for lines that are not one of these (or repeat a day)."""
    found: dict[date, DayException] = {}
    bad: dict[int, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        match = _EXCEPTION.match(line)
        try:
            if not match:
                raise ValueError(line)
            day = date.fromisoformat(match.group(1))
            hours = None
            if match.group(3):
                hours = DayHours(parse_hhmm(match.group(3)), parse_hhmm(match.group(4), end=True))
                if hours.end <= hours.start:
                    raise ValueError(line)
            if day in found:
                raise ValueError(line)
        except ValueError:
            bad[number] = raw.strip()
            continue
        found[day] = DayException(day, hours)
    return sorted(found.values(), key=lambda e: e.day), bad


def exceptions_text(exceptions: Sequence[DayException]) -> str:
    return "\n".join(e.as_line() for e in exceptions)


StoredException = list[Any]
"""["YYYY-MM-DD", None | ["HH:MM", "HH:MM"]] (JSON)."""


def exceptions_to_json(exceptions: Sequence[DayException]) -> list[StoredException]:
    """The stored form: [["YYYY-MM-DD", None | ["HH:MM", "HH:MM"]], ...]."""
    return [[e.day.isoformat(), None if e.hours is None else e.hours.as_pair()] for e in exceptions]


def exceptions_from_json(stored: Sequence[StoredException]) -> tuple[DayException, ...]:
    """The stored form back; an entry that no longer parses is left out rather than failing a call."""
    out = []
    for entry in stored:
        try:
            day, pair = entry
            out.append(DayException(date.fromisoformat(day), None if pair is None else DayHours.from_pair(pair)))
        except (TypeError, ValueError):
            continue
    return tuple(out)


@dataclass(frozen=True)
class FlowCalendar:
    """Weekly hours plus the flow's holiday region and dated exceptions."""

    hours: WeekHours
    timezone: str
    region: str = ""
    exceptions: tuple[DayException, ...] = ()

    def _exception(self, day: date) -> DayException | None:
        return next((e for e in self.exceptions if e.day == day), None)

    def openness(self, at: datetime) -> Openness:
        """OPEN, CLOSED (outside the hours) or HOLIDAY at the aware instant ``at``."""
        local = at.astimezone(zone(self.timezone))
        day = local.date()
        exception = self._exception(day)
        if exception is not None:
            if exception.hours is None:
                return Openness.HOLIDAY
            minute = local.hour * 60 + local.minute
            return Openness.OPEN if exception.hours.open_today(minute) else Openness.CLOSED
        if holiday_name(self.region, day):
            return Openness.HOLIDAY
        if is_open(self.hours, self.timezone, at):
            minute = local.hour * 60 + local.minute
            spill = not self.hours.days[day.weekday()].open_today(minute)   # yesterday's hours past midnight
            yesterday = day - timedelta(days=1)
            if spill and (self._exception(yesterday) is not None or holiday_name(self.region, yesterday)):
                return Openness.CLOSED
            return Openness.OPEN
        return Openness.CLOSED

    def closed_days(self, start: date, count: int = 5, language: str = "", horizon_days: int = 800) -> list[tuple[date, str]]:
        """The next ``count`` dates from ``start`` on that are closed all day
        by a holiday or an exception, with what closes them (the holiday's
        name, or "" for a one-off closed day)."""
        out: list[tuple[date, str]] = []
        for day in _days(start, horizon_days):
            exception = self._exception(day)
            if exception is not None:
                if exception.hours is None:
                    out.append((day, ""))
            else:
                name = holiday_name(self.region, day, language)
                if name:
                    out.append((day, name))
            if len(out) >= count:
                break
        return out


def _days(start: date, count: int) -> Iterator[date]:
    for offset in range(count):
        yield start + timedelta(days=offset)

