"""Fixtures for back-office tests: seeded accounts and browsers."""

from __future__ import annotations

import asyncio
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from .helpers import Browser, database, seed_world



class MailCapture:
    """Messages received by the test SMTP server, parsed (same interface as
    the root fixture's; polls, because asyncio.Event has no public get_loop
    to be set from aiosmtpd's thread)."""

    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.messages)}")
            await asyncio.sleep(0.02)
        return self.messages


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """Overrides the root fixture (aiosmtpd 1.4 cannot start on port 0: its
    start-up probe connects to that port); same interface, a free port."""
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
