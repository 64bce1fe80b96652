"""Fixtures of the routing/API tests: the real app with an injected manual
clock for routing and the real signalling RoomDirectory."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from vidzzle_media import keys
from vidzzle_media.app import create_app
from vidzzle_media.keys import CALLS, ROOMS
from vidzzle_media.routing.clock import ManualClock
from vidzzle_media.signalling import RoomDirectory

MONDAY_11_BERLIN = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    return ManualClock(MONDAY_11_BERLIN)


@pytest.fixture
def app(settings, clock):
    app = create_app(settings)
    app[CALLS].set_clock(clock)
    return app


@pytest.fixture
def rooms(app):
    """The real signalling RoomDirectory the app wired for call routing."""
    directory = app[ROOMS]
    assert isinstance(directory, RoomDirectory)
    return directory


@pytest.fixture
async def cli(aiohttp_client, app):
    return await aiohttp_client(app)


@pytest.fixture
def db(cli):
    return cli.server.app[keys.DATABASE]


@pytest.fixture
def calls(cli):
    return cli.server.app[CALLS]
