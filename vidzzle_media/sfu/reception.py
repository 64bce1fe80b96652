"""ReceptionStats: what the server reports back to a publisher (RTCP RR).

aiortc's receiver builds its RRs from packets it routes itself; packet-level
forwarding bypasses it, so without this the publishing browser would get no
receiver reports at all (no loss feedback for its bandwidth estimate).
"""

from __future__ import annotations

import time

from aiortc.rtp import RtcpReceiverInfo

from .rtp import seq_newer


class ReceptionStats:
    """RFC 3550 A.3 counters for one incoming ssrc (jitter not estimated: 0)."""

    def __init__(self) -> None:
        self.base_seq: int | None = None
        self.max_seq = 0
        self.cycles = 0
        self.received = 0
        self._expected_prior = 0
        self._received_prior = 0
        self._lsr = 0
        self._lsr_at: float | None = None

    def add(self, seq: int) -> None:
        self.received += 1
        if self.base_seq is None:
            self.base_seq = self.max_seq = seq
            return
        if seq_newer(seq, self.max_seq):
            if seq < self.max_seq:
                self.cycles += 1 << 16
            self.max_seq = seq

    def sender_report(self, ntp: int) -> None:
        """Remember the publisher's SR (for LSR/DLSR, so it can compute RTT)."""
        self._lsr = (ntp >> 16) & 0xFFFFFFFF
        self._lsr_at = time.monotonic()

    def report(self, ssrc: int) -> RtcpReceiverInfo | None:
        if self.base_seq is None:
            return None
        extended = self.cycles + self.max_seq
        expected = extended - self.base_seq + 1
        lost = max(0, expected - self.received)
        expected_interval = expected - self._expected_prior
        received_interval = self.received - self._received_prior
        self._expected_prior, self._received_prior = expected, self.received
        lost_interval = expected_interval - received_interval
        fraction = 0 if expected_interval <= 0 or lost_interval <= 0 else (lost_interval << 8) // expected_interval
        dlsr = 0 if self._lsr_at is None else int((time.monotonic() - self._lsr_at) * 65536)
        return RtcpReceiverInfo(ssrc=ssrc, fraction_lost=min(fraction, 255), packets_lost=min(lost, 0x7FFFFF),
                                highest_sequence=extended & 0xFFFFFFFF, jitter=0,
                                lsr=self._lsr, dlsr=dlsr & 0xFFFFFFFF)
