"""ACME against a real Pebble: the server starts on its self-signed
certificate, obtains a trusted one by HTTP-01 and serves it without a
restart; renews it at 2/3 of its lifetime (clock moved); keeps it when the
ACME server is down and tries again with backoff."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import stat

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509

from vidzzle_media import keys
from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings

from .pebble import Pebble, available, free_port

DOMAIN = "dealer.test"

pytestmark = pytest.mark.skipif(not available() and not os.environ.get("CI"),
                                reason="Debian's pebble is not installed (scripts/test installs it)")


@pytest.fixture
def pebble(tmp_path):
    server = Pebble(tmp_path, http_port=free_port())
    server.start()
    yield server
    server.stop()


async def served_certificate(port: int, roots: str | None) -> x509.Certificate:
    """The leaf our server presents to a client that trusts only ``roots`` (None: trusts anything)."""
    context = ssl.create_default_context(cadata=roots) if roots else ssl._create_unverified_context()
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=DOMAIN)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    return x509.load_der_x509_certificate(der)


async def until_trusted(port: int, roots: str, timeout: float = 60) -> x509.Certificate:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await served_certificate(port, roots)
        except ssl.SSLCertVerificationError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_obtain_serve_renew_and_survive_an_outage(tmp_path, pebble, caplog):
    caplog.set_level(logging.INFO)
    port = free_port()
    settings = load_settings(environ={}, overrides={
        "server.data_dir": str(tmp_path / "data"), "server.host": "127.0.0.1", "server.port": port,
        "server.public_url": f"https://{DOMAIN}:{port}", "tls.cert_dir": str(tmp_path / "certs"),
        "tls.acme": True, "tls.acme_directory": pebble.directory, "tls.acme_ca_file": str(pebble.api_cert),
        "tls.acme_http_port": pebble.http_port, "relay.enabled": False})
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=app[keys.TLS]).start()
        roots = pebble.roots()
        first = await until_trusted(port, roots)       # a client trusting only Pebble's root accepts the chain
        names = first.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
        assert names == [DOMAIN]
        folder = tmp_path / "data" / "acme" / DOMAIN
        for private in (folder / "key.pem", tmp_path / "data" / "acme" / "account.key"):
            assert stat.S_IMODE(private.stat().st_mode) == 0o600
        assert "PRIVATE KEY" not in caplog.text

        # the plain-HTTP listener: unknown challenge tokens are 404, the rest goes to HTTPS
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{pebble.http_port}"
            async with http.get(base + "/.well-known/acme-challenge/nope") as resp:
                assert resp.status == 404
            async with http.get(base + "/admin/login?x=1", allow_redirects=False) as resp:
                assert resp.status == 301
                assert resp.headers["Location"] == f"https://{DOMAIN}:{port}/admin/login?x=1"

        # renewal: at 2/3 of the lifetime a new certificate is obtained and served at once
        manager = app[keys.CERTIFICATES]
        issued = manager.current()
        manager.clock = lambda: issued.renew_at + 1
        await manager.step()
        second = await served_certificate(port, roots)
        assert second.serial_number != first.serial_number
        assert second.serial_number == manager.current().serial
        assert "certificate for dealer.test obtained" in caplog.text

        # outage: the certificate stays, the next attempts back off
        pebble.stop()
        now = manager.current().renew_at + 1
        manager.clock = lambda: now
        assert await manager.step() == 60
        assert manager.failures == 1 and manager.last_error
        assert (await served_certificate(port, roots)).serial_number == second.serial_number
        assert await manager.step() == 60          # not due again yet: no attempt
        assert manager.failures == 1
        now += 61
        assert await manager.step() == 120
        assert "no certificate for dealer.test" in caplog.text and "The current certificate stays" in caplog.text

        # the ACME server is back (a new Pebble: a new root): the next attempt succeeds
        pebble.start()
        now += 121
        await manager.step()
        assert manager.failures == 0
        third = await served_certificate(port, pebble.roots())
        assert third.serial_number == manager.current().serial != second.serial_number
    finally:
        await runner.cleanup()
