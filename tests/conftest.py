"""Shared fixtures: real SQLite file, real app on loopback, real SMTP server."""

from __future__ import annotations

import os

import pgstore
import pytest
from smtpcapture import start_smtp

from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings

#: the product's own environment variable for ``server.media_workers``
MEDIA_WORKERS = "VIDZZLE_SERVER_MEDIA_WORKERS"

pytest_plugins = ["hangs"]      # a hanging test prints its pending asyncio tasks (tests/hangs.py)


def pytest_configure(config):
    """Every test runs on the product's default forwarding core (compiled), also
    those that build rooms without ``create_app``; tests of the reference
    core select it themselves."""
    from vidzzle_media.sfu import core

    core.select(core.MediaCore.COMPILED)


@pytest.fixture
def settings(tmp_path):
    """Settings for one test: its own data dir and SQLite file, plain HTTP,
    ICE on loopback only and no STUN. ``VIDZZLE_SERVER_MEDIA_WORKERS`` in the
    environment runs the rooms in media workers, ``VIDZZLE_TEST_POSTGRES``
    the store on PostgreSQL (tests/pgstore.py; the suite runs all ways)."""
    settings = load_settings(
        environ={k: v for k, v in os.environ.items() if k == MEDIA_WORKERS},
        overrides={
            "server.data_dir": str(tmp_path / "data"),
            "server.host": "127.0.0.1",
            "server.public_url": "http://127.0.0.1",
            "server.language": "en",
            "tls.enabled": False,
            "tls.cert_dir": str(tmp_path / "certs"),
            "ice.host_addresses": ["127.0.0.1"],
            "relay.enabled": False,   # tests/relay and the lab run it
            "outbound.allow": ["127.0.0.0/8"],   # webhook and SMS-gateway targets of the tests listen on loopback
            "security.ringing_calls_per_address": 1000,   # every test customer comes from 127.0.0.1
        },
    )
    admin = pgstore.admin_url()
    if admin is None:
        yield settings
        return
    settings.database.url, drop = pgstore.fresh_database(admin)
    try:
        yield settings
    finally:
        drop()


@pytest.fixture
async def client(aiohttp_client, settings):
    """A test client against the real app (real database file)."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; settings point at it."""
    controller, capture = start_smtp()
    settings.smtp.host = "127.0.0.1"
    settings.smtp.port = controller.port
    settings.smtp.security = "none"
    try:
        yield capture
    finally:
        controller.stop()
