"""Loss between publisher and server, and between server and receiver, is repaired."""

import random

from vidzzle_media.sfu import Room, aiortc_glue

from .peers import Client, join, wait_for


def rtp_dropper(rate: float, seed: int):
    rnd = random.Random(seed)

    def drop(data: bytes) -> bool:
        # SRTP media only (not STUN/DTLS/RTCP): first byte 128-191, PT not 192-223
        return 127 < data[0] < 192 and not 192 <= data[1] <= 223 and rnd.random() < rate

    return drop


async def test_loss_is_recovered_upstream_and_downstream(ice):
    room = Room(ice)
    a, b = Client(width=640, height=360), Client(audio=False, video=False)
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: b.video_received() and b.video_received()[0].frames > 3)
        aiortc_glue.install_datagram_filter(pa._publish_pc, rtp_dropper(0.05, 1))  # publisher -> server
        aiortc_glue.install_datagram_filter(b.subscribe_pc, rtp_dropper(0.05, 2))  # server -> receiver
        video = b.video_received()[0]
        start = video.frames
        producer = next(p for p in pa.producers.values() if p.kind == "video")
        consumer = next(c for c in pb.consumers.values() if c.kind == "video")
        await wait_for(lambda: video.frames - start >= 60, timeout=10)  # ~2 s of 30 fps
        assert producer.nacked > 0 and producer.recovered > 0, "upstream loss not NACKed/recovered"
        assert consumer.retransmits > 0, "receiver NACKs not answered from history"
        # frames keep arriving in order (counters painted into the picture)
        seen = video.counters[-8:]
        assert seen == sorted(seen)
    finally:
        await room.close()
        await a.close()
        await b.close()
