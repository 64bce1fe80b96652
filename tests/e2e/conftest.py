"""End-to-end harness: the real app on one port, a dealer's host page on
another origin (localhost vs 127.0.0.1, different ports), real aiosmtpd, real
Chromium (Debian) with fake camera/microphone — inside a network namespace
with only ``lo`` (DESIGN.md, real-browser recipe). One server per module.

Outside such a namespace every test here is skipped except
test_netns.py, which re-runs this folder under ``unshare -n`` / ``-rn``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pgstore
import pytest
import pytest_asyncio
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHROMIUM = "/usr/lib/chromium/chromium"
FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
         "--autoplay-policy=no-user-gesture-required"]
E2E_DIR = Path(__file__).resolve().parent


def only_loopback() -> bool:
    """True in a network namespace whose only interface is lo (if_nameindex
    sees the current namespace; /sys/class/net may show the parent's)."""
    try:
        return [name for _, name in socket.if_nameindex()] == ["lo"]
    except OSError:
        return False


def skip_reason() -> str | None:
    """Why the browser tests cannot run here; in CI (scripts/test installs
    everything) a missing browser is a failure, not a skip."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"Debian chromium not installed ({CHROMIUM})"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "playwright not installed"
    if reason and os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    return reason


def pytest_collection_modifyitems(config, items):
    inside = only_loopback()
    reason = skip_reason()
    for item in items:
        if E2E_DIR not in Path(str(item.fspath)).parents:
            continue
        if item.module.__name__.endswith("test_netns"):
            continue
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
        elif not inside:
            item.add_marker(pytest.mark.skip(reason="runs inside a network namespace with only lo (test_netns.py)"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the dealer's host page (another origin) ---------------------------------

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Dealer</title>
<script src="{app}/embed.js"></script><script src="{app}/embed.js"></script></head>
<body><h1>Dealer site</h1><p>Talk to us:</p>
<button id="btn-cwbbb-osr" data-cwbbb-igh="{embed}" {extra}>Video call</button></body></html>"""


def host_app(app_base: str) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        q = request.query
        extra = ""
        if q.get("name"):
            extra += f'data-cwbbb-name="{q["name"]}" '
        if q.get("gdpr"):
            extra += 'data-cwbbb-gdpr="1"'
        return web.Response(text=HOST_PAGE.format(app=app_base, embed=q.get("embed", ""), extra=extra),
                            content_type="text/html")

    async def landing(request: web.Request) -> web.Response:
        return web.Response(text=f"<h1>{request.match_info['what']}</h1>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/land/{what}", landing)
    return app


# ---- SMTP -------------------------------------------------------------------

@dataclass
class Capture:
    """Mails received by the module's aiosmtpd."""

    messages: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.messages)}")
            await asyncio.sleep(0.05)
        return self.messages


# ---- the world -----------------------------------------------------------------

@dataclass
class World:
    """The running servers of one module."""

    app: web.Application
    base: str
    """App origin, e.g. http://127.0.0.1:PORT"""
    host: str
    """Dealer host page origin, e.g. http://localhost:PORT"""
    mails: Capture
    tmp: Path

    @property
    def db(self):
        from vidzzle_media import keys
        return self.app[keys.DATABASE]

    def land(self, what: str) -> str:
        return f"{self.host}/land/{what}"


@pytest.fixture(scope="module")
def smtp_server():
    """Real aiosmtpd on 127.0.0.1 (module scope; the app's settings point at it)."""
    from aiosmtpd.controller import Controller
    capture = Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=free_port())
    controller.start()
    capture.port = controller.port
    yield capture
    controller.stop()


@asynccontextmanager
async def running_world(tmp: Path, smtp: Capture, **overrides) -> AsyncIterator[World]:
    """The app (settings ``overrides`` on top of the suite's) and the dealer's host page, running.
    ``VIDZZLE_SERVER_MEDIA_WORKERS`` is honoured as by the server, ``VIDZZLE_TEST_STORE=postgres``
    as by the other tests (tests/pgstore.py): CI runs the suite in each mode."""
    from vidzzle_media.api.ratelimit import RateLimiter
    from vidzzle_media.app import create_app
    from vidzzle_media.config import load_settings
    from vidzzle_media.keys import LIMITS
    from vidzzle_media.sfu import aiortc_glue

    port, host_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    environ = {k: v for k, v in os.environ.items() if k == "VIDZZLE_SERVER_MEDIA_WORKERS"}
    settings = load_settings(environ=environ, overrides={
        "server.data_dir": str(tmp / "data"), "server.host": "127.0.0.1", "server.public_url": base, "server.language": "en",
        "tls.enabled": False, "tls.cert_dir": str(tmp / "certs"), "ice.host_addresses": ["127.0.0.1"],
        "relay.enabled": False, "security.ringing_calls_per_address": 1000, **overrides})
    settings.smtp.host, settings.smtp.port, settings.smtp.security = "127.0.0.1", smtp.port, "none"
    drop = None
    if pgstore.admin_url():          # VIDZZLE_TEST_STORE=postgres: the store on PostgreSQL
        settings.database.url, drop = pgstore.fresh_database(pgstore.admin_url())
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    # every browser of the suite comes from 127.0.0.1: lift the per-address limits
    for bucket in app[LIMITS]:
        app[LIMITS][bucket] = RateLimiter(limit=100_000, window_s=60)
    hrunner = web.AppRunner(host_app(base))
    await hrunner.setup()
    await web.TCPSite(hrunner, "127.0.0.1", host_port).start()
    try:
        yield World(app, base, f"http://localhost:{host_port}", smtp, tmp)
    finally:
        await hrunner.cleanup()
        await runner.cleanup()
        aiortc_glue.set_host_addresses(None)
        if drop is not None:
            drop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory, smtp_server):
    async with running_world(tmp_path_factory.mktemp("e2e"), smtp_server) as w:
        yield w


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pw():
    from playwright.async_api import async_playwright
    async with async_playwright() as p:
        yield p


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium(pw):
    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield browser
    await browser.close()
