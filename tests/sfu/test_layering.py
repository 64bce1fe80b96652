"""sfu imports no higher layer, and only aiortc_glue touches aiortc internals."""

import ast
import pathlib

import vidzzle_media.sfu as sfu

SFU = pathlib.Path(sfu.__file__).parent
FORBIDDEN = ("routing", "store", "admin", "services", "signalling", "config", "app")


def test_sfu_imports_no_higher_layer():
    for path in SFU.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            for name in names:
                parts = name.lstrip(".").split(".")
                if name.startswith("vidzzle_media") or node.__class__ is ast.ImportFrom and node.level >= 2:
                    assert parts[1 if name.startswith("vidzzle_media") else 0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_only_glue_touches_private_attributes():
    for path in SFU.rglob("*.py"):
        if path.name == "aiortc_glue.py":
            continue
        text = path.read_text()
        for needle in ("_rx_srtp", "_tx_srtp", "_nominated", "_protocols", "_RTCRtp", "_connection",
                       "._send_rtcp", "._packetize", "._run_rtp", "._run_rtcp"):
            assert needle not in text, f"{path.name} touches {needle}"
