"""Serve the app: HTTPS and the built-in TURN relay on one port.

aiohttp's ``run_app`` owns its listening socket, so this module does what
it does (an AppRunner, SIGINT/SIGTERM end it gracefully, cleanup in
reverse order) with relay/shared_port.py as the listener: every connection
goes to aiohttp's HTTP protocol or to the relay by its first bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable

from aiohttp import web

from .relay.shared_port import ProtocolFactory, SharedPort

log = logging.getLogger(__name__)


OnListening = Callable[[int], Awaitable[None]]
"""Called once with the bound port (``port`` 0: the free one chosen)."""


async def _serve(app: web.Application, host: str, port: int, tls: ssl.SSLContext | None,
                 turn: ProtocolFactory | None, on_listening: OnListening | None) -> None:
    runner = web.AppRunner(app, handle_signals=True, access_log=None)
    await runner.setup()
    listener = SharedPort(runner.server, turn, tls)
    try:
        port = await listener.listen(host, port)
        log.info("serving on %s://%s:%s%s", "https" if tls else "http", host, port,
                 " (and TURN over TCP/TLS)" if turn else "")
        if on_listening is not None:
            await on_listening(port)
        while True:
            await asyncio.sleep(3600)
    finally:
        await listener.close()
        await runner.cleanup()


def run(app: web.Application, host: str, port: int, tls: ssl.SSLContext | None,
        turn: ProtocolFactory | None = None, on_listening: OnListening | None = None) -> None:
    """Until SIGINT/SIGTERM; OSError when the port cannot be had."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, host, port, tls, turn, on_listening))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError, web.GracefulExit):
            loop.run_until_complete(main)
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
