"""Capacity benchmark: K concurrent 1:1 calls through the real server (issue 32, step 1).

    python bench/capacity.py [--steps 1,5,10,20] [--seconds 20] [--clients 1] [--cores compiled,python]
                             [--workers 0,1,2] [--json FILE]

The product's own workload: per call, a customer and an agent who both
publish 640x360@30 VP8 (~1 Mbit/s) + Opus and both receive each other.
The SERVER runs in its own process (``bench/_server.py``, as for
``bench/fanout.py``). The clients run in ``--clients`` separate processes
(this script with ``--client``) and do not encode or decode video: every
publisher loops the same pre-encoded VP8 stream (30 frames encoded once at
start, a key frame every second) handed to aiortc as ready packets, with
the sender's wall-clock time in the last 8 bytes of each frame; every
receiver counts complete frames and timestamp gaps out of aiortc's jitter
buffer (``bench/_clients.py``) and reads the time back for the end-to-end
latency (client -> server -> client, one machine, one clock).

Per step: server CPU (% of one core, per call), the busiest process's CPU
(the server's or a media worker's: the first to fill its core) and the
calls at which it would be full if the load grew evenly (a projection for a
machine with a core per process and the clients elsewhere), forwarded packets per
second, server RSS (per call over the idle process), receive fps and gaps
of every leg, and the latency percentiles. Before the server runs, every
step runs the same calls' clients once peer to peer (``direct (no
server)``: the same streams, jitter buffers and client load, no server);
"server-added" latency is the step's percentile minus that baseline's
percentile (a difference of percentiles, not a percentile of differences:
per-frame pairing is impossible across two runs). With several ``--cores`` every
step runs once per forwarding core (setting ``media.core``), one after the
other, so before/after ratios come from one sitting; ``--workers`` does the same
per media worker count (setting ``server.media_workers``; server CPU and RSS
are then the server process and its workers together). Results are JSON (``--json``)
plus a markdown table on stdout. Clients saturate before the server on a
2-core machine: the table says how much CPU they used.
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from fanout import Server, machine, pct, proc_cpu_s, process_tree, tree_cpu_s, tree_rss_mb  # noqa: E402

STAMP = struct.Struct("!d")
DIRECT = "direct (no server)"
"""The baseline rows: the same calls' clients connected peer to peer."""
GOP = 30
"""Frames in the looped stream (a key frame at its start: one per second)."""


# --- the client process ------------------------------------------------------------------

