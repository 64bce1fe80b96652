"""What surrounds the forwarding core in a call, for tests that drive the core
without browsers: SRTP sessions with known keys, a loopback UDP sink, the
DTLS-shaped object ``SendPath`` reads (aiortc's transport, pair and nominated
dict as plain attributes over a real socket and a real pylibsrtp session), a
publisher that ignores feedback, and a Consumer's answer to verdicts.

Shared by the differential test (tests/sfu/test_core_differential.py) and
the fuzz surfaces (tests/fuzz/surfaces.py)."""

from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pylibsrtp

from vidzzle_media.sfu import aiortc_glue
from vidzzle_media.sfu.leg import Verdict

KEY = bytes(range(30))


def srtp_session(key: bytes = KEY, inbound: bool = False) -> pylibsrtp.Session:
    """A session for any ssrc: outbound (protect) or inbound (unprotect)."""
    kind = pylibsrtp.Policy.SSRC_ANY_INBOUND if inbound else pylibsrtp.Policy.SSRC_ANY_OUTBOUND
    return pylibsrtp.Session(policy=pylibsrtp.Policy(
        key=key, ssrc_type=kind, srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80))


def udp_sink() -> socket.socket:
    """A non-blocking UDP socket on 127.0.0.1 with room for bursts."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    return sink


def drain(sink: socket.socket) -> list[bytes]:
    """Every datagram waiting on ``sink``."""
    got = []
    while True:
        try:
            got.append(sink.recv(4096))
        except BlockingIOError:
            return got


def connected_dtls(transport: Any, remote_addr: Any, session: pylibsrtp.Session | None = None) -> Any:
    """What SendPath reads of a connected aiortc DTLS transport: its state, its
    SRTP session and ICE's nominated pair (sending on ``transport``)."""
    pair = SimpleNamespace(protocol=SimpleNamespace(transport=transport), remote_addr=remote_addr)
    return SimpleNamespace(_state=aiortc_glue._DTLS_CONNECTED, _tx_srtp=session or srtp_session(),
                           transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})))


class SilentUpstream:
    """A publisher that takes key-frame requests and NACKs and does nothing."""

    ssrc_free = True

    def request_keyframe(self, ssrc: Any) -> None:
        pass

    def request_nack(self, ssrc: Any, seqs: Any) -> None:
        pass


class VerdictOwner:
    """What the Consumer does with a leg's verdicts; ``record`` keeps them."""

    def __init__(self, record: bool = True) -> None:
        self.verdicts: list[int] = []
        self.record = record
        self.leg: Any = None

    def on_verdict(self, verdict: int) -> None:
        if self.record:
            self.verdicts.append(int(verdict))
        if verdict == Verdict.CONGESTED:
            self.leg.waiting_keyframe = True
