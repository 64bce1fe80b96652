"""Holidays and one-off exceptions (issue 15 item 5) on instants across
years and DST changes, with Germany's regional calendars."""

from __future__ import annotations

from datetime import date

import pytest

from vidzzle_media.routing.closures import (
    FlowCalendar,
    Openness,
    check_region,
    exceptions_text,
    holiday_name,
    parse_exceptions,
    regions,
)
from vidzzle_media.routing.hours import WeekHours, utc

ALWAYS = WeekHours.from_pairs([["00:00", "24:00"]] * 7)
OFFICE = WeekHours.from_pairs([["08:00", "18:00"]] * 5 + [["00:00", "00:00"]] * 2)
LATE = WeekHours.from_pairs([["18:00", "02:00"]] * 7)       # every evening until 2 o'clock


def cal(hours=ALWAYS, region="DE-BY", lines="", tz="Europe/Berlin") -> FlowCalendar:
    exceptions, bad = parse_exceptions(lines)
    assert not bad
    return FlowCalendar(hours, tz, region, tuple(exceptions))


def test_regional_holidays_differ_between_states():
    epiphany = utc(2026, 1, 6, 10)                                  # 11:00 in Berlin, a Tuesday
    assert cal(region="DE-BY").openness(epiphany) == Openness.HOLIDAY
    assert cal(region="DE-NW").openness(epiphany) == Openness.OPEN    # not a holiday in NRW
    assert cal(region="").openness(epiphany) == Openness.OPEN         # no calendar chosen
    assert cal(region="DE-NW").openness(utc(2027, 11, 1, 10)) == Openness.HOLIDAY   # All Saints' (NW and BY)
    assert cal(region="DE-BE").openness(utc(2027, 11, 1, 10)) == Openness.OPEN


def test_the_local_date_decides_not_utcs():
    # 23:30 UTC on 24 December is 00:30 on Christmas Day in Berlin (winter: UTC+1)
    assert cal().openness(utc(2026, 12, 24, 23, 30)) == Openness.HOLIDAY
    assert cal().openness(utc(2026, 12, 24, 22, 30)) == Openness.OPEN       # 23:30 on the 24th
    # the same instant in New York is still the 24th
    assert cal(region="US", tz="America/New_York").openness(utc(2026, 12, 24, 23, 30)) == Openness.OPEN


def test_across_dst_changes_and_moving_feasts():
    # Easter 2027 is on 28 March, the day clocks go forward: Easter Monday 00:30 CEST is 22:30 UTC on the 28th
    assert cal().openness(utc(2027, 3, 28, 22, 30)) == Openness.HOLIDAY
    assert cal().openness(utc(2027, 3, 28, 21, 59)) == Openness.OPEN         # Easter Sunday, 23:59 CEST:
    assert cal(region="DE-BB").openness(utc(2027, 3, 28, 21, 59)) == Openness.HOLIDAY   # a holiday in Brandenburg only
    assert cal().openness(utc(2027, 3, 29, 22, 0)) == Openness.OPEN          # Tuesday 00:00 CEST
    # Easter Monday moves every year: 2026-04-06, 2028-04-17
    assert cal().openness(utc(2026, 4, 6, 9)) == Openness.HOLIDAY
    assert cal().openness(utc(2027, 4, 6, 9)) == Openness.OPEN
    assert cal().openness(utc(2028, 4, 17, 9)) == Openness.HOLIDAY
    # the autumn change: 25 October 2026, 02:30 happens twice, neither is a holiday
    assert cal().openness(utc(2026, 10, 25, 0, 30)) == Openness.OPEN
    assert cal().openness(utc(2026, 10, 25, 1, 30)) == Openness.OPEN


def test_exceptions_win_over_holidays_and_weekly_hours():
    c = cal(OFFICE, lines="2026-12-24 09:00-12:00\n2026-12-28 closed\n2026-12-26 10:00-14:00\n2026-12-29")
    assert c.openness(utc(2026, 12, 24, 9)) == Openness.OPEN             # 10:00, Thursday, special hours
    assert c.openness(utc(2026, 12, 24, 12)) == Openness.CLOSED          # 13:00: after the special hours
    assert c.openness(utc(2026, 12, 26, 10)) == Openness.OPEN            # St Stephen's, but opened by hand
    assert c.openness(utc(2026, 12, 25, 10)) == Openness.HOLIDAY         # Christmas Day
    assert c.openness(utc(2026, 12, 28, 10)) == Openness.HOLIDAY         # closed by hand (a Monday)
    assert c.openness(utc(2026, 12, 29, 10)) == Openness.HOLIDAY         # a bare date is closed too
    assert c.openness(utc(2026, 12, 30, 10)) == Openness.OPEN            # an ordinary Wednesday
    assert c.openness(utc(2026, 12, 27, 10)) == Openness.CLOSED          # an ordinary Sunday: weekly hours


def test_yesterdays_late_hours_do_not_run_into_a_closed_day():
    c = cal(LATE, region="DE-BY")
    assert c.openness(utc(2026, 1, 5, 0, 30)) == Openness.OPEN           # Monday 01:30, Sunday's evening
    assert c.openness(utc(2026, 1, 6, 0, 30)) == Openness.HOLIDAY        # Epiphany 01:30
    assert c.openness(utc(2026, 1, 7, 0, 30)) == Openness.CLOSED         # after the holiday: its evening did not run


def test_next_closed_days_name_the_holiday_in_the_language():
    c = cal(lines="2026-12-23 closed\n2026-12-24 09:00-12:00")
    days = c.closed_days(date(2026, 12, 20), language="de")
    assert days == [(date(2026, 12, 23), ""), (date(2026, 12, 25), "Erster Weihnachtstag"),
                    (date(2026, 12, 26), "Zweiter Weihnachtstag"), (date(2027, 1, 1), "Neujahr"),
                    (date(2027, 1, 6), "Heilige Drei Könige")]
    assert holiday_name("DE-BY", date(2026, 12, 25), "en_US") == "Christmas Day"


def test_exception_lines_are_parsed_and_bad_ones_reported_by_number():
    text = "2026-12-24 09:00-12:00\n\n2026-12-31 Geschlossen\nsoon\n2026-02-30\n2026-05-01 12:00-09:00\n2026-12-24"
    exceptions, bad = parse_exceptions(text)
    assert exceptions_text(exceptions) == "2026-12-24 09:00-12:00\n2026-12-31 closed"
    assert bad == {4: "soon", 5: "2026-02-30", 6: "2026-05-01 12:00-09:00", 7: "2026-12-24"}   # 7 repeats a day


@pytest.mark.parametrize("given, expected", [("de-by", "DE-BY"), ("DE", "DE"), (" AT-9 ", "AT-9"), ("", "")])
def test_region_codes(given, expected):
    assert check_region(given) == expected


@pytest.mark.parametrize("bad", ["XX", "DE-XX", "Bavaria", "DE-", "de_by"])
def test_unknown_regions_are_refused(bad):
    with pytest.raises(ValueError):
        check_region(bad)


def test_regions_list_has_german_states():
    codes = regions()
    assert "DE" in codes and "DE-BY" in codes and "DE-NW" in codes and len(codes) > 300
