"""SFU fan-out benchmark: one publisher to N receivers through the real server.

    python bench/fanout.py --subscribers N --seconds S --mode forward|relay --json FILE [--loss PCT]
    python bench/fanout.py --summarize FILE...      # markdown table of earlier runs

The SERVER runs in its own process (``bench/_server.py``: ``create_app`` with
TLS off, ICE host 127.0.0.1, no STUN; ``relay`` swaps in the naive MediaRelay
room of ``bench/_relay.py``). THIS process runs the clients
(``bench/_clients.py``): one publisher (640x360@30 VP8 + Opus, synthetic,
frame counter painted as black/white blocks) and N receivers, which count
frames and gaps at RTP/jitter-buffer level; two of them (one if N = 1) decode
VP8 and read the counter for latency. After warm-up a late joiner measures
the time to its first decoded frame and leaves; then the steady window of S
seconds is measured: server CPU (utime+stime of /proc/<pid>/stat, all
threads; 100 = one core), server RSS, the server's forwarded-packet counters
and every receiver's frames. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- /proc ---------------------------------------------------------------------------

def proc_cpu_s(pid: int) -> float:
    """utime + stime of every thread of ``pid`` in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (the server and its media workers)."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return [pid, *children]


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid`` and its children now alive (a child that ended is not counted)."""
    return sum(proc_cpu_s(p) for p in process_tree(pid) if Path(f"/proc/{p}").exists())


def tree_rss_mb(pid: int) -> float:
    return sum(proc_rss_mb(p) for p in process_tree(pid) if Path(f"/proc/{p}").exists())


def machine() -> dict:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "")
    except (OSError, subprocess.SubprocessError):
        pass
    import aioice
    import aiortc
    import av

    return {"cpu_model": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "aiortc": aiortc.__version__, "aioice": aioice.__version__, "pyav": av.__version__,
            "platform": platform.platform()}


def code_version() -> dict:
    """Which SFU/signalling code was measured (the tree is shared and changes)."""
    import hashlib

    root = HERE.parent
    h = hashlib.sha256()
    for f in sorted((root / "vidzzle_media").glob("sfu/**/*.py")) + sorted((root / "vidzzle_media").glob("signalling/*.py")):
        h.update(f.read_bytes())
    out = {"sfu_signalling_sha256": h.hexdigest()[:16]}
    try:
        git = ["git", "-C", str(root)]
        out["git_head"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                         timeout=5).stdout.strip()
        out["sfu_signalling_dirty"] = bool(subprocess.run(
            git + ["status", "--porcelain", "vidzzle_media/sfu", "vidzzle_media/signalling"],
            capture_output=True, text=True, timeout=5).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 1)


# --- server process ------------------------------------------------------------------------

class Server:
    def __init__(self, mode: str, dgram_max_size: int = 0, trace: bool = False, core: str = "compiled",
                 workers: int = 0) -> None:
        self.mode = mode
        self.core = core
        self.workers = workers
        self.trace = trace
        self.dgram_max_size = dgram_max_size
        self.dir = tempfile.mkdtemp(prefix="vidzzle-bench-")
        self.log = open(Path(self.dir) / "server.log", "w+")
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_server.py"), "--mode", self.mode,
                                      "--data-dir", str(Path(self.dir) / "data"),
                                      "--dgram-max-size", str(self.dgram_max_size), "--core", self.core,
                                      "--media-workers", str(self.workers)],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=self.dir,
                                     env={**os.environ, "VIDZZLE_BENCH_LOSSTRACE": "1"} if self.trace else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                return
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"server did not start: {self.tail()}")

    def tail(self, n: int = 2000) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-n:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the run ---------------------------------------------------------------------------

async def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval)
    return True


async def run(args: argparse.Namespace, server: Server) -> dict:
    import _clients as cl
    from aiohttp import ClientSession

    from vidzzle_media.sfu import aiortc_glue

    if args.trace_loss:
        import _losstrace

        _losstrace.install()

    aiortc_glue.set_host_addresses(["127.0.0.1"])  # aioice skips 127.0.0.1 otherwise
    loss = args.loss / 100.0
    base = f"http://127.0.0.1:{server.port}"
    pid = server.proc.pid
    notes: list[str] = []
    result: dict = {"mode": args.mode, "core": args.core, "subscribers": args.subscribers, "seconds": args.seconds,
                    "loss_percent": args.loss, "warmup_s": args.warmup, "baseline_s": args.baseline,
                    "server_dgram_max_size": args.server_dgram_max_size or None}
    async with ClientSession() as http:
        async def post(path: str, body: dict) -> dict:
            async with http.post(base + path, json=body) as r:
                r.raise_for_status()
                return await r.json()

        async def stats() -> dict:
            async with http.get(base + "/bench/stats") as r:
                return await r.json()

        room = await post("/bench/room", {})
        ws_path = room["ws_path"]

        async def token(role: str, name: str) -> str:
            return (await post("/bench/token", {"room_id": room["room_id"], "role": role, "name": name}))["token"]

        async def cpu_over(seconds: float) -> float:
            c0, t0 = proc_cpu_s(pid), time.monotonic()
            await asyncio.sleep(seconds)
            return 100 * (proc_cpu_s(pid) - c0) / (time.monotonic() - t0)

        await asyncio.sleep(1.0)
        cpu_idle = await cpu_over(args.baseline)  # the app alone, no participant
        rss_idle = proc_rss_mb(pid)
        publisher = cl.Publisher(http, base, ws_path, await token("agent", "publisher"), "publisher",
                                 loss=loss, seed=1)
        await publisher.connect()
        await publisher.publish()
        receivers: list[cl.Receiver] = []
        peers: list[cl.Peer] = [publisher]
        try:
            await asyncio.sleep(1.0)
            cpu_publisher = await cpu_over(args.baseline)  # receiving the publisher, nobody to forward to
            rss_publisher = proc_rss_mb(pid)
            n = args.subscribers
            decoded = {0} if n == 1 else {0, n - 1}
            for i in range(n):
                r = cl.Receiver(http, base, ws_path, await token("invitee", f"r{i}"), f"r{i}",
                                decode=i in decoded, capture=publisher.video.capture, loss=loss, seed=100 + i)
                receivers.append(r)
                peers.append(r)
            for k in range(0, n, 5):  # join in small batches, like people arriving
                await asyncio.gather(*(r.connect() for r in receivers[k:k + 5]))
            t_join = time.monotonic()
            ok = await wait_until(lambda: all(r.stats.frames > 0 for r in receivers), args.join_timeout)
            result["all_receivers_started_s"] = round(time.monotonic() - t_join, 2) if ok else None
            if not ok:
                notes.append(f"{sum(r.stats.frames == 0 for r in receivers)} receivers had no frame "
                             f"{args.join_timeout:.0f} s after joining")
            await asyncio.sleep(args.warmup)

            # late joiner: time to its first DECODED frame, then it leaves again
            late = cl.Receiver(http, base, ws_path, await token("invitee", "late"), "late", decode=True,
                               capture=publisher.video.capture, loss=loss, seed=99)
            peers.append(late)
            await late.connect()
            got = await wait_until(lambda: late.stats.first_frame_at is not None, 15.0, 0.005)
            result["late_join_first_frame_ms"] = (round((late.stats.first_frame_at - late.joined_at) * 1000, 1)
                                                  if got else None)
            if not got:
                notes.append("late joiner decoded no frame within 15 s")
            await late.close()
            peers.remove(late)
            await asyncio.sleep(1.0)

            # steady window
            def snap() -> dict:
                return {"t": time.monotonic(), "cpu": proc_cpu_s(pid), "self_cpu": sum(os.times()[:2]),
                        "rx": [(r.stats.frames, r.stats.gaps, r.stats.packets) for r in receivers]}

            s0 = await stats()
            a = snap()
            rss_peak = proc_rss_mb(pid)
            end = a["t"] + args.seconds
            while time.monotonic() < end:
                await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
                rss_peak = max(rss_peak, proc_rss_mb(pid))
            b = snap()
            s1 = await stats()
            rss_end = proc_rss_mb(pid)
            dt = b["t"] - a["t"]
            cpu = b["cpu"] - a["cpu"]
            fwd = s1["forwarded_packets"] - s0["forwarded_packets"]
            fps = [(f1 - f0) / dt for (f0, _, _), (f1, _, _) in zip(a["rx"], b["rx"], strict=True)]
            gaps = [g1 - g0 for (_, g0, _), (_, g1, _) in zip(a["rx"], b["rx"], strict=True)]
            rx_packets = sum(p1 - p0 for (_, _, p0), (_, _, p1) in zip(a["rx"], b["rx"], strict=True))
            lat = [ms for r in receivers if r.stats.decode for (t, ms) in r.stats.latencies if a["t"] <= t <= b["t"]]
            dec = [r.stats for r in receivers if r.stats.decode]
            result.update({
                "forwarded_packets_per_s": round(fwd / dt, 1),
                "received_packets_per_s": round(rx_packets / dt, 1),
                "server_cpu_percent": round(100 * cpu / dt, 1),
                "server_us_per_packet": round(cpu / fwd * 1e6, 1) if fwd else None,
                "server_cpu_idle_percent": round(cpu_idle, 1),
                "server_cpu_publisher_only_percent": round(cpu_publisher, 1),
                "server_marginal_us_per_packet": (round((cpu - cpu_publisher / 100 * dt) / fwd * 1e6, 1)
                                                  if fwd else None),
                "receiver_fps_min": round(min(fps), 2) if fps else None,
                "receiver_fps_mean": round(statistics.mean(fps), 2) if fps else None,
                "frame_gaps": sum(gaps),
                "frame_gaps_total_run": sum(r.stats.gaps for r in receivers),
                "latency_ms_p50": pct(lat, 0.5),
                "latency_ms_p95": pct(lat, 0.95),
                "latency_samples": len(lat),
                "decoded_receivers": len(dec),
                "decode_errors_after_first_keyframe": sum(s.decode_errors_after_key for s in dec),
                "decode_errors_total": sum(s.decode_errors for s in dec),
                "counter_jumps_decoded": sum(s.counter_jumps for s in dec),
                "server_rss_mb": round(rss_end, 1),
                "server_rss_peak_mb": round(rss_peak, 1),
                "server_rss_idle_mb": round(rss_idle, 1),
                "server_rss_publisher_only_mb": round(rss_publisher, 1),
                "server_rss_per_receiver_mb": round((rss_end - rss_publisher) / n, 2),
                "client_cpu_percent": round(100 * (b["self_cpu"] - a["self_cpu"]) / dt, 1),
                "window_s": round(dt, 2),
                "publisher_frames_sent": publisher.video.count,
                "server_counters_end": s1,
            })
            if loss:
                result["loss"] = {"dropped_publisher_to_server": publisher.dropped[0],
                                  "dropped_at_receivers": sum(r.stats.dropped for r in receivers)}
            if args.trace_loss:
                async with http.get(base + "/bench/trace") as r:
                    server_trace = await r.json()
            errors = [f"{p.name}: {e}" for p in peers for e in p.errors]
            if errors:
                notes.append("signalling errors: " + "; ".join(errors[:5]))
        finally:
            for k in range(0, len(peers), 10):
                await asyncio.gather(*(p.close() for p in peers[k:k + 10]), return_exceptions=True)
    result["notes"] = notes
    if args.trace_loss:
        Path(args.trace_loss).write_text(json.dumps({**_losstrace.report(), "server": server_trace}) + "\n")
    return result


COLUMNS = [("mode", "mode"), ("core", "core"), ("subscribers", "N"), ("loss_percent", "loss %"),
           ("forwarded_packets_per_s", "fwd pkt/s"), ("server_cpu_percent", "server CPU %"),
           ("server_us_per_packet", "us/pkt"),
           ("server_marginal_us_per_packet", "marginal us/pkt"), ("receiver_fps_min", "fps min"), ("frame_gaps", "gaps"),
           ("latency_ms_p50", "lat p50 ms"), ("latency_ms_p95", "lat p95 ms"),
           ("late_join_first_frame_ms", "late join ms"), ("server_rss_mb", "RSS MB"),
           ("decode_errors_after_first_keyframe", "dec err"), ("client_cpu_percent", "client CPU %")]


def table(results: list[dict]) -> str:
    head = "| " + " | ".join(h for _, h in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"
    rows = ["| " + " | ".join("—" if r.get(k) is None else str(r.get(k)) for k, _ in COLUMNS) + " |"
            for r in results]
    return "\n".join([head, sep, *rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0, help="steady measurement window")
    parser.add_argument("--mode", choices=("forward", "relay"), default="forward")
    parser.add_argument("--core", choices=("compiled", "python"), default="compiled",
                        help="the server's forwarding core (setting media.core)")
    parser.add_argument("--json", metavar="FILE", help="write the result here")
    parser.add_argument("--loss", type=float, default=0.0, metavar="PCT",
                        help="drop PCT %% of RTP packets publisher->server and at every receiver")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds after all receivers started (default min(2, S/3))")
    parser.add_argument("--baseline", type=float, default=None,
                        help="seconds to measure server CPU idle and with the publisher only (default min(3, S/3))")
    parser.add_argument("--join-timeout", type=float, default=20.0)
    parser.add_argument("--server-dgram-max-size", type=int, default=0, metavar="BYTES",
                        help="experiment: the server's asyncio datagram read size (stock 256 KiB; not the product)")
    parser.add_argument("--trace-loss", metavar="FILE",
                        help="write what happened to every video packet a receiver's jitter buffer gave up on "
                             "(bench/_losstrace.py)")
    parser.add_argument("--summarize", nargs="+", metavar="FILE", help="print a table of earlier JSON results")
    args = parser.parse_args()
    if args.summarize:
        print(table([json.loads(Path(f).read_text()) for f in args.summarize]))
        return 0
    if args.warmup is None:
        args.warmup = min(2.0, args.seconds / 3)
    if args.baseline is None:
        args.baseline = min(3.0, args.seconds / 3)
    started = datetime.now(timezone.utc)
    load_start = list(os.getloadavg())
    server = Server(args.mode, args.server_dgram_max_size, trace=bool(args.trace_loss), core=args.core)
    server.start()
    try:
        result = asyncio.run(run(args, server))
    except BaseException:
        print(server.tail(), file=sys.stderr)
        raise
    finally:
        server_log = server.tail(4000) if server.proc else ""
        server.stop()
    result["date"] = started.isoformat(timespec="seconds")
    result["command"] = " ".join(["python", "bench/fanout.py", *sys.argv[1:]])
    result["machine"] = machine()
    result["code"] = code_version()
    result["machine"]["loadavg_start"] = load_start  # other processes' load (1, 5, 15 min)
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    warnings = [ln for ln in server_log.splitlines() if "ERROR" in ln or "Traceback" in ln]
    if warnings:
        result["notes"].append("server log: " + " | ".join(warnings[-3:])[:600])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(table([result]))
    for note in result["notes"]:
        print("note:", note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
