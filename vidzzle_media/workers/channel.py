"""Channel: the message dataclasses over one local stream socket, both ways.

Both ends use it: ``send`` a notice, ``request`` and await the :class:`Reply`
of the same ``ref``, and ``run`` reads until the other end is gone (every
request still waiting then fails with :class:`WorkerLost`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any, Callable

from .messages import ChannelError, Reply, decode, encode

log = logging.getLogger(__name__)

#: longest line accepted: an SDP of a room with many m-lines is a few tens of kB
LINE_LIMIT = 8 * 1024 * 1024


class WorkerLost(ConnectionError):
    """The other end of the channel went away (a worker that died, or the main process)."""


class Channel:
    """One end of the channel; ``on_message`` gets every message that is not a Reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_message: Callable[[Any], None]) -> None:
        self._reader = reader
        self._writer = writer
        self._on_message = on_message
        self._refs = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self.closed = False

    @classmethod
    async def open(cls, sock: Any, on_message: Callable[[Any], None]) -> Channel:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=LINE_LIMIT)
        return cls(reader, writer, on_message)

    def send(self, message: Any) -> None:
        if self.closed:
            raise WorkerLost("the media channel is closed")
        self._writer.write(encode(message))

    def next_ref(self) -> int:
        return next(self._refs)

    async def request(self, make: Callable[[int], Any]) -> Reply:
        """Send ``make(ref)`` and wait for its reply."""
        ref = self.next_ref()
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        try:
            self.send(make(ref))
            return await future
        finally:
            self._waiting.pop(ref, None)

    async def run(self) -> None:
        """Read until the other end closes; then fail what still waits."""
        try:
            while True:
                try:
                    line = await self._reader.readline()
                except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
                    log.error("media channel: %r", exc)
                    break
                if not line:
                    break
                try:
                    message = decode(line)
                except ChannelError as exc:
                    log.error("%s", exc)
                    continue
                if isinstance(message, Reply):
                    future = self._waiting.get(message.ref)
                    if future is not None and not future.done():
                        future.set_result(message)
                else:
                    try:
                        self._on_message(message)
                    except Exception:
                        log.exception("media channel: handling %s failed", type(message).__name__)
        finally:
            self.closed = True
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(WorkerLost("the media worker is gone"))
            self._writer.close()

    async def close(self) -> None:
        self.closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except ConnectionError:
            pass
