"""CPU per packet of the receive-to-send path inside the server process, per core.

    python3 bench/corepath.py [--packets 20000] [--legs 1,20] [--repeat 3] [--json FILE]

What every authentic incoming RTP packet costs after SRTP unprotect:
the participant's Demux (parse, the track by payload type), the track's
Intake (loss tracking, receiver-report counters, payload check, key-frame
detection), fan-out to every receiving leg (new header, extension remap,
NACK history), SRTP protect (libsrtp) and the sends (``sendmmsg`` to a real
UDP socket on loopback). No event loop and no receiving socket: this is
the part the forwarding cores own, measured in one process, the three
variants in one sitting and interleaved:

- ``reference``: everything in Python (``intake.py``, ``leg.py``);
- ``compiled legs``: the Python Demux and Intake feeding the C legs (how the
  server ran before the intake moved to C);
- ``compiled``: ``_fastpath.Demux``/``Intake`` feeding the C legs (the default).

The legs are video legs with the same extension map, all sending to one
sink, so 1 leg is a 1:1 call's path and 20 legs a big room's. CPU is
``time.process_time`` around the calls only (draining the sink is not
counted); the best of ``--repeat`` runs is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import struct
import sys
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

VP8 = 96


def stream(count: int) -> list[bytes]:
    """A camera's VP8 packets: a key frame every 90 frames, 4 packets a frame, two extensions."""
    rng = random.Random(1)
    out, seq, ts = [], rng.randrange(65536), rng.getrandbits(32)
    for i in range(count):
        frame, part = divmod(i, 4)
        start = part == 0
        key = start and frame % 90 == 0
        descriptor = bytes([0x90 if start else 0x80, 0x80, 0x80 | (frame >> 8) & 0x7F, frame & 0xFF])
        body = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) if key else \
            bytes([0x11, 0x02, 0x00]) if start else b""
        payload = descriptor + body + os.urandom(1000 - len(body))
        ext = struct.pack("!HH", 0xBEDE, 2) + bytes([0x10, 0xAB, 0x21, 0x01, 0x02, 0, 0, 0])
        header = struct.pack("!BBHII", 0x90, ((part == 3) << 7) | VP8, (seq + i) & 0xFFFF,
                             (ts + 3000 * frame) & 0xFFFFFFFF, 0x1234)
        out.append(header + ext + payload)
    return out


class Owner:
    """What the Producer and the Consumers do with events: nothing (none are expected)."""

    def _on_new_source(self) -> None:
        pass

    def _on_nack(self, seqs: list[int]) -> None:
        pass

    def _on_malformed(self) -> None:
        pass

    def on_verdict(self, verdict: int) -> None:
        pass


def variant(name: str) -> SimpleNamespace:
    from vidzzle_media.sfu import _fastpath, intake, leg

    if name == "reference":
        return SimpleNamespace(Demux=intake.Demux, Intake=intake.Intake, Leg=leg.Leg, patch={})
    if name == "compiled legs":
        return SimpleNamespace(Demux=intake.Demux, Intake=intake.Intake, Leg=_fastpath.Leg,
                               patch={"RtpView": _fastpath.View, "leg": SimpleNamespace(fanout=_fastpath.fanout)})
    return SimpleNamespace(Demux=_fastpath.Demux, Intake=_fastpath.Intake, Leg=_fastpath.Leg, patch={})


async def measure(name: str, packets: list[bytes], legs: int) -> float:
    """CPU microseconds per incoming packet."""
    from sfu.standins import connected_dtls, drain, udp_sink

    from vidzzle_media.sfu import aiortc_glue, intake

    impl = variant(name)
    saved = {k: getattr(intake, k) for k in impl.patch}
    for k, v in impl.patch.items():
        setattr(intake, k, v)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    sink = udp_sink()
    try:
        track = impl.Intake(Owner(), VP8, None, intake.Codec.VP8)
        made = []
        for i in range(legs):
            x = impl.Leg(Owner(), True, 3000)
            x.pt, x.ssrc, x.ext_map = 100, 0x1000 + i, {1: 3, 2: 5}
            x.attach(aiortc_glue.SendPath(connected_dtls(transport, sink.getsockname())))
            made.append(x)
        track.legs = tuple(made)
        demux = impl.Demux(lambda reason: None)
        demux.by_pt[VP8] = track
        cpu = 0.0
        for start in range(0, len(packets), 100):
            t0 = time.process_time()
            for data in packets[start:start + 100]:
                demux(data)
            cpu += time.process_time() - t0
            drain(sink)
        sent = sum(x.packets_sent for x in made)
        assert sent >= 0.99 * len(packets) * legs, f"{name}: only {sent} of {len(packets) * legs} sent"
        return cpu / len(packets) * 1e6
    finally:
        for k, v in saved.items():
            setattr(intake, k, v)
        transport.close()
        sink.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=20000)
    parser.add_argument("--legs", default="1,20")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    from vidzzle_media.sfu import aiortc_glue, core

    if not core.compiled_available():
        raise SystemExit("the compiled core is not built (pip install -e . with gcc)")
    core.select(core.MediaCore.COMPILED)        # sets libsrtp's functions for the C legs
    assert aiortc_glue.srtp_function_address("srtp_protect")
    packets = stream(args.packets)
    names = ["reference", "compiled legs", "compiled"]
    rows = []
    for legs in (int(x) for x in args.legs.split(",")):
        best = dict.fromkeys(names, float("inf"))
        for _ in range(args.repeat):
            for name in names:      # interleaved: drift hits all three alike
                best[name] = min(best[name], await measure(name, packets, legs))
        for name in names:
            rows.append({"legs": legs, "variant": name, "us_per_packet": round(best[name], 2),
                         "vs_reference": round(best[name] / best["reference"], 3)})
            print(f"{legs:>3} legs  {name:<14} {best[name]:7.2f} us/packet  "
                  f"{best[name] / best['reference']:.2f}x reference", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": f"{os.cpu_count()} cores, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
            "packets": args.packets, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
