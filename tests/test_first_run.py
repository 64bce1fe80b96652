"""A new operator's first run, through the real command line: what it
prints, the port it really uses, and one clear line (exit 2) instead of a
traceback when the port or the certificate cannot be had."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

from vidzzle_media import __version__

CLI = [sys.executable, "-m", "vidzzle_media"]


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    env.update(extra)
    return env


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _read_until(proc: subprocess.Popen, pattern: str, timeout: float = 30) -> str:
    """stderr lines until one matches (the server keeps running)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            assert proc.poll() is None, "".join(seen)
            continue
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    raise AssertionError("".join(seen))


def test_version_and_help_hide_internal_commands():
    out = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"vidzzle-media {__version__}"
    help_text = subprocess.run([*CLI, "--help"], capture_output=True, text=True, check=True).stdout
    assert "probe-pdf" not in help_text
    assert "create-support" in help_text and "--version" in help_text


def test_port_0_first_run_guidance_and_a_link_on_the_real_port(tmp_path):
    data = tmp_path / "data"
    proc = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)],
                            cwd=tmp_path, env=_env(VIDZZLE_SERVER_LOG_LEVEL="WARNING"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        text = _read_until(proc, r"open the link it prints")
        port = int(re.search(r"serving on https://127\.0\.0\.1:(\d+)", text).group(1))
        assert port != 0
        assert f"create-support YOUR-EMAIL --data-dir {data.resolve()}" in text
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=_insecure(), timeout=5) as resp:
            assert resp.status == 200
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/admin/login", context=_insecure(), timeout=5) as resp:
            page = resp.read().decode()
        assert 'id="first-run"' in page and "create-support" in page

        made = subprocess.run([*CLI, "create-support", "boss@autohaus.example", "--data-dir", str(data)],
                              cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        link = re.search(r"https://\S+", made.stdout).group(0)
        assert link.startswith(f"https://127.0.0.1:{port}/"), made.stdout
        with urllib.request.urlopen(link, context=_insecure(), timeout=5) as resp:   # the link works
            assert resp.status == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert not (data / "listening.json").exists()
    # the server is gone: the link falls back to the configured port
    again = subprocess.run([*CLI, "create-support", "boss@autohaus.example", "--data-dir", str(data)],
                           cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60)
    assert "https://localhost:8443/" in again.stdout


def test_busy_port_is_one_line_and_exit_2(tmp_path):
    running = tmp_path / "data" / "listening.json"      # the origin of the server already running there
    running.parent.mkdir()
    running.write_text('{"scheme": "https", "host": "127.0.0.1", "port": 1}')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir",
                               str(tmp_path / "data")], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("vidzzle-media:")]
    assert errors == [f"vidzzle-media: cannot listen on 127.0.0.1:{port}: Address already in use. "
                      "Is another server running there? Choose another with --port."]
    assert running.exists()                             # the failed start left the running server's record alone


def test_unreadable_certificate_is_one_line_and_exit_2(tmp_path):
    key = tmp_path / "server.key"
    key.write_text("not a key")
    done = subprocess.run([*CLI, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "data")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=_env(VIDZZLE_TLS_CERT_FILE=str(tmp_path / "missing.crt"), VIDZZLE_TLS_KEY_FILE=str(key)))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "cannot read the TLS certificate or key" in done.stderr and "missing.crt" in done.stderr
