"""Fixtures of the routing/API tests: the real app with an injected manual
clock for routing, the real signalling RoomDirectory, a free-port SMTP server."""

from __future__ import annotations

import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import MailCapture  # noqa: E402  the root conftest's capture

from vidzzle_media import keys  # noqa: E402
from vidzzle_media.api import CALLS  # noqa: E402
from vidzzle_media.app import create_app  # noqa: E402
from vidzzle_media.routing.clock import ManualClock  # noqa: E402
from vidzzle_media.services.rooms import ROOMS  # noqa: E402
from vidzzle_media.sfu import IcePolicy  # noqa: E402
from vidzzle_media.signalling import RoomDirectory  # noqa: E402

MONDAY_11_BERLIN = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    return ManualClock(MONDAY_11_BERLIN)


@pytest.fixture
def rooms(settings):
    return RoomDirectory(IcePolicy(settings.ice))


@pytest.fixture
def app(settings, clock, rooms):
    app = create_app(settings)
    app[CALLS].set_clock(clock)
    app[ROOMS] = rooms
    return app


@pytest.fixture
async def cli(aiohttp_client, app):
    return await aiohttp_client(app)


@pytest.fixture
def db(cli):
    return cli.server.app[keys.DATABASE]


@pytest.fixture
def calls(cli):
    return cli.server.app[CALLS]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real aiosmtpd on a free port (1.4 cannot start on port 0)."""
    capture = MailCapture()
    controller = Controller(capture, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.smtp.host = "127.0.0.1"
    settings.smtp.port = controller.port
    settings.smtp.security = "none"
    try:
        yield capture
    finally:
        controller.stop()
