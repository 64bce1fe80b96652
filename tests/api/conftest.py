"""Fixtures of the routing/API tests: the real app with an injected manual
clock for routing, the real signalling RoomDirectory, a free-port SMTP server."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from vidzzle_media import keys
from vidzzle_media.api import CALLS
from vidzzle_media.app import create_app
from vidzzle_media.routing.clock import ManualClock
from vidzzle_media.services.rooms import ROOMS
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


@dataclass
class MailCapture:
    """Messages received by the test SMTP server, parsed (tests poll ``messages``)."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


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
