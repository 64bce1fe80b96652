"""Fixtures for back-office tests: seeded accounts and browsers."""

from __future__ import annotations

import pytest

from .helpers import Browser, database, seed_world


@pytest.fixture
async def world(client):
    return await seed_world(database(client))


@pytest.fixture
async def browser_factory(client):
    """Make independent browsers (own cookies) against the test server."""
    made: list[Browser] = []

    def make() -> Browser:
        browser = Browser(str(client.make_url("/")))
        made.append(browser)
        return browser

    yield make
    for browser in made:
        await browser.close()


@pytest.fixture
async def browser(browser_factory):
    return browser_factory()
