"""Bench-only loss tracer for ``bench/fanout.py --trace-loss FILE``.

Explains frame gaps under ``--loss``: for every video packet a receiver's
jitter buffer gives up on (aiortc ``JitterBuffer.smart_remove`` when a packet
lands 512 sequence numbers past a hole, or the MAX_MISORDER reset), it
reports what happened to that packet at THAT receiver: the loss shim dropped
the original, the NACKs aiortc's ``NackGenerator`` sent that contained it
(it NACKs the whole missing set only when it detects a NEW loss, and forgets
packets more than 128 behind the newest), RTX packets for that leg the shim
dropped soon after each NACK, and whether the same hole happened at other
receivers (then it was lost publisher -> server and not recovered).

Client process only; patches aiortc classes (never the server's code).
"""

from __future__ import annotations

import struct
import time
from collections import defaultdict, deque

import _clients
from aiortc import rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer

T0 = time.monotonic()
#: per video media ssrc of a receiving leg
rx_log: dict[int, deque] = defaultdict(lambda: deque(maxlen=4000))  # (t, seq, rtx, rtp ts)
nack_log: dict[int, list] = defaultdict(list)  # (t, [seq...])
drop_log: dict[int, deque] = defaultdict(lambda: deque(maxlen=4000))  # by header ssrc: (t, seq)
rtx_map: dict[int, int] = {}  # rtx ssrc -> media ssrc
holes: list[dict] = []  # jitter buffer give-ups
rx_names: dict[int, str] = {}  # media ssrc -> receiver name (via the shim's stats)


def now() -> float:
    return round(time.monotonic(), 4)  # CLOCK_MONOTONIC: the same in the server process


def install() -> None:
    original_handle = rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet

    async def handle(self, packet, arrival_time_ms):
        if getattr(self, "_RTCRtpReceiver__kind", None) == "video":
            rmap = self._RTCRtpReceiver__rtx_ssrc
            rtx_map.update(rmap)
            if packet.ssrc in rmap and len(packet.payload) >= 2:
                rx_log[rmap[packet.ssrc]].append((now(), struct.unpack("!H", packet.payload[:2])[0], True, None))
            else:
                rx_log[packet.ssrc].append((now(), packet.sequence_number, False, packet.timestamp))
        return await original_handle(self, packet, arrival_time_ms)

    rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet = handle

    original_nack = rtcrtpreceiver.RTCRtpReceiver._send_rtcp_nack

    async def send_nack(self, media_ssrc, lost):
        nack_log[media_ssrc].append((now(), list(lost)))
        return await original_nack(self, media_ssrc, lost)

    rtcrtpreceiver.RTCRtpReceiver._send_rtcp_nack = send_nack

    original_add = JitterBuffer.add

    def add(self, packet):
        if self._is_video:
            self._trace_ssrc = packet.ssrc
            self._trace_seq = packet.sequence_number
        return original_add(self, packet)

    JitterBuffer.add = add

    original_smart_remove = JitterBuffer.smart_remove

    def smart_remove(self, count):
        before = list(self._packets)
        origin = self._origin
        full = original_smart_remove(self, count)
        removed = (self._origin - origin) & 0xFFFF if not full else self._capacity
        missing = [(origin + i) & 0xFFFF for i in range(removed) if before[(origin + i) % self._capacity] is None]
        if self._is_video:
            holes.append({"t": now(), "ssrc": getattr(self, "_trace_ssrc", None), "why": "capacity",
                          "trigger_seq": getattr(self, "_trace_seq", None), "removed": removed,
                          "missing": missing})
        return full

    JitterBuffer.smart_remove = smart_remove

    original_remove = JitterBuffer.remove

    def remove(self, count):
        if self._is_video and count == self._capacity:
            holes.append({"t": now(), "ssrc": getattr(self, "_trace_ssrc", None), "why": "misorder reset",
                          "trigger_seq": getattr(self, "_trace_seq", None), "origin_before": self._origin,
                          "removed": count, "missing": []})
        return original_remove(self, count)

    JitterBuffer.remove = remove

    def on_drop(stats, data: bytes) -> None:
        ssrc, seq = struct.unpack("!I", data[8:12])[0], struct.unpack("!H", data[2:4])[0]
        drop_log[ssrc].append((now(), seq))
        rx_names.setdefault(ssrc, stats.name)

    _clients.DROP_HOOK = on_drop


