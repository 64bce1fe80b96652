"""Dates and times are formatted by Babel in the viewer's locale and the tenant's zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.admin.conftest import browser, browser_factory, world  # noqa: F401
from vidzzle_media import i18n

AT = datetime(2026, 12, 6, 13, 3, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def source_language_afterwards():
    """The language is a context variable: never leave a test's choice to the next test."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def test_moments_in_both_locales():
    i18n.set_language("de")
    assert i18n.format_when(AT, BERLIN) == "06.12.2026, 14:03 CET"
    assert i18n.format_pattern(AT.astimezone(BERLIN), "EEE d") == "So. 6"
    assert i18n.format_moment(AT.astimezone(BERLIN)) == "06.12.2026, 14:03:00"
    i18n.set_language("en")
    assert i18n.format_when(AT, BERLIN) == "Dec 6, 2026, 2:03\u202fPM CET"
    assert i18n.format_pattern(AT.astimezone(BERLIN), "EEE d") == "Sun 6"
    assert i18n.format_when(datetime(2026, 7, 1, 8, 0, tzinfo=timezone.utc), BERLIN).endswith("10:00\u202fAM CEST")


def test_language_picking():
    assert i18n.pick("de-AT") == "de"
    assert i18n.pick("fr", "es", default="de") == "de"
    assert i18n.pick(None, "", "en-GB", "de") == "en"
    assert i18n.from_accept_language("fr;q=0.4, de-DE, en;q=0.8") == ["de-DE", "en", "fr"]
    assert i18n.language_choices() == [("de", "Deutsch"), ("en", "English")]


def test_numbers_durations_and_weekdays_in_both_locales():
    i18n.set_language("de")
    assert i18n.format_number(12345) == "12.345"
    assert i18n.format_duration(245) == "4:05 Min."
    assert i18n.format_duration(3845) == "1:04:05 Std."
    assert i18n.format_duration(245, unit=False) == "4:05"
    assert i18n.day_names()[0] == "Montag" and i18n.day_names()[6] == "Sonntag"
    i18n.set_language("en")
    assert i18n.format_number(12345) == "12,345"
    assert i18n.format_duration(245) == "4:05 min"
    assert i18n.format_duration(None) == ""
    assert i18n.day_names()[0] == "Monday"


async def test_dashboard_and_calls_list_in_german(client, world, browser):
    """The German back office shows its numbers, durations and weekday names the German way."""
    from tests.admin.helpers import database
    from vidzzle_media.services.accounts import users
    await users.set_language(database(client), await users.load_user(database(client), world.admin_a), "de")
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/")
    assert 'id="tile-avg-duration">0:00 Min.<' in page.text
    wizard = await browser.get("/admin/flows/new")
    assert "<th scope=\"row\">Montag</th>" in wizard.text and 'aria-label="Montag Beginn"' in wizard.text
    calls = await browser.get("/admin/calls")
    assert '<option value="incoming">Eingehend</option>' in calls.text
