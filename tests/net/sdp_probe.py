"""Inside a fresh sandbox: give it a LAN interface, a docker0 bridge and a
veth link, let the SFU make an offer with the default host addresses
(ice.host_addresses empty) and print the offer's candidate addresses as JSON.
Run by tests/sfu/test_candidates.py through lab.sandboxed."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

from lab import check_sandbox, run  # noqa: E402

LAN = "198.18.7.10"


def build() -> None:
    check_sandbox()
    run("ip", "link", "set", "lo", "up")
    run("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer")   # no "dummy" module everywhere
    run("ip", "addr", "add", f"{LAN}/24", "dev", "eth0")
    run("ip", "link", "add", "docker0", "type", "bridge")
    run("ip", "addr", "add", "198.19.17.1/24", "dev", "docker0")
    run("ip", "link", "add", "vethab12", "type", "veth", "peer", "name", "vethcd34")
    run("ip", "addr", "add", "198.19.18.1/24", "dev", "vethab12")
    for name in ("eth0", "eth0peer", "docker0", "vethab12", "vethcd34"):
        run("ip", "link", "set", name, "up")


async def offer_addresses() -> list[str]:
    from aiortc import RTCPeerConnection

    from vidzzle_media.sfu import DefaultIce, IcePolicy
    policy = IcePolicy(DefaultIce(host_addresses=[]))
    pc = RTCPeerConnection(policy.configuration())
    pc.addTransceiver("audio", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    lines = [line for line in pc.localDescription.sdp.splitlines() if line.startswith("a=candidate:")]
    await pc.close()
    return [line.split()[4] for line in lines]


if __name__ == "__main__":
    build()
    print(json.dumps(asyncio.run(offer_addresses())))
