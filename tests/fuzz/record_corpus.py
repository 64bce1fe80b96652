"""Record the fuzz seed corpus from real traffic (tests/fuzz/corpus/).

    python3 tests/fuzz/record_corpus.py

Two real aiortc peers (the test client's synthetic camera and tone) call
each other on loopback. Captured: the offer SDP, the first plain RTP and
RTCP packets after SRTP (aiortc's own DTLS transport hooks), STUN messages
as they crossed the ICE socket, and the room/agent socket messages a
browser sends, built from the real offer. Re-run when the protocol
changes; the files are committed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aiortc import RTCPeerConnection  # noqa: E402
from sfu.peers import CONFIG, CounterVideoTrack  # noqa: E402

from vidzzle_media.sfu import aiortc_glue  # noqa: E402

CORPUS = HERE / "corpus"
KEEP = {"rtp": 40, "rtcp": 20, "stun": 12}


async def record() -> dict[str, list[bytes]]:
    from aiortc.mediastreams import AudioStreamTrack

    aiortc_glue.set_host_addresses(["127.0.0.1"])
    got: dict[str, list[bytes]] = {"rtp": [], "rtcp": [], "stun": []}
    a, b = RTCPeerConnection(CONFIG()), RTCPeerConnection(CONFIG())
    a.addTrack(CounterVideoTrack(320, 180))
    a.addTrack(AudioStreamTrack())
    b.addTransceiver("video", direction="recvonly")
    b.addTransceiver("audio", direction="recvonly")

    def keep(kind: str, data: bytes) -> None:
        if len(got[kind]) < KEEP[kind] and data not in got[kind]:
            got[kind].append(bytes(data))

    offer_sdp = ""
    try:
        await a.setLocalDescription(await a.createOffer())
        offer_sdp = a.localDescription.sdp
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        for pc in (a, b):
            aiortc_glue.install_datagram_filter(pc, lambda d: (d[:1] and d[0] < 4 and keep("stun", d)) and False)
        for dtls in aiortc_glue.dtls_transports(b):
            rtp, rtcp = dtls._handle_rtp_data, dtls._handle_rtcp_data

            async def on_rtp(data, arrival_time_ms, _orig=rtp):
                keep("rtp", data)
                await _orig(data, arrival_time_ms)

            async def on_rtcp(data, _orig=rtcp):
                keep("rtcp", data)
                await _orig(data)

            dtls._handle_rtp_data, dtls._handle_rtcp_data = on_rtp, on_rtcp
        for dtls in aiortc_glue.dtls_transports(a):
            rtcp_a = dtls._handle_rtcp_data

            async def on_rtcp_a(data, _orig=rtcp_a):
                keep("rtcp", data)
                await _orig(data)

            dtls._handle_rtcp_data = on_rtcp_a
        for _ in range(100):
            if all(len(got[k]) >= KEEP[k] for k in ("rtp", "rtcp")):
                break
            await asyncio.sleep(0.1)
    finally:
        await a.close()
        await b.close()
    got["sdp"] = [offer_sdp.encode()]
    return got


def messages(sdp: str) -> dict[str, list[dict]]:
    candidate = next((line[2:] for line in sdp.split("\r\n") if line.startswith("a=candidate:")), "")
    room = [
        {"type": "join", "token": "t" * 43, "display_name": "Anna", "id": "1"},
        {"type": "offer", "pc": "publish", "sdp": sdp, "id": "2"},
        {"type": "answer", "pc": "subscribe", "sdp": sdp},
        {"type": "candidate", "pc": "publish", "candidate": candidate, "sdp_mid": "0", "sdp_mline_index": 0},
        {"type": "mute", "kind": "audio", "muted": True},
        {"type": "presentation", "command": "goto", "page": 3, "document_id": "d" * 12},
        {"type": "leave"},
        {"type": "ping", "id": "x"},
    ]
    agent = [{"type": "ping"}, {"type": "accept", "call_id": "c" * 22}, {"type": "decline", "call_id": "c" * 22},
             {"type": "hangup", "call_id": "c" * 22}]
    return {"room_json": room, "agent_json": agent}


def images() -> list[bytes]:
    """Real encoder output (Pillow): the formats the back office accepts, small and at the slot sizes."""
    import io

    from PIL import Image

    out = []
    for size, fmt, mode in (((600, 102), "PNG", "RGB"), ((64, 64), "PNG", "RGBA"), ((600, 300), "JPEG", "RGB"),
                            ((48, 48), "GIF", "P"), ((40, 40), "PNG", "P")):
        image = Image.new(mode, size, 128 if mode == "P" else (200, 30, 30) + ((255,) if mode == "RGBA" else ()))
        buf = io.BytesIO()
        image.save(buf, fmt)
        out.append(buf.getvalue())
    return out


def pdfs() -> list[bytes]:
    """Small real PDFs (PyMuPDF): text, two pages, a drawing, an embedded image."""
    import pymupdf

    out = []
    for kind in ("text", "two", "drawing", "image"):
        doc = pymupdf.open()
        page = doc.new_page(width=400, height=300)
        if kind in ("text", "two"):
            page.insert_text((40, 60), "Willkommen im Autohaus", fontsize=18)
        if kind == "two":
            doc.new_page(width=300, height=400).insert_text((20, 40), "Seite 2")
        if kind == "drawing":
            page.draw_rect(pymupdf.Rect(20, 20, 200, 120), color=(1, 0, 0), fill=(0, 0, 1))
        if kind == "image":
            page.insert_image(pymupdf.Rect(10, 10, 110, 110), stream=images()[1])
        out.append(doc.tobytes(garbage=3, deflate=True))
    return out


def main() -> int:
    got = asyncio.run(record())
    sdp = got["sdp"][0].decode()
    folders = {"rtp": got["rtp"], "rtcp": got["rtcp"], "stun": got["stun"], "sdp": got["sdp"], "image": images(),
               "pdf": pdfs()}
    for name, items in messages(sdp).items():
        folders[name] = [json.dumps(m).encode() for m in items]
    for name, items in folders.items():
        folder = CORPUS / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for i, data in enumerate(items):
            (folder / f"seed-{i:03d}").write_bytes(data)
        print(f"{name}: {len(items)} seeds")
    return 0 if all(folders.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
