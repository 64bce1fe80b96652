"""The server process stays light: PyMuPDF (about 130 MB of resident memory
with what it imports) is loaded only by the bounded child process that checks
and renders uploads; the server shows a presentation from the stored page
images (with Pillow). Checked in a fresh interpreter, since this test process
imports PyMuPDF elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
import asyncio, sys, tempfile
from pathlib import Path
from PIL import Image
from vidzzle_media.app import create_app
from vidzzle_media.config import load_settings
from vidzzle_media.sfu import presentation

folder = Path(tempfile.mkdtemp())
settings = load_settings(None, environ={}, overrides={"server.data_dir": str(folder / "data"), "tls.enabled": False})
create_app(settings)
pages = folder / "pages"
pages.mkdir()
Image.new("RGB", (640, 352), (200, 10, 10)).save(pages / "0001.png")
key, delta, count = presentation.render_and_encode("", 0, 640, 352, str(pages))
assert count == 1 and key and delta
print(sorted(m for m in ("pymupdf", "fitz", "onnxruntime") if m in sys.modules))
"""


def test_the_server_process_never_loads_pymupdf(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


LOGINS = r"""
import asyncio
from vidzzle_media.services.accounts import passwords

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

async def main():
    phc = await passwords.hash_password("a password of an agent")
    before = rss_mb()
    for _ in range(3):          # ten agents log in at once, three times
        assert all(await asyncio.gather(*(passwords.verify_password("a password of an agent", phc)
                                          for _ in range(10))))
    print(round(rss_mb() - before, 1))

asyncio.run(main())
"""


def test_logins_at_once_do_not_bloat_the_server(tmp_path):
    """Argon2 takes 19 MiB per hash; hashed in asyncio's shared pool, 30 logins
    in bursts of ten grew RSS by about 200 MB for good (one malloc arena per
    thread keeps its blocks). Hashed one at a time it is one block."""
    out = subprocess.run([sys.executable, "-c", LOGINS], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip()) < 60


THREADS = r"""
import ctypes, sys, threading
from vidzzle_media.memory import limit_malloc_arenas

if sys.argv[1] == "limited":
    assert limit_malloc_arenas()

def work():          # what the server's helper threads do: large buffers, then many mid-sized ones
    for _ in range(3):
        block = bytearray(19 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        del block
        blocks = [bytearray(200_000) for _ in range(60)]
        for b in blocks:
            b[::4096] = b"y" * len(b[::4096])
        del blocks

for _ in range(3):
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
ctypes.CDLL(None).malloc_stats()     # glibc: one "Arena N:" block per arena, on stderr
"""


def test_the_server_keeps_two_malloc_arenas(tmp_path):
    """Each thread's own glibc arena keeps its high-water mark; the server
    limits them to two at start (memory.py; bench/soak.py: 321 -> 238 MB at
    10 calls). Counted, not weighed: RSS differences depend on how the
    threads happened to overlap."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    arenas = {}
    for mode in ("default", "limited"):
        out = subprocess.run([sys.executable, "-c", THREADS, mode], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        arenas[mode] = sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))
    assert arenas["limited"] <= 2 < arenas["default"], arenas
