"""Bench-only server process for ``bench/fanout.py``.

    python bench/_server.py --mode forward|relay --data-dir DIR [--core compiled|python]

Runs the REAL application (``create_app``; TLS off, ICE host 127.0.0.1, no
STUN) on 127.0.0.1 with a free port and prints ``READY <port>`` on stdout.
Adds bench-only routes (never part of the product):

- ``POST /bench/room``  -> {room_id, ws_path}: a room made through the app's
  RoomDirectory (forward) or a bench relay room (relay, see ``_relay.py``);
- ``POST /bench/token`` {room_id, role, name} -> {token};
- ``GET /bench/stats``  -> forwarding counters (Consumer/Producer counters in
  forward mode, the aiortc senders' ``getStats()`` in relay mode).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp import web  # noqa: E402

from vidzzle_media.app import create_app  # noqa: E402
from vidzzle_media.config import load_settings  # noqa: E402
from vidzzle_media.keys import ROOMS  # noqa: E402


def forward_stats(app: web.Application) -> dict:
    """Sum the SFU's own counters over every room of the directory (rooms in
    this process: media workers report totals only, which /metrics has)."""
    directory = app[ROOMS]
    if directory.stats().workers:
        raise web.HTTPConflict(text="per-consumer counters stay in the media workers: "
                                    "run without --media-workers, or read /metrics")
    out = {"forwarded_packets": 0, "forwarded_octets": 0, "retransmits": 0, "nacks_forwarded": 0,
           "keyframe_requests": 0, "consumers": 0, "producer_packets": 0, "producer_keyframes": 0,
           "upstream_nacked": 0, "upstream_recovered": 0}
    for entry in directory.rooms.values():
        for participant in entry.room.participants.values():
            for c in participant.consumers.values():
                out["consumers"] += 1
                out["forwarded_packets"] += c.packets_sent
                out["forwarded_octets"] += c.octets_sent
                out["retransmits"] += c.retransmits
                out["nacks_forwarded"] += c.nacks_forwarded
                out["keyframe_requests"] += c.keyframe_requests
            for p in participant.producers.values():
                out["producer_packets"] += p.packets
                out["producer_keyframes"] += p.keyframes
                out["upstream_nacked"] += p.nacked
                out["upstream_recovered"] += p.recovered
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("forward", "relay"), required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--core", choices=("compiled", "python"), default="compiled",
                        help="the forwarding core (setting media.core)")
    parser.add_argument("--media-workers", type=int, default=0, help="setting server.media_workers")
    parser.add_argument("--dgram-max-size", type=int, default=0,
                        help="experiment: asyncio datagram read size (stock 256 KiB), see DESIGN.md")
    args = parser.parse_args()
    if args.dgram_max_size:
        import asyncio.selector_events as se

        se._SelectorDatagramTransport.max_size = args.dgram_max_size
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="server %(levelname)s %(name)s: %(message)s")
    settings = load_settings(None, environ={}, overrides={
        "server.data_dir": args.data_dir, "server.host": "127.0.0.1", "tls.enabled": False,
        "ice.host_addresses": ["127.0.0.1"], "server.log_level": "WARNING", "media.core": args.core,
        "server.media_workers": args.media_workers})
    app = create_app(settings)
    relay_rooms = None
    if args.mode == "relay":
        import _relay

        relay_rooms = _relay.setup(app)

    async def new_room(request: web.Request) -> web.Response:
        if relay_rooms is not None:
            return web.json_response({"room_id": relay_rooms.create_room(), "ws_path": _relay.WS_PATH})
        room_id = await request.app[ROOMS].create_room()
        return web.json_response({"room_id": room_id, "ws_path": "/ws/room"})

    async def new_token(request: web.Request) -> web.Response:
        body = await request.json()
        if relay_rooms is not None:
            token = relay_rooms.issue_token(body["room_id"], body["role"])
        else:
            token = request.app[ROOMS].issue_token(body["room_id"], body["role"], body["name"])
        return web.json_response({"token": token})

    async def stats(request: web.Request) -> web.Response:
        if relay_rooms is not None:
            data = await relay_rooms.stats()
        else:
            data = forward_stats(request.app)
        data["pid"] = os.getpid()
        return web.json_response(data)

    app.router.add_post("/bench/room", new_room)
    app.router.add_post("/bench/token", new_token)
    app.router.add_get("/bench/stats", stats)
    if os.environ.get("VIDZZLE_BENCH_LOSSTRACE"):  # fanout.py --trace-loss
        import _losstrace

        _losstrace.install_server()

        async def trace(request: web.Request) -> web.Response:
            return web.json_response(_losstrace.server_report())

        app.router.add_get("/bench/trace", trace)

    async def serve() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