def encoded_loop(frames: int = GOP, width: int = 640, height: int = 360, bitrate: int = 1_000_000) -> list[bytes]:
    """``frames`` VP8 frames of panning texture at 30 fps, the first a key frame (libvpx via PyAV):
    about 0.9 Mbit/s, the same bytes in every process and run.

    A fixed encoder speed (``cpu-used`` negative): with a positive one libvpx's
    realtime mode picks its speed from how long frames take, so a loop encoded
    on a busy machine came out 1.6 and on an idle one 4.9 Mbit/s (found here
    in issue 30: calls of one run sent 222 and 530 packets a second)."""
    import av
    import numpy as np

    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.bit_rate, codec.framerate = bitrate, fractions.Fraction(30, 1)
    codec.options = {"deadline": "realtime", "cpu-used": "-8", "lag-in-frames": "0", "g": str(frames)}
    rnd = np.random.default_rng(1)
    coarse = rnd.integers(40, 216, size=(height // 4 + 1, 2 * width // 4 + 1), dtype=np.uint8)
    texture = np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)[:height]     # 4x4 px blocks
    out: list[bytes] = []
    for n in range(frames + 5):
        img = np.zeros((height * 3 // 2, width), dtype=np.uint8)
        shift = (n * 5) % width
        img[:height] = texture[:, shift:shift + width]
        img[height:] = 128
        frame = av.VideoFrame.from_ndarray(img, format="yuv420p")
        frame.pts = n
        out += [bytes(p) for p in codec.encode(frame)]
    return out[:frames]


def looped_track(frames: list[bytes]):
    """A video track of ready VP8 packets at 30 fps (aiortc packetizes them unencoded)."""
    import av
    from aiortc import MediaStreamTrack

    class Looped(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.n = 0
            self.start: float | None = None

        async def recv(self) -> av.Packet:
            if self.start is None:
                self.start = time.monotonic()
            delay = self.start + self.n / 30 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            packet = av.Packet(frames[self.n % len(frames)] + STAMP.pack(time.time()))
            packet.pts, packet.time_base = self.n * 3000, fractions.Fraction(1, 90000)
            self.n += 1
            return packet

    return Looped()


async def client(args: argparse.Namespace) -> None:
    import _clients as cl
    from aiohttp import ClientSession
    from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack

    from vidzzle_media.sfu import aiortc_glue

    aiortc_glue.set_host_addresses(["127.0.0.1"])
    frames = encoded_loop()
    latencies: list[float] = []
    original = cl.RxStats.video_frame

    def video_frame(stats, timestamp: int, data: bytes) -> None:
        original(stats, timestamp, data)
        if len(data) > 8:
            latencies.append((time.time() - STAMP.unpack(data[-8:])[0]) * 1000)

    cl.RxStats.video_frame = video_frame

    class Participant(cl.Receiver):
        """Joins once, publishes the looped stream + Opus, receives the other side."""

        async def publish(self) -> None:
            pc = RTCPeerConnection(cl.config())
            self.pcs.append(pc)
            pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
            t = pc.addTransceiver(looped_track(frames), direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video").codecs
            t.setCodecPreferences([c for c in caps if c.mimeType == "video/VP8"])
            await pc.setLocalDescription(await pc.createOffer())
            await self.send({"type": "offer", "pc": "publish", "sdp": pc.localDescription.sdp, "id": "pub"})
            answer = await self.expect("answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    if args.direct:
        await direct_client(args, frames, latencies)
        return
    base = f"http://127.0.0.1:{args.port}"
    people: list[Participant] = []
    async with ClientSession() as http:
        async def post(path: str, body: dict) -> dict:
            async with http.post(base + path, json=body) as r:
                r.raise_for_status()
                return await r.json()

        for call in range(args.calls):
            room = await post("/bench/room", {})
            for role in ("customer", "agent"):
                name = f"{role}-{args.index}-{call}"
                token = (await post("/bench/token", {"room_id": room["room_id"], "role": role, "name": name}))["token"]
                p = Participant(http, base, room["ws_path"], token, name, capture={})
                await p.connect()
                await p.publish()
                people.append(p)
        await measure(args, [p.stats for p in people], latencies, [e for p in people for e in p.errors])
        await asyncio.gather(*(p.close() for p in people), return_exceptions=True)


async def measure(args: argparse.Namespace, receivers: list, latencies: list[float], errors: list[str]) -> None:
    """READY once every receiver has frames, wait for GO, then report the window as one JSON line."""
    ok = await cl_wait(lambda: all(s.frames > 10 for s in receivers), 60)
    print("READY" if ok else "NOT-READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)   # GO
    before = [(s.frames, s.gaps) for s in receivers]
    packets0 = [s.packets for s in receivers]
    audio0 = [s.audio_frames for s in receivers]
    latencies.clear()
    c0, t0 = time.process_time(), time.monotonic()
    await asyncio.sleep(args.seconds)
    span = time.monotonic() - t0
    report = {
        "fps": [(s.frames - f) / span for s, (f, _) in zip(receivers, before, strict=True)],
        "gaps": [s.gaps - g for s, (_, g) in zip(receivers, before, strict=True)],
        "rx_packets_s": (sum(s.packets for s in receivers) - sum(packets0)) / span,   # RTP at the subscribe sockets
        "leg_packets_s": [round((s.packets - p) / span) for s, p in zip(receivers, packets0, strict=True)],
        "leg_audio_fps": [round((s.audio_frames - a) / span) for s, a in zip(receivers, audio0, strict=True)],
        "latency_ms": list(latencies),
        "client_cpu_percent": 100 * (time.process_time() - c0) / span,
        "errors": errors,
    }
    print(json.dumps(report), flush=True)


async def direct_client(args: argparse.Namespace, frames: list[bytes], latencies: list[float]) -> None:
    """The baseline for server-added latency: the same calls (both directions:
    the looped stream + Opus out, counted frames in) between two aiortc peers
    in this process, connected to each other directly instead of through the
    server, so the same client work and jitter buffers are in the figure."""
    import _clients as cl
    from aiortc import RTCPeerConnection, RTCRtpSender
    from aiortc.mediastreams import AudioStreamTrack

    pcs: list = []
    receivers = []
    for direction in range(2 * args.calls):
        tx, rx = RTCPeerConnection(cl.config()), RTCPeerConnection(cl.config())
        pcs += [tx, rx]
        stats = cl.RxStats(f"direct-{args.index}-{direction}", False, {})
        receivers.append(stats)
        rx.on("track", lambda track, stats=stats: cl.count_frames(track, stats))
        tx.addTransceiver(AudioStreamTrack(), direction="sendonly")
        t = tx.addTransceiver(looped_track(frames), direction="sendonly")
        t.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/VP8"])
        await tx.setLocalDescription(await tx.createOffer())
        await rx.setRemoteDescription(tx.localDescription)
        await rx.setLocalDescription(await rx.createAnswer())
        await tx.setRemoteDescription(rx.localDescription)
    await measure(args, receivers, latencies, [])
    await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)


async def cl_wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


# --- the orchestrating process ----------------------------------------------------------------

def forwarded_packets(port: int, name: str = "vidzzle_forwarded_packets_total") -> float:
    """The server's own total (``/metrics``: it keeps counting packets of closed consumers)."""
    import re
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    match = re.search(rf"^{name} (\S+)$", text, flags=re.M)
    if match is None:
        raise RuntimeError(f"no {name} in /metrics")
    return float(match.group(1))


def run_clients(calls: int, clients: int, seconds: float, port: int | None, window) -> list[dict]:
    """Start the client processes (through the server on ``port``, or direct
    pairs without it), wait until all receive, then measure one window:
    ``window()`` is called with GO and returns when the clients' window is
    over. Returns the clients' reports."""
    shares = [calls // clients + (1 if i < calls % clients else 0) for i in range(clients)]
    target = ["--port", str(port)] if port is not None else ["--direct"]
    procs = [subprocess.Popen([sys.executable, __file__, "--client", "--calls", str(n), "--index", str(i),
                               "--seconds", str(seconds), *target],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for i, n in enumerate(shares) if n]
    try:
        ready = [p.stdout.readline().strip() for p in procs]
        if any(r != "READY" for r in ready):
            raise RuntimeError(f"clients not ready: {ready}")
        time.sleep(2)                                    # past the last key frame requests

        def go() -> None:
            for p in procs:
                p.stdin.write("GO\n")
                p.stdin.flush()

        window(go)
        return [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def receive_figures(reports: list[dict]) -> dict:
    fps = [f for r in reports for f in r["fps"]]
    lat = [ms for r in reports for ms in r["latency_ms"]]
    return {
        "fps_min": round(min(fps), 1), "fps_median": round(statistics.median(fps), 1),
        "gaps": sum(g for r in reports for g in r["gaps"]),
        "received_pkt_s": round(sum(r.get("rx_packets_s", 0) for r in reports)),
        "latency_ms_p50": pct(lat, 0.5), "latency_ms_p95": pct(lat, 0.95),
        "client_cpu_percent": round(sum(r["client_cpu_percent"] for r in reports), 1),
        "errors": [e for r in reports for e in r["errors"]][:5],
        "legs": [(p, a) for r in reports for p, a in zip(r["leg_packets_s"], r["leg_audio_fps"], strict=True)],
    }


def direct_step(calls: int, clients: int, seconds: float) -> dict:
    """The same calls peer to peer, no server: the baseline latency."""
    try:
        reports = run_clients(calls, clients, seconds, None, lambda go: (go(), time.sleep(seconds)))
    except RuntimeError as exc:
        return {"calls": calls, "error": str(exc)}
    return {"calls": calls, **receive_figures(reports)}


def step(server: Server, calls: int, clients: int, seconds: float, idle_rss: float) -> dict:
    pid = server.proc.pid
    measured: dict[str, float] = {}

    def window(go) -> None:
        packets0 = forwarded_packets(server.port)
        rtx0 = forwarded_packets(server.port, "vidzzle_retransmitted_packets_total")
        per_process = {p: proc_cpu_s(p) for p in process_tree(pid)}
        c0, t0 = tree_cpu_s(pid), time.monotonic()
        go()
        time.sleep(seconds)                              # the clients measure the same window
        span = time.monotonic() - t0
        measured["cpu"] = 100 * (tree_cpu_s(pid) - c0) / span      # with its media workers
        measured["busiest"] = max(100 * (proc_cpu_s(p) - c) / span for p, c in per_process.items()
                                  if Path(f"/proc/{p}").exists())
        measured["packets"] = (forwarded_packets(server.port) - packets0) / span
        measured["retransmits"] = (forwarded_packets(server.port, "vidzzle_retransmitted_packets_total") - rtx0) / span
        measured["rss"] = tree_rss_mb(pid)

    try:
        reports = run_clients(calls, clients, seconds, server.port, window)
    except RuntimeError as exc:
        return {"calls": calls, "error": str(exc)}
    cpu, packets, rss, busiest = measured["cpu"], measured["packets"], measured["rss"], measured["busiest"]
    return {
        "calls": calls, "server_cpu_percent": round(cpu, 1), "cpu_percent_per_call": round(cpu / calls, 2),
        "busiest_process_cpu_percent": round(busiest, 1),
        "retransmitted_pkt_s": round(measured["retransmits"]),
        # one process fills its core first: where that happens if the load grows evenly
        # (a projection, for a machine with a core per process and clients elsewhere)
        "projected_calls_at_full_core": round(calls * 100 / busiest) if busiest > 0 else None,
        "forwarded_pkt_s": round(packets), "us_per_forwarded_packet": round(cpu / 100 / packets * 1e6, 1) if packets else None,
        "rss_mb": round(rss, 1), "rss_mb_per_call": round((rss - idle_rss) / calls, 2),
        **receive_figures(reports),
    }


def table(results: list[dict]) -> str:
    head = ("| core | calls | server CPU % | % per call | busiest process % | calls at its full core (proj.) | fwd pkt/s "
            "| us/pkt | RSS MB | MB/call | fps min/median | gaps | latency p50/p95 ms | server-added p50/p95 ms "
            "| clients CPU % |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cell(r: dict, key: str, fmt: str = "{}") -> str:
        return fmt.format(r[key]) if r.get(key) is not None else "-"

    rows = [f"| {r['core']} | {r['calls']} | {cell(r, 'server_cpu_percent')} | {cell(r, 'cpu_percent_per_call')} "
            f"| {cell(r, 'busiest_process_cpu_percent')} | {cell(r, 'projected_calls_at_full_core')} "
            f"| {cell(r, 'forwarded_pkt_s')} | {cell(r, 'us_per_forwarded_packet')} | {cell(r, 'rss_mb')} "
            f"| {cell(r, 'rss_mb_per_call')} | {r['fps_min']}/{r['fps_median']} | {r['gaps']} "
            f"| {r['latency_ms_p50']:.1f}/{r['latency_ms_p95']:.1f} "
            f"| {cell(r, 'added_ms_p50', '{:.1f}')}/{cell(r, 'added_ms_p95', '{:.1f}')} | {r['client_cpu_percent']} |"
            if "error" not in r else f"| {r['core']} | {r['calls']} | {r['error']} |" for r in results]
    return "\n".join([head, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1,5,10,20", help="numbers of concurrent calls, one step each")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per step")
    parser.add_argument("--clients", type=int, default=1, help="client processes sharing the calls")
    parser.add_argument("--cores", default="compiled", help="forwarding cores to compare, e.g. compiled,python")
    parser.add_argument("--workers", default="0",
                        help="media worker counts to compare (setting server.media_workers), e.g. 1,2")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--direct", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(client(args))
        return 0
    results = []
    for calls in (int(x) for x in args.steps.split(",")):
        clients = max(1, min(args.clients, calls))
        baseline = {"core": DIRECT, **direct_step(calls, clients, args.seconds)}
        results.append(baseline)
        print(table([baseline]).splitlines()[-1], flush=True)
        for core, workers in ((c, int(w)) for c in args.cores.split(",") for w in args.workers.split(",")):
            server = Server("forward", core=core, workers=workers)
            server.start()
            try:
                time.sleep(1)
                idle_rss = tree_rss_mb(server.proc.pid)
                label = f"{core}, {workers} workers" if workers else core
                result = {"core": label, "workers": workers, **step(server, calls, clients, args.seconds, idle_rss)}
                result["idle_rss_mb"] = round(idle_rss, 1)
                if "error" not in result and "error" not in baseline:
                    for q in ("p50", "p95"):
                        result[f"added_ms_{q}"] = round(result[f"latency_ms_{q}"] - baseline[f"latency_ms_{q}"], 2)
                results.append(result)
                print(table([result]).splitlines()[-1], flush=True)
            finally:
                server.stop()
    out = {"machine": machine(), "pid": os.getpid(), "seconds": args.seconds, "clients": args.clients,
           "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    print(table(results))
    return 0 if all("error" not in r and r["gaps"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
