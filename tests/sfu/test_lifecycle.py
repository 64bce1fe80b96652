"""Leaving and closing return consumers, tasks, peer connections and UDP ports."""

import asyncio
import gc

import psutil
from aiortc import RTCPeerConnection

from vidzzle_media.sfu import Room

from .peers import Client, join, wait_for


def udp_ports() -> int:
    return len(psutil.Process().net_connections(kind="udp"))


def live_pcs() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, RTCPeerConnection))


async def settle(baseline: dict, counts) -> None:
    for _ in range(100):
        if counts() == baseline:
            return
        await asyncio.sleep(0.05)
    assert counts() == baseline


def counts() -> dict:
    return {"tasks": len(asyncio.all_tasks()), "udp": udp_ports(), "pcs": live_pcs()}


async def test_leave_frees_consumers_and_close_returns_to_baseline(ice):
    baseline = counts()
    room = Room(ice)
    a, b, c = Client(), Client(), Client(audio=False)
    pa = await join(room, a, "a")
    pb = await join(room, b, "b")
    pc = await join(room, c, "c")
    await wait_for(lambda: all(len(x.received) == 3 for x in (a, b)) and len(c.received) == 4)
    await wait_for(lambda: all(r.frames > 2 for r in a.received + b.received + c.received))
    assert len(pa.consumers) == 3 and len(pc.consumers) == 4
    b_producers = list(pb.producers.values())

    await room.remove_participant(pb.id)
    assert pb.id not in room.participants
    assert all(p.closed and not p.consumers for p in b_producers)
    assert len(pa.consumers) == 1 and len(pc.consumers) == 2
    assert not pb.consumers and not pb.producers
    # the others renegotiated: B's m-lines are inactive now
    await wait_for(lambda: "a=inactive" in a.subscribe_pc.remoteDescription.sdp)

    await room.close()
    assert room.closed and not room.participants
    for x in (a, b, c):
        await x.close()
    pa = pb = pc = b_producers = room = a = b = c = x = None  # drop every reference before settle()
    await settle(baseline, counts)


async def test_freed_m_lines_are_reused_by_the_next_publisher(ice):
    room = Room(ice)
    a = Client(audio=False, video=False)
    b, c = Client(width=320, height=180), Client(width=640, height=360)
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: a.video_received() and a.video_received()[0].frames > 3)
        mlines = len(a.subscribe_pc.getTransceivers())
        await room.remove_participant(pb.id)
        await wait_for(lambda: "a=inactive" in (a.subscribe_pc.remoteDescription.sdp or ""))
        await join(room, c, "c")
        await wait_for(lambda: (640, 360) in a.video_received()[0].sizes, timeout=5)
        assert len(a.subscribe_pc.getTransceivers()) == mlines  # the offer did not grow
        assert len(pa.consumers) == 2 and all(x.packets_sent for x in pa.consumers.values())
    finally:
        await room.close()
        for x in (a, b, c):
            await x.close()
