"""Smoke test of the one-file binary (issue 7): built by scripts/build-binary
into dist/vidzzle-media, started with an environment that has no Python
paths, over HTTPS with its generated certificate: /healthz, the login page,
and one call between two real aiortc peers through its SFU."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from smtpcapture import free_port

from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue

BINARY = Path(__file__).resolve().parents[2] / "dist" / "vidzzle-media"

pytestmark = pytest.mark.binary


@pytest.fixture
def binary():
    if not BINARY.exists():
        if os.environ.get("CI"):
            pytest.fail("dist/vidzzle-media missing in CI: scripts/test builds it with scripts/build-binary")
        pytest.skip("build it first: scripts/build-binary")
    return BINARY


def test_binary_checks_a_pdf_in_its_bounded_child(binary, tmp_path):
    """Presentation uploads run the PDF check as a child process of the binary itself."""
    import json

    import pymupdf

    doc = pymupdf.open()
    for _ in range(3):
        doc.new_page()
    doc.save(tmp_path / "deck.pdf")
    out = subprocess.run([str(binary), "probe-pdf", str(tmp_path / "deck.pdf"), str(tmp_path / "thumb.png"),
                          "50", "10", str(1 << 30)], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"pages": 3}, out.stderr[-2000:]
    assert (tmp_path / "thumb.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_binary_serves_and_forwards_a_call(binary, tmp_path):
    from sfu.peers import Client, wait_for
    from signalling.wspeer import WsPeer

    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),   # no PYTHONPATH, no virtualenv
           "VIDZZLE_SERVER_DEV_PAGES": "true", "VIDZZLE_ICE_HOST_ADDRESSES": "127.0.0.1"}
    proc = subprocess.Popen([str(binary), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--data-dir", str(tmp_path / "data")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    base = f"https://127.0.0.1:{port}"
    IcePolicy(DefaultIce())   # our aiortc peers gather on loopback too
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context))
    peers = []
    try:
        for _ in range(300):   # the one-file binary unpacks itself first
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                async with session.get(base + "/healthz") as resp:
                    if resp.status == 200:
                        assert (await resp.json())["database"]["status"] == "ok"
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("binary did not answer /healthz")
        assert (tmp_path / "certs" / "vidzzle-selfsigned.crt").exists()
        async with session.get(base + "/admin/login") as resp:
            assert resp.status == 200 and "password" in (await resp.text()).lower()
        async with session.get(base + "/admin/login", headers={"Accept-Language": "de-DE,de"}) as resp:
            german = await resp.text()   # the catalogs ship in the binary
            assert '<html lang="de">' in german and "Passwort vergessen?" in german
        async with session.get(base + "/i18n/messages.json?lang=de") as resp:
            assert (await resp.json())["messages"]["Good connection"] == "Gute Verbindung"
        async with session.get(base + "/static/js/room-client.js") as resp:
            assert resp.status == 200
        async with session.post(base + "/dev/room/token", json={"display_name": "A"}) as resp:
            first = await resp.json()
        async with session.post(base + "/dev/room/token", json={"room_id": first["room_id"],
                                                                "display_name": "B"}) as resp:
            second = await resp.json()
        for grant in (first, second):
            peer = WsPeer(await session.ws_connect(f"wss://127.0.0.1:{port}/ws/room"), Client())
            peers.append(peer)
            await peer.join(grant["token"], "peer")
            await peer.publish()
        a, b = (p.client for p in peers)
        # each decodes the other's camera (and the demo presentation)
        await wait_for(lambda: any(r.track.kind == "video" and r.frames > 5 for r in a.received)
                       and any(r.track.kind == "video" and r.frames > 5 for r in b.received), timeout=20)
    finally:
        for peer in peers:
            await peer.close()
        await session.close()
        aiortc_glue.set_host_addresses(None)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stdout.read().decode()[-3000:]


def test_binary_version_doctor_and_acme_client(binary, tmp_path):
    """The binary's own commands: --version, doctor (one line per check, exit 1:
    no public_url), and the ACME client library is inside it."""
    from vidzzle_media import __version__

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.strip() == f"vidzzle-media {__version__}"
    out = subprocess.run([str(binary), "doctor", "--data-dir", str(tmp_path / "data")], capture_output=True,
                         text=True, timeout=120, env=env, cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    assert out.stdout.startswith("FAIL  Public address")
    archive = subprocess.run([sys.executable, "-m", "PyInstaller.utils.cliutils.archive_viewer", "-l", "-r", str(binary)],
                             capture_output=True, text=True, timeout=120)
    assert archive.returncode == 0, archive.stderr[-2000:]
    assert "acme.client" in archive.stdout and "josepy" in archive.stdout
