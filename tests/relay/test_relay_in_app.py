"""The relay inside the real app: every participant's ``joined`` carries
fresh relay credentials that the running relay accepts, /metrics counts
it, and without ``relay.enabled`` nothing of it shows."""

from __future__ import annotations

import asyncio
import re
import socket

from aioice.turn import create_turn_endpoint
from signalling.wspeer import WsPeer

from vidzzle_media import keys
from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings
from vidzzle_media.keys import ROOMS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(tmp_path, **relay):
    overrides = {"server.data_dir": str(tmp_path / "data"), "server.host": "127.0.0.1", "tls.enabled": False,
                 "ice.host_addresses": ["127.0.0.1"], **{f"relay.{k}": v for k, v in relay.items()}}
    return load_settings(environ={}, overrides=overrides)


class Sink(asyncio.DatagramProtocol):
    pass


async def test_joined_carries_credentials_the_relay_accepts(aiohttp_client, tmp_path):
    port = free_port()
    client = await aiohttp_client(create_app(settings_for(tmp_path, enabled=True, port=port)))
    directory = client.server.app[ROOMS]
    room_id = await directory.create_room([])
    peer = WsPeer(await client.ws_connect("/ws/room"))
    try:
        joined = await peer.join(directory.issue_token(room_id, "customer", "Carl"))
        (server,) = joined["ice_servers"]
        assert server["urls"] == [f"turn:127.0.0.1:{port}?transport=tcp"]       # no TLS here: no turns: URL
        transport, _ = await create_turn_endpoint(Sink, ("127.0.0.1", port), server["username"],
                                                  server["credential"], transport="tcp")
        text = await (await client.get("/metrics")).text()
        assert re.search(r"^vidzzle_relay_allocations 1\.0$", text, flags=re.M), text
        assert re.search(r'^vidzzle_relay_refusals_total\{reason="unauthenticated"\} 1\.0$', text, flags=re.M)
        transport.close()
    finally:
        await peer.close()


async def test_the_public_host_name_is_in_the_urls(aiohttp_client, tmp_path):
    from vidzzle_media.keys import ICE_SERVERS
    settings = settings_for(tmp_path, enabled=True, port=0)
    settings.server.public_url = "https://video.autohaus.example"
    client = await aiohttp_client(create_app(settings))
    (server,) = client.server.app[ICE_SERVERS]("10.1.2.3")
    assert all(url.startswith("turn:video.autohaus.example:") for url in server["urls"])


async def test_off_means_no_relay(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(settings_for(tmp_path, enabled=False)))
    assert keys.RELAY not in client.server.app
    directory = client.server.app[ROOMS]
    peer = WsPeer(await client.ws_connect("/ws/room"))
    try:
        joined = await peer.join(directory.issue_token(await directory.create_room([]), "customer", "C"))
        assert joined["ice_servers"] == []
        assert "vidzzle_relay" not in await (await client.get("/metrics")).text()
    finally:
        await peer.close()
