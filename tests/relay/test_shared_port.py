"""HTTPS, TURN over TLS and TURN over TCP on one port (relay/shared_port.py),
with the real app behind it: each connection goes where its first bytes say."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
from aiohttp import web
from aioice.turn import create_turn_endpoint

from vidzzle_media import keys
from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings
from vidzzle_media.keys import ICE_SERVERS
from vidzzle_media.relay.shared_port import SharedPort
from vidzzle_media.tls import server_ssl_context

from .test_turn import Inbox, echo_peer


async def test_https_and_turn_share_the_port(tmp_path):
    settings = load_settings(environ={}, overrides={
        "server.data_dir": str(tmp_path / "data"), "server.host": "127.0.0.1", "tls.cert_dir": str(tmp_path / "certs"),
        "ice.host_addresses": ["127.0.0.1"]})          # relay on, on the HTTPS port: the defaults
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    tls = server_ssl_context(settings.tls)
    listener = SharedPort(runner.server, app[keys.RELAY].protocol, tls)
    port = await listener.listen("127.0.0.1", 0)
    client_tls = ssl.create_default_context(cafile=str(tmp_path / "certs" / "vidzzle-selfsigned.crt"))
    peer, peer_addr = await echo_peer()
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(2):                                   # keep-alive: the same connection again
                async with http.get(f"https://127.0.0.1:{port}/healthz", ssl=client_tls) as resp:
                    assert resp.status == 200 and (await resp.json())["status"] == "ok"
            async with http.get(f"https://localhost:{port}/admin/login", ssl=client_tls) as resp:
                assert resp.status == 200 and "<form" in await resp.text()
            # plain HTTP on the HTTPS port is closed, never served
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    raise AssertionError(f"plain HTTP was served: {resp.status}")
            except aiohttp.ClientError:
                pass
        (server,) = app[ICE_SERVERS]("127.0.0.1")
        assert server["urls"] == [f"turns:127.0.0.1:{settings.server.port}?transport=tcp",
                                  f"turn:127.0.0.1:{settings.server.port}?transport=tcp"]
        for secure in (True, False):                              # TURN over TLS, then over plain TCP
            transport, inbox = await create_turn_endpoint(Inbox, ("127.0.0.1", port), server["username"],
                                                          server["credential"], transport="tcp",
                                                          ssl=client_tls if secure else None)
            transport.sendto(b"ping", peer_addr)
            assert await asyncio.wait_for(inbox.queue.get(), 5) == (b"echo:ping", peer_addr)
            transport.close()
    finally:
        peer.close()
        await listener.close()
        await runner.cleanup()
