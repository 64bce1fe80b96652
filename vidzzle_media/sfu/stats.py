"""Process-wide forwarding totals for operations (/metrics).

Live consumers keep their own counters (they need them for SRs anyway); a
closing consumer adds its counts to ``RETIRED``, so the totals never go
backwards and nothing is counted on the per-packet path twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .consumer import Consumer
    from .room import Room


@dataclass
class ForwardingTotals:
    packets: int = 0
    """RTP packets forwarded to receivers, first transmissions."""
    bytes: int = 0
    """RTP payload bytes of those packets."""
    retransmits: int = 0
    """Packets sent again in answer to a receiver's NACK."""

    def add(self, consumer: Consumer) -> None:
        self.packets += consumer.packets_sent
        self.bytes += consumer.octets_sent
        self.retransmits += consumer.retransmits


RETIRED = ForwardingTotals()
"""Counts of every consumer closed so far in this process."""


def forwarding_totals(rooms: Iterable["Room"]) -> ForwardingTotals:
    """Totals since the process started: retired consumers plus live ones."""
    totals = ForwardingTotals(RETIRED.packets, RETIRED.bytes, RETIRED.retransmits)
    for room in rooms:
        for participant in room.participants.values():
            for consumer in participant.consumers.values():
                if not consumer.closed:
                    totals.add(consumer)
    return totals
