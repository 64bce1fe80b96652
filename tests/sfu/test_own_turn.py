"""Forwarding when the SFU's only working path is its own TURN allocation.

The server then sends through aioice's TurnTransport instead of a plain
UDP socket (it has no write-buffer size and no socket of its own): every
forwarded packet failed on that until CI's B-coturn lab topology caught it.
Here real coturn on loopback makes that path the only one: it listens and
relays on 127.0.0.3, the SFU's host address is 127.0.0.2 and coturn
refuses to relay to it, and both clients are relay-only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from vidzzle_media.sfu import DefaultIce, IcePolicy, Room, aiortc_glue

from .peers import Client, join, wait_for

TURN_HOST, SFU_HOST = "127.0.0.3", "127.0.0.2"

pytestmark = pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn is not installed")


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def answers_stun(host: str, port: int) -> bool:
    """A STUN binding request to ``host:port`` is answered within 0.1 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.1)
        s.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12), (host, port))
        try:
            return len(s.recv(512)) >= 20
        except OSError:
            return False


@pytest.fixture
def coturn(tmp_path):
    port = free_udp_port(TURN_HOST)
    proc = subprocess.Popen(
        ["turnserver", "-n", f"--listening-ip={TURN_HOST}", f"--relay-ip={TURN_HOST}", f"--listening-port={port}",
         "--lt-cred-mech", "--user=sfu:secret", "--realm=vidzzle.test", "--fingerprint", "--allow-loopback-peers",
         f"--denied-peer-ip={SFU_HOST}", "--no-tcp", "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout",
         "--simple-log", f"--pidfile={tmp_path / 'coturn.pid'}", "--min-port=49152", "--max-port=49999"],
        stdout=(tmp_path / "coturn.log").open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while not answers_stun(TURN_HOST, port):
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "coturn.log").read_text()[-2000:]
    yield f"turn:{TURN_HOST}:{port}?transport=udp"
    proc.terminate()
    proc.wait(10)


def relay_only(url: str) -> RTCConfiguration:
    return RTCConfiguration(iceServers=[RTCIceServer(urls=[url], username="sfu", credential="secret")],
                            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE, iceTransportPolicy=RTCIceTransportPolicy.RELAY)


def relayed_client(url: str, **kw) -> Client:
    return Client(config=relay_only(url), **kw)


async def test_forwarding_through_the_sfus_own_turn_allocation(coturn):
    policy = IcePolicy(DefaultIce(host_addresses=[SFU_HOST], turn_servers=[coturn], turn_username="sfu",
                                  turn_password="secret"))
    room = Room(policy)
    a, b = relayed_client(coturn), relayed_client(coturn, video=False, audio=False)
    try:
        await join(room, a, "a")
        await join(room, b, "b")
        await wait_for(lambda: any(r.frames >= 10 for r in b.video_received()), timeout=20)
        # the path was what this test is about: the server's nominated pair is its relay candidate
        kinds = [dtls.transport._connection._nominated[1].local_candidate.type
                 for pc in room_pcs(room) for dtls in aiortc_glue.dtls_transports(pc)]
        assert kinds == ["relay", "relay"]      # a publishes, b subscribes
    finally:
        await room.close()
        await a.close()
        await b.close()
        aiortc_glue.set_host_addresses(None)


def room_pcs(room: Room) -> list[RTCPeerConnection]:
    """The server's peer connections (test-only peek)."""
    pcs = []
    for participant in room.participants.values():
        pcs += [pc for pc in (participant._publish_pc, participant._subscribe_pc) if pc is not None]
    return pcs
