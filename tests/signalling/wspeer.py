"""A real aiortc participant speaking the WebSocket protocol."""

from __future__ import annotations

import asyncio
import json

from sfu.peers import Client


class WsPeer:
    def __init__(self, ws, client: Client | None = None) -> None:
        self.ws = ws
        self.client = client
        self.messages: list[dict] = []
        self.closed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                data = json.loads(msg.data)
                self.messages.append(data)
                if self.client is None:
                    continue
                if data["type"] == "answer":
                    await self.client.set_publish_answer(data["sdp"])
                elif data["type"] == "offer":
                    sdp = await self.client.answer_subscribe(data["sdp"])
                    await self.send({"type": "answer", "pc": "subscribe", "sdp": sdp})
                    # trickle like a browser does, right behind the answer
                    for line in sdp.split("\r\n"):
                        if line.startswith("a=candidate:"):
                            await self.send({"type": "candidate", "pc": "subscribe", "candidate": line[2:],
                                             "sdp_mid": "0", "sdp_mline_index": 0})
        finally:
            self.closed.set()

    async def send(self, data: dict) -> None:
        await self.ws.send_str(json.dumps(data))

    def of_type(self, type_: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == type_]

    async def expect(self, type_: str, timeout: float = 5.0, count: int = 1) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.of_type(type_)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"no {type_!r} message; got {[m['type'] for m in self.messages]}")
            await asyncio.sleep(0.01)
        return self.of_type(type_)[count - 1]

    async def join(self, token: str, name: str = "") -> dict:
        await self.send({"type": "join", "token": token, "display_name": name})
        return await self.expect("joined")

    async def publish(self) -> None:
        await self.send({"type": "offer", "pc": "publish", "sdp": await self.client.offer()})
        await self.expect("answer")

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        if self.client:
            await self.client.close()
