import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

from vidzzle_media.tls import ensure_self_signed


async def test_healthz(client):
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["database"]["schema_version"] >= 1


def test_self_signed_certificate_is_generated_once(tmp_path):
    cert, key = ensure_self_signed(tmp_path / "certs")
    first = cert.read_bytes()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    cert2, _ = ensure_self_signed(tmp_path / "certs")
    assert cert2.read_bytes() == first


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_over_https_with_generated_certificate(tmp_path):
    """The real CLI: `serve` from another folder generates a certificate and answers /healthz."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidzzle_media", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=2) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert (tmp_path / "certs" / "vidzzle-selfsigned.crt").exists()
        assert (tmp_path / "data" / "vidzzle.db").exists()
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


def test_help_on_every_command():
    for args in ([], ["serve"], ["create-support"]):
        out = subprocess.run([sys.executable, "-m", "vidzzle_media", *args, "--help"],
                             capture_output=True, text=True, check=True).stdout
        assert "usage: vidzzle-media" in out


def test_json_logs_are_one_object_per_line():
    """server.log_json: every log event is exactly one parseable JSON line, exceptions included."""
    import json as jsonlib

    code = ("import logging\nfrom vidzzle_media.logs import configure_logging\n"
            "configure_logging('INFO', True)\nlog = logging.getLogger('x')\nlog.info('two\\nlines')\n"
            "try:\n    1/0\nexcept ZeroDivisionError:\n    log.exception('boom')\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    lines = err.strip().splitlines()
    assert len(lines) == 2
    first, second = (jsonlib.loads(line) for line in lines)
    assert first["message"] == "two\nlines" and first["level"] == "INFO"
    assert second["message"] == "boom" and "ZeroDivisionError" in second["exception"]


async def test_sigterm_with_the_back_office_open_stops_at_once(tmp_path):
    """An agent's open back office (its /ws/agent socket) does not hold a stop
    (systemctl restart) until aiohttp's shutdown timeout: the socket is closed
    with the calls, and the process exits 0 within seconds."""
    import asyncio

    from admin.helpers import Browser, make_tenant, make_user

    from vidzzle_media.store import Database

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    proc = subprocess.Popen([sys.executable, "-m", "vidzzle_media", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--data-dir", str(tmp_path / "data")],
                            cwd=tmp_path, env={**env, "VIDZZLE_TLS_ENABLED": "false"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    browser = Browser(f"http://127.0.0.1:{port}")
    try:
        for _ in range(100):
            try:
                async with browser.session.get(browser.base + "/healthz") as resp:
                    if resp.status == 200:
                        break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
            await asyncio.sleep(0.2)
        db = Database(tmp_path / "data" / "vidzzle.db")      # the server's file, beside it (WAL)
        await db.open()
        tenant = await make_tenant(db, "Stop Cars")
        await make_user(db, tenant_id=tenant, role="user", email="agent@stop.example")
        await db.close()
        assert (await browser.login("agent@stop.example")).status == 200
        ws = await browser.session.ws_connect(browser.base + "/ws/agent")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        started = time.monotonic()
        proc.terminate()
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0 and time.monotonic() - started < 10
        closed = await ws.receive(timeout=5)
        assert ws.closed or closed.type.name in ("CLOSE", "CLOSED", "CLOSING")
    finally:
        await browser.close()
        if proc.poll() is None:
            proc.kill()
