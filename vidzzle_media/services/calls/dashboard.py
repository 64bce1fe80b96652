"""Dashboard figures (R-DASH-1/2) in the tenant's time zone.

"Today" is the tenant's local calendar day (DST-aware via zoneinfo); the
chart covers the 48 local hours ending with the current one, in hourly
buckets of incoming calls split into accepted and not accepted (missed,
abandoned, out of hours; calls still ringing are in neither). Every figure
comes with the calls-list query that shows the calls behind it.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from ...store import Database, stats

CHART_HOURS = 48
MISS_DAYS = 7
"""The breakdown of why calls were not accepted covers this many days up to now."""
CALLS_PATH = "/admin/calls"


def iso(at: datetime) -> str:
    """Same text format as the stored timestamps (store.database.utcnow)."""
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def tz_of(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def day_bounds(day: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start and end of a local calendar day (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time(0), tz).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
    return start, end


def calls_link(**query) -> str:
    clean = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{CALLS_PATH}?{urlencode(clean)}" if clean else CALLS_PATH


@dataclass(frozen=True)
class Bar:
    """One hour of the chart."""

    start: datetime
    """Local start of the hour."""
    incoming: int
    accepted: int
    not_accepted: int
    links: dict[str, str] = field(default_factory=dict)
    """incoming/accepted/not_accepted -> calls-list URL"""


@dataclass(frozen=True)
class MissCount:
    """Calls not accepted for one cause in the last MISS_DAYS days."""

    reason: str
    """A ``values.MissReason``."""
    count: int
    link: str
    """The calls-list URL of those calls."""


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows about calls."""

    day: date
    """The tenant's local today."""
    timezone: str
    incoming: stats.DayNumbers
    """Today's incoming calls (the manual's "calls received today") and their average duration."""
    outgoing: stats.DayNumbers
    """Today's follow-up calls, counted and averaged the same way, shown beside them."""
    bars: list[Bar]
    """CHART_HOURS hours, oldest first."""
    links: dict[str, str]
    """calls_today / avg_duration / outgoing / avg_outgoing -> calls-list URL"""
    missed: list[MissCount] = field(default_factory=list)
    """Why incoming calls of the last MISS_DAYS days were not accepted, most frequent first."""

    @property
    def calls_today(self) -> int:
        return self.incoming.calls

    @property
    def avg_duration_s(self) -> float:
        return self.incoming.avg_duration_s


async def dashboard(db: Database, tenant_id: int, now: datetime | None = None) -> Dashboard:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    tz_name = await stats.tenant_timezone(db, tenant_id) or "UTC"
    tz = tz_of(tz_name)
    local_now = now.astimezone(tz)
    day = local_now.date()
    day_start, day_end = day_bounds(day, tz)
    numbers = await stats.day_numbers(db, tenant_id, iso(day_start), iso(day_end))

    # the current local hour, as a UTC instant (exact also for :30/:45 offsets)
    hour_start = now - timedelta(minutes=local_now.minute, seconds=local_now.second,
                                 microseconds=local_now.microsecond)
    window_end = hour_start + timedelta(hours=1)
    window_start = window_end - timedelta(hours=CHART_HOURS)
    found = {b.index: b for b in await stats.hourly(db, tenant_id, iso(window_start), iso(window_end),
                                                    int(window_start.timestamp()))}
    bars = []
    for index in range(CHART_HOURS):
        start = window_start + timedelta(hours=index)
        bucket = found.get(index) or stats.HourBucket(index, 0, 0, 0)
        span = {"from": iso(start), "to": iso(start + timedelta(hours=1)), "direction": "incoming"}
        bars.append(Bar(start.astimezone(tz), bucket.incoming, bucket.accepted, bucket.not_accepted, {
            "incoming": calls_link(**span),
            "accepted": calls_link(**span, state="accepted_any"),
            "not_accepted": calls_link(**span, state="not_accepted"),
        }))
    since = now - timedelta(days=MISS_DAYS)
    missed = [MissCount(reason, count, calls_link(**{"from": iso(since), "to": iso(now), "reason": reason,
                                                     "direction": "incoming"}))
              for reason, count in sorted((await stats.miss_reasons(db, tenant_id, iso(since), iso(now))).items(),
                                          key=lambda item: (-item[1], item[0]))]
    today = day.isoformat()
    return Dashboard(day=day, timezone=tz_name, incoming=numbers["incoming"], outgoing=numbers["outgoing"],
                     bars=bars, missed=missed, links={
                         "calls_today": calls_link(date=today, direction="incoming"),
                         "avg_duration": calls_link(date=today, direction="incoming", duration="1"),
                         "outgoing": calls_link(date=today, direction="outgoing"),
                         "avg_outgoing": calls_link(date=today, direction="outgoing", duration="1"),
                     })