def _explain(ssrc: int, seq: int, t_give_up: float) -> dict:
    rtx_ssrcs = [r for r, m in rtx_map.items() if m == ssrc]
    orig_drops = [t for t, s in drop_log.get(ssrc, ()) if s == seq]
    nacks = [t for t, lost in nack_log.get(ssrc, ()) if seq in lost]
    rtx_drops = []
    for r in rtx_ssrcs:
        for t, _ in drop_log.get(r, ()):
            if any(0 <= t - tn <= 0.15 for tn in nacks):
                rtx_drops.append(t)
    arrivals = [(t, rtx) for t, s, rtx, _ in rx_log.get(ssrc, ()) if s == seq]
    # newest sequence number seen at each NACK / after the last one (NackGenerator forgets at 128 behind)
    seqs_after = [(t, s) for t, s, rtx, _ in rx_log.get(ssrc, ()) if not rtx and t <= t_give_up]
    forgotten_at = next((t for t, s in seqs_after if ((s - seq) & 0xFFFF) < 0x8000 and ((s - seq) & 0xFFFF) > 128),
                        None)
    later_losses = [t for t, lost in nack_log.get(ssrc, ()) if nacks and t > nacks[-1]]
    return {"seq": seq, "receiver": rx_names.get(ssrc), "original_dropped_at": orig_drops,
            "nacks_sent_at": nacks, "rtx_dropped_within_150ms_of_a_nack": rtx_drops,
            "arrived": arrivals, "nack_generator_forgot_at": forgotten_at,
            "nacks_after_last_nack_of_seq": later_losses[:3], "gave_up_at": t_give_up}


def report() -> dict:
    out = []
    for h in holes:
        ssrc = h["ssrc"]
        item = {**h, "receiver": rx_names.get(ssrc),
                "packets": [_explain(ssrc, s, h["t"]) for s in h["missing"][:8]]}
        if h["why"] == "misorder reset":
            item["trigger"] = _explain(ssrc, h["trigger_seq"], h["t"])
        out.append(item)
    return {"t_note": "times are time.monotonic() (system-wide, same in both processes)", "jitter_buffer_give_ups": out,
            "receivers": {str(k): v for k, v in rx_names.items()},
            "nacks_sent": sum(len(v) for v in nack_log.values())}


# --- server side (bench/_server.py with VIDZZLE_BENCH_LOSSTRACE=1) ---------------------------

server_log: dict[str, deque] = defaultdict(lambda: deque(maxlen=20000))


def install_server() -> None:
    """Log the SFU's NACK handling per leg (by the leg's video ssrc) and upstream recovery.

    The per-packet intake is patched in its Python reference, so the server
    runs the reference core while tracing."""
    from vidzzle_media.sfu import consumer as consumer_mod
    from vidzzle_media.sfu import core
    from vidzzle_media.sfu import intake as intake_mod
    from vidzzle_media.sfu import producer as producer_mod

    original_on_nack = consumer_mod.Consumer._on_nack

    def on_nack(self, seq):
        hit = self.leg.rebuild(seq) is not None
        server_log[str(self._ssrc)].append((now(), "nack", seq, "history" if hit else "upstream",
                                            (seq - self.leg.seq_offset) & 0xFFFF))
        return original_on_nack(self, seq)

    consumer_mod.Consumer._on_nack = on_nack

    core.select(core.MediaCore.PYTHON)      # before any call starts
    original_receive = intake_mod.Intake.receive

    def receive(self, view, now_s):
        if view.payload_type == self.rtx_payload_type and self.codec and len(view.payload) >= 2:
            server_log["producer"].append((now(), "rtx", struct.unpack("!H", bytes(view.payload[:2]))[0]))
        return original_receive(self, view, now_s)

    intake_mod.Intake.receive = receive

    original_request_nack = producer_mod.Producer.request_nack

    def request_nack(self, seqs):
        server_log["producer"].append((now(), "translated", list(seqs)))
        return original_request_nack(self, seqs)

    producer_mod.Producer.request_nack = request_nack

    original_own_nack = producer_mod.Producer._on_nack

    def own_nack(self, seqs):
        if self.kind == "video":
            server_log["producer"].append((now(), "own_nack", list(seqs)))
        return original_own_nack(self, seqs)

    producer_mod.Producer._on_nack = own_nack


def server_report() -> dict:
    return {k: list(v) for k, v in server_log.items()}
