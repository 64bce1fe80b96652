"""ICE settings: host addresses, port range, announced addresses, source filter."""

import re

import pytest

from vidzzle_media.sfu import DefaultIce, IcePolicy, Room, aiortc_glue

from .peers import Client, join, wait_for


def candidates(sdp: str) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for m in re.finditer(r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host", sdp)]


async def test_port_range_and_host_addresses():
    ice = IcePolicy(DefaultIce(udp_port_min=42000, udp_port_max=42009))
    room = Room(ice)
    a, b = Client(), Client()
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: all(r.frames > 3 for r in a.received + b.received) and len(a.received) == 2)
        server_sdps = [a.publish_pc.remoteDescription.sdp, a.subscribe_pc.remoteDescription.sdp,
                       b.publish_pc.remoteDescription.sdp, b.subscribe_pc.remoteDescription.sdp]
        for sdp in server_sdps:
            cands = candidates(sdp)
            assert cands, sdp
            assert all(host == "127.0.0.1" and 42000 <= port <= 42009 for host, port in cands), cands
        # clients (same process, no range set) are not affected
        assert not all(42000 <= p <= 42009 for _, p in candidates(a.publish_pc.localDescription.sdp))
        del pa, pb
    finally:
        await room.close()
        await a.close()
        await b.close()
        aiortc_glue.set_host_addresses(None)


def test_announced_addresses_are_offered_next_to_host_candidates():
    """Agents on the dealer's LAN use the host address, customers outside the announced one."""
    policy = IcePolicy(DefaultIce(host_addresses=["198.19.2.10", "2001:db8::10"], announced_addresses=["203.0.113.7"]))
    sdp = ("v=0\r\na=candidate:abc 1 udp 2130706431 198.19.2.10 5000 typ host\r\n"
           "a=candidate:def 1 udp 2130706430 2001:db8::10 5002 typ host generation 0\r\na=end-of-candidates\r\n")
    assert policy.announce(sdp) == (
        "v=0\r\na=candidate:abc 1 udp 2130706431 198.19.2.10 5000 typ host\r\n"
        "a=candidate:aabc 1 udp 2130706430 203.0.113.7 5000 typ host\r\n"
        "a=candidate:def 1 udp 2130706430 2001:db8::10 5002 typ host generation 0\r\na=end-of-candidates\r\n")
    aiortc_glue.set_host_addresses(None)


def test_several_announced_addresses_pair_with_host_addresses_in_order():
    policy = IcePolicy(DefaultIce(host_addresses=["198.19.2.10", "198.19.3.10"],
                                  announced_addresses=["203.0.113.7", "203.0.113.8"]))
    sdp = ("a=candidate:1 1 udp 100 198.19.3.10 6000 typ host\r\n"
           "a=candidate:2 1 udp 99 198.19.9.9 6001 typ host\r\n")
    assert policy.announce(sdp) == ("a=candidate:1 1 udp 100 198.19.3.10 6000 typ host\r\n"
                                    "a=candidate:a1 1 udp 99 203.0.113.8 6000 typ host\r\n"
                                    "a=candidate:2 1 udp 99 198.19.9.9 6001 typ host\r\n")
    aiortc_glue.set_host_addresses(None)


def test_loopback_hosts_only_accept_loopback_sources():
    policy = IcePolicy(DefaultIce())
    assert policy.allowed_source("127.0.0.1") and policy.allowed_source("::1")
    assert not policy.allowed_source("192.168.1.2") and not policy.allowed_source("garbage")
    assert IcePolicy(DefaultIce(host_addresses=[])).allowed_source("192.168.1.2")
    aiortc_glue.set_host_addresses(None)


def test_configuration_never_defaults_to_google_stun():
    config = IcePolicy(DefaultIce()).configuration()
    assert config.iceServers == [] and config.bundlePolicy.value == "max-bundle"
    config = IcePolicy(DefaultIce(stun_servers=["stun:stun.example:3478"], turn_servers=["turn:t.example:3478"],
                                  turn_username="u", turn_password="p")).configuration()
    assert [s.urls for s in config.iceServers] == [["stun:stun.example:3478"], ["turn:t.example:3478"]]
    assert config.iceServers[1].username == "u"
    with pytest.raises(ValueError):
        IcePolicy(DefaultIce(udp_port_min=5000, udp_port_max=0))
    aiortc_glue.set_host_addresses(None)


async def test_h264_room_forwards_h264(ice):
    room = Room(ice, video_codec="H264")
    a, b = Client(video_codec="video/H264"), Client(video_codec="video/H264", audio=False, video=False)
    try:
        pa = await join(room, a, "a")
        await join(room, b, "b")
        await wait_for(lambda: b.video_received() and b.video_received()[0].frames > 5)
        producer = next(p for p in pa.producers.values() if p.kind == "video")
        assert producer.codec.name == "H264" and producer.keyframes >= 1
        assert b.video_received()[0].sizes == {(320, 180)}
    finally:
        await room.close()
        await a.close()
        await b.close()
