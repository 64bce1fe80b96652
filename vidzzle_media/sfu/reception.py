"""ReceptionStats: what the server reports back to a publisher (RTCP RR).

aiortc's receiver builds its RRs from packets it routes itself; packet-level
forwarding bypasses it, so without this the publishing browser would get no
receiver reports at all (no loss feedback for its bandwidth estimate). The
per-packet counters live in the track's Intake (:mod:`.intake`); this keeps
what changes once per report.
"""

from __future__ import annotations

import time
from typing import Protocol

from aiortc.rtp import RtcpReceiverInfo


class Counts(Protocol):
    """RFC 3550 A.3 counters of one incoming ssrc (an Intake has them)."""

    base_seq: int | None
    max_seq: int
    cycles: int
    received: int


class ReceptionStats:
    """One incoming ssrc's report state (jitter not estimated: 0)."""

    def __init__(self) -> None:
        self._expected_prior = 0
        self._received_prior = 0
        self._lsr = 0
        self._lsr_at: float | None = None

    def sender_report(self, ntp: int) -> None:
        """Remember the publisher's SR (for LSR/DLSR, so it can compute RTT)."""
        self._lsr = (ntp >> 16) & 0xFFFFFFFF
        self._lsr_at = time.monotonic()

    def report(self, ssrc: int, counts: Counts) -> RtcpReceiverInfo | None:
        if counts.base_seq is None:
            return None
        extended = counts.cycles + counts.max_seq
        expected = extended - counts.base_seq + 1
        lost = max(0, expected - counts.received)
        expected_interval = expected - self._expected_prior
        received_interval = counts.received - self._received_prior
        self._expected_prior, self._received_prior = expected, counts.received
        lost_interval = expected_interval - received_interval
        fraction = 0 if expected_interval <= 0 or lost_interval <= 0 else (lost_interval << 8) // expected_interval
        dlsr = 0 if self._lsr_at is None else int((time.monotonic() - self._lsr_at) * 65536)
        return RtcpReceiverInfo(ssrc=ssrc, fraction_lost=min(fraction, 255), packets_lost=min(lost, 0x7FFFFF),
                                highest_sequence=extended & 0xFFFFFFFF, jitter=0,
                                lsr=self._lsr, dlsr=dlsr & 0xFFFFFFFF)
