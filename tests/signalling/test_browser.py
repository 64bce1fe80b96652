"""Two real Chromium tabs call each other through the server (/dev/room).

Runs inside a fresh network namespace that has only ``lo`` (DESIGN.md,
real-browser recipe): outside one, the test re-executes itself under
``unshare -n`` (root) or ``unshare -rn`` (user namespaces).
"""

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from e2e.helpers import wait_true

from vidzzle_media import signalling
from vidzzle_media.paths import web_root
from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue

CHROMIUM = "/usr/lib/chromium/chromium"
IN_NETNS = "VIDZZLE_IN_NETNS"
FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
         "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns"]

pytestmark = pytest.mark.browser


def _only_loopback() -> bool:
    """Already inside a namespace that has only ``lo`` (e.g. scripts/test)."""
    import socket

    return [name for _, name in socket.if_nameindex()] == ["lo"]


def _inside() -> bool:
    return bool(os.environ.get(IN_NETNS)) or _only_loopback()


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Debian chromium not installed ({CHROMIUM}); CI installs it"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright not installed"
    if not shutil.which("unshare"):
        return "unshare not available"
    return None


def test_browser_call_in_network_namespace():
    """Re-run this module's real test inside a namespace with only lo."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    if _inside():
        pytest.skip("already inside a loopback-only namespace: the inner test runs directly")
    inner = (f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider "
             f"{__file__} -k inside")
    env = dict(os.environ, **{IN_NETNS: "1"})
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        probe = subprocess.run(prefix + ["true"], capture_output=True)
        if probe.returncode == 0:
            break
    else:
        pytest.skip("cannot create a network namespace here (need root or user namespaces)")
    proc = subprocess.run(prefix + ["sh", "-c", inner], env=env, capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout, proc.stdout[-2000:]


async def _start_server():
    app = web.Application()
    directory = signalling.RoomDirectory(IcePolicy(DefaultIce()))
    signalling.setup(app, directory, dev_pages=True)
    app.router.add_static("/static/", web_root())
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, directory, f"http://127.0.0.1:{port}"


STATS = "async () => { const s = await window.vidzzle.client.stats(); return s; }"
FLAT_STATS = ("async () => { const s = await window.vidzzle.client.stats(); "
              "return [s.inboundVideo.map((v) => v.framesDecoded), s.inboundAudio.map((a) => a.totalSamplesReceived)]; }")


async def test_inside_two_chromium_tabs_decode_each_other():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    if not _inside():
        pytest.skip("runs inside the network namespace (see test_browser_call_in_network_namespace)")
    from playwright.async_api import async_playwright

    runner, directory, base = await _start_server()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            context = await browser.new_context(ignore_https_errors=True)
            tab1 = await context.new_page()
            logs = []
            tab1.on("console", lambda m: logs.append(("tab1", m.text)))
            await tab1.goto(f"{base}/dev/room?autojoin=1")
            await wait_true(tab1, "window.vidzzle && window.vidzzle.client.joined", timeout=45000)
            room_id = await tab1.evaluate("window.vidzzle.room_id")
            tab2 = await context.new_page()
            tab2.on("console", lambda m: logs.append(("tab2", m.text)))
            await tab2.goto(f"{base}/dev/room?autojoin=1&room={room_id}")
            # its client exists only after the page fetched its token (the race made this test flaky)
            await wait_true(tab2, "window.vidzzle && window.vidzzle.client.joined", timeout=45000)

            async def decoded(tab):
                s = await tab.evaluate(STATS)
                return (sorted(v["framesDecoded"] for v in s["inboundVideo"]),
                        [a["totalSamplesReceived"] for a in s["inboundAudio"]])

            deadline = asyncio.get_running_loop().time() + 60  # generous: CI machines are shared
            first = None
            while True:
                v1, a1 = await decoded(tab1)
                v2, a2 = await decoded(tab2)
                # tab1: tab2's camera; tab2: tab1's camera + the presentation
                if first is None and v1 and v2:
                    first = (v1, v2)
                ok = (len(v1) >= 1 and max(v1) > 30 and a1 and max(a1) > 0
                      and len(v2) >= 2 and max(v2) > 30 and min(v2) >= 1 and a2 and max(a2) > 0)
                if ok:
                    break
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"media did not flow: tab1 {v1} {a1}, tab2 {v2} {a2}; {logs[-10:]}")
                await asyncio.sleep(0.25)
            # framesDecoded keeps growing on both sides
            await asyncio.sleep(1.0)
            v1b, _ = await decoded(tab1)
            v2b, _ = await decoded(tab2)
            assert max(v1b) > max(v1) and max(v2b) > max(v2)

            # tab2 leaves, tab3 joins: its camera arrives on tab1's freed m-line
            await tab2.close()
            await asyncio.sleep(1.0)
            before, _ = await decoded(tab1)
            tab3 = await context.new_page()
            await tab3.goto(f"{base}/dev/room?autojoin=1&room={room_id}")
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                now, _ = await decoded(tab1)
                if max(now) > max(before) + 30:
                    break
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"tab3's camera did not reach tab1: {before} -> {now}; {logs[-10:]}")
                await asyncio.sleep(0.25)
            assert len(now) == len(before), f"a new m-line was added instead of reusing: {before} -> {now}"
            shown = await tab1.evaluate("document.querySelectorAll('figure').length")
            assert shown == 3, f"tab1 shows {shown} videos (me, presentation, tab3 expected)"
            await browser.close()
    finally:
        await directory.close_all()
        await runner.cleanup()
        aiortc_glue.set_host_addresses(None)


async def test_inside_firefox_and_chromium_decode_each_other():
    """Firefox ESR (WebDriver BiDi driver of tests/e2e) joins a Chromium tab."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    if not _inside():
        pytest.skip("runs inside the network namespace (see test_browser_call_in_network_namespace)")
    try:
        from e2e.firefox import Firefox, available
    except ImportError:
        pytest.skip("tests/e2e/firefox.py (BiDi driver) not importable")
    if not available():
        pytest.skip("firefox-esr not installed")
    from playwright.async_api import async_playwright

    runner, directory, base = await _start_server()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            tab = await (await browser.new_context()).new_page()
            await tab.goto(f"{base}/dev/room?autojoin=1")
            await wait_true(tab, "window.vidzzle && window.vidzzle.client.joined", timeout=45000)
            room_id = await tab.evaluate("window.vidzzle.room_id")
            firefox = Firefox()
            await firefox.start()
            try:
                await firefox.navigate(f"{base}/dev/room?autojoin=1&room={room_id}")
                deadline = asyncio.get_running_loop().time() + 60
                last_error = None
                while True:
                    await asyncio.sleep(0.5)
                    try:  # flat arrays: the BiDi driver deserializes lists of numbers
                        f_video, f_audio = await firefox.call(FLAT_STATS)
                    except Exception as exc:  # page not ready yet
                        f_video, f_audio = [], []
                        last_error = exc
                    cs = await tab.evaluate(STATS)
                    c_video = [v["framesDecoded"] for v in cs["inboundVideo"]]
                    # Firefox: Chromium's camera + the presentation; Chromium: Firefox's camera
                    if (len(f_video) >= 2 and min(f_video) >= 1 and max(f_video) > 30 and f_audio and max(f_audio) > 0
                            and c_video and max(c_video) > 30):
                        break
                    if asyncio.get_running_loop().time() > deadline:
                        raise AssertionError(f"firefox {f_video} {f_audio} ({last_error!r}), chromium {c_video}")
            finally:
                await firefox.close()
            await browser.close()
    finally:
        await directory.close_all()
        await runner.cleanup()
        aiortc_glue.set_host_addresses(None)
