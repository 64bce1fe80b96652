"""Shared fixtures: real SQLite file, real app on loopback, real SMTP server."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings


@pytest.fixture
def settings(tmp_path):
    """Settings for one test: its own data dir and SQLite file, plain HTTP,
    ICE on loopback only and no STUN."""
    return load_settings(
        environ={},
        overrides={
            "server.data_dir": str(tmp_path / "data"),
            "server.host": "127.0.0.1",
            "server.public_url": "http://127.0.0.1",
            "tls.enabled": False,
            "tls.cert_dir": str(tmp_path / "certs"),
            "ice.host_addresses": ["127.0.0.1"],
        },
    )


@pytest.fixture
async def client(aiohttp_client, settings):
    """A test client against the real app (real database file)."""
    return await aiohttp_client(create_app(settings))


@dataclass
class MailCapture:
    """Messages received by the test SMTP server, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    arrived: asyncio.Event | None = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.arrived is not None:
            self.arrived.get_loop().call_soon_threadsafe(self.arrived.set)
        return "250 OK"

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.messages)}")
            self.arrived = asyncio.Event()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - loop.time()))
            except asyncio.TimeoutError:
                pass
        return self.messages


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; settings point at it."""
    capture = MailCapture()
    controller = Controller(capture, hostname="127.0.0.1", port=0)
    controller.start()
    settings.smtp.host = "127.0.0.1"
    settings.smtp.port = controller.port
    settings.smtp.security = "none"
    try:
        yield capture
    finally:
        controller.stop()
