"""The README's first command in a fresh virtual environment: ``pip install .``
gives a ``vidzzle-media`` command whose first ``serve`` says where it serves
and how to create the first account (issue 12). The venv sees the machine's
packages (no downloads of dependencies), but vidzzle_media is its own copy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from test_first_run import _env, _read_until

ROOT = Path(__file__).resolve().parents[2]


def test_pip_install_then_first_serve_guides(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--disable-pip-version-check", str(ROOT)],
                   check=True, timeout=600, capture_output=True)
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import vidzzle_media; print(vidzzle_media.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert where.startswith(str(venv)), where
    data = tmp_path / "data"
    proc = subprocess.Popen([str(venv / "bin" / "vidzzle-media"), "serve", "--host", "127.0.0.1", "--port", "0",
                             "--data-dir", str(data)], cwd=tmp_path, env=_env(VIDZZLE_SERVER_LOG_LEVEL="WARNING"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        text = _read_until(proc, r"open the link it prints", timeout=60)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert re.search(r"is serving on https://127\.0\.0\.1:\d+", text)
    assert f"\n    vidzzle-media create-support YOUR-EMAIL --data-dir {data.resolve()}\n" in text
