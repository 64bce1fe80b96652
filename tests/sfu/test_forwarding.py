"""Real aiortc peers through the SFU on loopback."""

import asyncio

from vidzzle_media.sfu import Room, aiortc_glue

from .peers import Client, join, wait_for


async def test_two_participants_exchange_audio_and_video(ice):
    room = Room(ice)
    a, b = Client(width=320, height=180), Client(width=640, height=360)
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: len(a.received) == 2 and len(b.received) == 2)
        await wait_for(lambda: all(r.frames > 10 for r in a.received + b.received), timeout=10)
        assert a.video_received()[0].sizes == {(640, 360)}
        assert b.video_received()[0].sizes == {(320, 180)}
        # no decoder or encoder on the forwarding path
        for p in (pa, pb):
            for producer in p.producers.values():
                assert aiortc_glue.receiver_decoder_idle(producer.app_data["receiver"])
                assert producer.packets > 0
            for consumer in p.consumers.values():
                assert aiortc_glue.sender_encoder(consumer.transceiver.sender) is None
                assert consumer.packets_sent > 0
    finally:
        await room.close()
        await a.close()
        await b.close()
