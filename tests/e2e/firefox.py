"""A minimal WebDriver BiDi client for Debian's firefox-esr (DESIGN.md,
Firefox recipe): no geckodriver, no downloads; aiohttp's WebSocket client."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import tempfile
from pathlib import Path

import aiohttp

PREFS = {
    "media.navigator.streams.fake": True, "media.navigator.permission.disabled": True,
    "media.navigator.permission.fake": True, "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False, "media.autoplay.default": 0,
    "browser.shell.checkDefaultBrowser": False, "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False, "app.update.disabledForTesting": True,
}


def available() -> bool:
    return shutil.which("firefox-esr") is not None


class Firefox:
    """firefox-esr --headless with a fresh profile, driven over BiDi."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="vidzzle-ff-"))
        (self.profile / "user.js").write_text("".join(f'user_pref("{k}", {json.dumps(v)});\n' for k, v in PREFS.items()))
        self._ids = itertools.count(1)
        self._waiters: dict[int, asyncio.Future] = {}

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "firefox-esr", "--headless", "--no-remote", "--profile", str(self.profile), "--remote-debugging-port=0",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        url = None
        while url is None:
            line = (await asyncio.wait_for(self.proc.stderr.readline(), 30)).decode()
            if not line:
                raise RuntimeError("firefox exited")
            found = re.search(r"WebDriver BiDi listening on (ws://\S+)", line)
            if found:
                url = found.group(1)
        self._drain = asyncio.ensure_future(self._read_stderr())
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(url.rstrip("/") + "/session", max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        await self.send("session.new", {"capabilities": {}})
        tree = await self.send("browsingContext.getTree", {})
        self.context = tree["contexts"][0]["context"]

    async def _read_stderr(self) -> None:
        while await self.proc.stderr.readline():
            pass

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            fut = self._waiters.pop(data.get("id"), None)
            if fut and not fut.done():
                if data.get("type") == "error" or "error" in data:
                    fut.set_exception(RuntimeError(f"{data.get('error')}: {data.get('message')}"))
                else:
                    fut.set_result(data.get("result"))

    async def send(self, method: str, params: dict, timeout: float = 30) -> dict:
        cmd_id = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._waiters[cmd_id] = fut
        await self.ws.send_json({"id": cmd_id, "method": method, "params": params})
        return await asyncio.wait_for(fut, timeout)

    async def navigate(self, url: str) -> None:
        await self.send("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    async def call(self, function: str, context: str | None = None):
        """Run an (async) JS function in a context; its JSON-serialised result."""
        res = await self.send("script.callFunction", {
            "functionDeclaration": f"async () => JSON.stringify(await ({function})())", "awaitPromise": True,
            "target": {"context": context or self.context}})
        if res.get("type") == "exception":
            raise RuntimeError(res["exceptionDetails"]["text"])
        value = res["result"].get("value")
        return json.loads(value) if isinstance(value, str) else None

    async def url(self, context: str | None = None) -> str:
        tree = await self.send("browsingContext.getTree", {"root": context or self.context})
        return tree["contexts"][0]["url"]

    async def child(self, contains: str, timeout: float = 10) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            tree = await self.send("browsingContext.getTree", {"root": self.context})
            for c in tree["contexts"][0].get("children") or []:
                if contains in c["url"]:
                    return c["context"]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no child context with {contains!r}")

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.send("browser.close", {}), 5)
        except Exception:
            pass
        self._reader.cancel()
        await self.http.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
