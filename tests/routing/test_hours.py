
import pytest

from vidzzle_media.routing.hours import DayHours, WeekHours, is_open, parse_hhmm, utc

BERLIN = "Europe/Berlin"


def week(default=("08:00", "17:00"), **days):
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    return WeekHours.from_pairs([days.get(n, default) for n in names])


def test_open_and_closed_within_a_day():
    hours = week()
    # Monday 2026-03-02; Berlin is UTC+1 in winter
    assert not is_open(hours, BERLIN, utc(2026, 3, 2, 6, 59))
    assert is_open(hours, BERLIN, utc(2026, 3, 2, 7, 0))       # 08:00 local
    assert is_open(hours, BERLIN, utc(2026, 3, 2, 15, 59))
    assert not is_open(hours, BERLIN, utc(2026, 3, 2, 16, 0))  # 17:00 local: end is exclusive


def test_closed_day_start_equals_end():
    hours = week(sunday=("09:00", "09:00"))
    assert hours.days[6].closed
    for hour in range(24):
        assert not is_open(hours, BERLIN, utc(2026, 3, 8, hour))   # Sunday all day


def test_spring_forward_day_berlin():
    # 2026-03-29 (Sunday): 02:00 CET -> 03:00 CEST; 01:00-04:00 local lasts two real hours
    hours = week(sunday=("01:00", "04:00"))
    assert not is_open(hours, BERLIN, utc(2026, 3, 28, 23, 59))   # 00:59 CET
    assert is_open(hours, BERLIN, utc(2026, 3, 29, 0, 0))          # 01:00 CET
    assert is_open(hours, BERLIN, utc(2026, 3, 29, 0, 59))         # 01:59 CET
    assert is_open(hours, BERLIN, utc(2026, 3, 29, 1, 0))          # 03:00 CEST (02:xx never happens)
    assert is_open(hours, BERLIN, utc(2026, 3, 29, 1, 59))         # 03:59 CEST
    assert not is_open(hours, BERLIN, utc(2026, 3, 29, 2, 0))      # 04:00 CEST
    # an ordinary 08:00-17:00 that day follows summer time
    day = week(sunday=("08:00", "17:00"))
    assert not is_open(day, BERLIN, utc(2026, 3, 29, 5, 59))       # 07:59 CEST
    assert is_open(day, BERLIN, utc(2026, 3, 29, 6, 0))            # 08:00 CEST


def test_fall_back_day_berlin():
    # 2026-10-25 (Sunday): 03:00 CEST -> 02:00 CET; 02:00-03:00 local happens twice
    hours = week(sunday=("02:00", "03:00"))
    assert not is_open(hours, BERLIN, utc(2026, 10, 24, 23, 59))   # 01:59 CEST
    assert is_open(hours, BERLIN, utc(2026, 10, 25, 0, 0))         # 02:00 CEST (first time)
    assert is_open(hours, BERLIN, utc(2026, 10, 25, 0, 59))
    assert is_open(hours, BERLIN, utc(2026, 10, 25, 1, 0))         # 02:00 CET (second time)
    assert is_open(hours, BERLIN, utc(2026, 10, 25, 1, 59))
    assert not is_open(hours, BERLIN, utc(2026, 10, 25, 2, 0))     # 03:00 CET
    day = week(sunday=("08:00", "17:00"))
    assert not is_open(day, BERLIN, utc(2026, 10, 25, 6, 59))      # 07:59 CET
    assert is_open(day, BERLIN, utc(2026, 10, 25, 7, 0))           # 08:00 CET


def test_weekday_is_local_not_utc():
    # Monday 00:30 in Berlin is still Sunday 23:30 UTC
    hours = week(("00:00", "00:00"), monday=("00:00", "01:00"))
    assert is_open(hours, BERLIN, utc(2026, 3, 1, 23, 30))


def test_invalid_times():
    with pytest.raises(ValueError):
        parse_hhmm("24:00")              # only as an end
    assert parse_hhmm("24:00", end=True) == 24 * 60
    with pytest.raises(ValueError):
        parse_hhmm("24:01", end=True)
    with pytest.raises(ValueError):
        parse_hhmm("8:00x")
    with pytest.raises(ValueError):
        DayHours(24 * 60, 0)
    with pytest.raises(ValueError):
        is_open(week(), BERLIN, utc(2026, 1, 1).replace(tzinfo=None))


def test_open_all_day_with_24_00():
    hours = week(("00:00", "00:00"), wednesday=("00:00", "24:00"))
    assert DayHours.from_pair(["00:00", "24:00"]).as_pair() == ["00:00", "24:00"]
    assert is_open(hours, BERLIN, utc(2026, 3, 3, 23, 0))        # Wednesday 00:00 CET
    assert is_open(hours, BERLIN, utc(2026, 3, 4, 22, 59))       # Wednesday 23:59 CET
    assert not is_open(hours, BERLIN, utc(2026, 3, 4, 23, 0))    # Thursday 00:00


def test_overnight_belongs_to_the_day_it_starts():
    hours = week(("00:00", "00:00"), friday=("18:00", "02:00"))
    assert not is_open(hours, BERLIN, utc(2026, 3, 6, 16, 59))   # Friday 17:59
    assert is_open(hours, BERLIN, utc(2026, 3, 6, 17, 0))        # Friday 18:00
    assert is_open(hours, BERLIN, utc(2026, 3, 7, 0, 59))        # Saturday 01:59
    assert not is_open(hours, BERLIN, utc(2026, 3, 7, 1, 0))     # Saturday 02:00
    assert not is_open(hours, BERLIN, utc(2026, 3, 6, 0, 30))    # Friday 01:30: Thursday had no night


def test_sunday_night_runs_into_monday():
    hours = week(("00:00", "00:00"), sunday=("22:00", "06:00"))
    assert is_open(hours, BERLIN, utc(2026, 3, 2, 4, 0))         # Monday 05:00 CET
    assert not is_open(hours, BERLIN, utc(2026, 3, 2, 5, 0))     # Monday 06:00


def test_same_start_and_end_stays_closed():
    hours = week(("00:00", "00:00"), monday=("09:00", "09:00"))
    assert not any(is_open(hours, BERLIN, utc(2026, 3, 2, h)) for h in range(24))
