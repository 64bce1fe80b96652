"""Outside a namespace with only ``lo``: re-run this folder inside one
(``unshare -n`` as root, ``unshare -rn`` otherwise). scripts/test already
runs the browser tests in such a namespace; then this test skips."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import only_loopback, skip_reason

pytestmark = pytest.mark.browser


def test_e2e_suite_in_network_namespace():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    if only_loopback():
        pytest.skip("already inside the namespace: the tests run directly")
    if not shutil.which("unshare"):
        pytest.skip("unshare not available")
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if subprocess.run(prefix + ["true"], capture_output=True).returncode == 0:
            break
    else:
        pytest.skip("cannot create a network namespace here")
    here = Path(__file__).resolve().parent
    inner = f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider -m browser {here}"
    proc = subprocess.run(prefix + ["sh", "-c", inner], capture_output=True, text=True, timeout=900,
                          cwd=here.parents[1], env=dict(os.environ))
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
