"""Real aiortc peers through the SFU on loopback."""

import asyncio

import pytest

from vidzzle_media.sfu import Room, aiortc_glue, core
from vidzzle_media.sfu.codec import ABS_SEND_TIME_URI, MID_URI

from .peers import Client, join, wait_for


@pytest.fixture(params=[core.MediaCore.COMPILED, core.MediaCore.PYTHON])
def media_core(request):
    """Both forwarding cores carry a real call (the reference must not rot)."""
    core.select(request.param)
    yield request.param
    core.select(core.MediaCore.COMPILED)


async def test_two_participants_exchange_audio_and_video(ice, media_core):
    room = Room(ice)
    a, b = Client(width=320, height=180), Client(width=640, height=360)
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: len(a.received) == 2 and len(b.received) == 2)
        await wait_for(lambda: all(r.frames > 10 for r in a.received + b.received), timeout=10)
        assert a.video_received()[0].sizes == {(640, 360)}
        assert b.video_received()[0].sizes == {(320, 180)}
        # one msid stream per publisher (lip sync groups)
        msids = {line.split()[0] for line in a.subscribe_pc.remoteDescription.sdp.split("\r\n")
                 if line.startswith("a=msid:")}
        assert msids == {f"a=msid:{pb.id}"}
        states = []
        pa.on("statechange", states.append)
        await wait_for(lambda: pa.state == "connected")
        # no decoder or encoder on the forwarding path, not even an idle decoder thread
        receivers = [producer.app_data["receiver"] for p in (pa, pb) for producer in p.producers.values()]
        await wait_for(lambda: not any(aiortc_glue.receiver_decoder_running(r) for r in receivers))
        # nor an RTCP loop with nothing to report: the idle one waits to be stopped
        assert all(aiortc_glue.receiver_rtcp_idle(r) and r._RTCRtpReceiver__rtcp_started.is_set()
                   and not r._RTCRtpReceiver__rtcp_task.done() for r in receivers)
        assert all(aiortc_glue.receiver_decoder_running(t.receiver)            # the clients' own do decode
                   for t in a.subscribe_pc.getTransceivers() if t.receiver.track.kind == "video")
        for p in (pa, pb):
            for producer in p.producers.values():
                assert aiortc_glue.receiver_decoder_idle(producer.app_data["receiver"])
                assert producer.packets > 0
            for consumer in p.consumers.values():
                assert aiortc_glue.sender_encoder(consumer.transceiver.sender) is None
                assert consumer.packets_sent > 0
                # mid and abs-send-time never reach a receiving leg (the
                # publisher's abs-send-time would make receivers send REMB)
                stripped = {i for i, uri in consumer.producer.codec.header_extensions.items()
                            if uri in (MID_URI, ABS_SEND_TIME_URI)}
                assert stripped and not stripped & set(consumer.leg.ext_map)
        await room.close()
        assert pa.state == "closed"
    finally:
        await room.close()
        await a.close()
        await b.close()


async def test_late_joiner_first_frame_within_500ms(ice):
    room = Room(ice)
    a, b, late = Client(), Client(), Client(video=False, audio=False)
    try:
        await join(room, a, "a")
        await join(room, b, "b")
        await wait_for(lambda: all(r.frames > 5 for r in a.video_received() + b.video_received()))
        await asyncio.sleep(1.0)  # no key frame in flight: the join must ask for one
        started = asyncio.get_running_loop().time()
        import time
        t0 = time.monotonic()
        await join(room, late, "late")
        await wait_for(lambda: len(late.video_received()) == 2
                       and all(r.first_at for r in late.video_received()), timeout=5)
        first = max(r.first_at for r in late.video_received()) - t0
        print(f"late joiner first frame after {first * 1000:.0f} ms")
        assert first < 0.5, f"late joiner waited {first * 1000:.0f} ms"
        del started
    finally:
        await room.close()
        for c in (a, b, late):
            await c.close()


async def test_receiver_rtcp_is_handled_in_the_socket_callback(ice, media_core):
    """A receiver's PLI and NACK reach the publisher and the history from the
    receive hook itself: aiortc's RTCP path (its tasks) never sees them."""
    from aiortc.rtp import RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket, RtcpRtpfbPacket

    room = Room(ice)
    a, b = Client(), Client(audio=False, video=False)
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: b.video_received() and b.video_received()[0].frames > 3)
        aiortc_path = []
        for dtls in aiortc_glue.dtls_transports(pb._subscribe_pc):   # test-only peek at the server PC
            original = dtls._handle_rtcp_data

            async def counted(data, _orig=original):
                aiortc_path.append(data)
                await _orig(data)

            dtls._handle_rtcp_data = counted
        producer = next(p for p in pa.producers.values() if p.kind == "video")
        consumer = next(c for c in pb.consumers.values() if c.kind == "video")
        await asyncio.sleep(0.5)
        before, answered = producer.keyframes, consumer.retransmits
        receiver = next(t.receiver for t in b.subscribe_pc.getTransceivers() if t.kind == "video")
        media_ssrc = receiver.getSynchronizationSources()[0].source
        pli = RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1234, media_ssrc=media_ssrc)
        await aiortc_glue.send_rtcp(receiver.transport, bytes(pli))
        await wait_for(lambda: producer.keyframes > before, timeout=1.0)
        lost = [(consumer.leg.max_seq - k) & 0xFFFF for k in (5, 3)]
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1234, media_ssrc=media_ssrc, lost=lost)
        await aiortc_glue.send_rtcp(receiver.transport, bytes(nack))
        await wait_for(lambda: consumer.retransmits >= answered + 2, timeout=1.0)
        assert aiortc_path == []

        # the receiver's reports give the round-trip time; a NACK repeated
        # within it is not answered again, one after it is
        await wait_for(lambda: consumer.rtt is not None, timeout=5.0)
        assert 0 <= consumer.rtt < 0.5
        consumer.rtt = 0.3      # as over a long path: wide enough to see both sides of it
        seq = (consumer.leg.max_seq - 2) & 0xFFFF
        nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=1234, media_ssrc=media_ssrc, lost=[seq])
        answered, repeated = consumer.retransmits, consumer.nacks_repeated
        await aiortc_glue.send_rtcp(receiver.transport, bytes(nack) + bytes(nack))
        await wait_for(lambda: consumer.nacks_repeated == repeated + 1, timeout=1.0)
        assert consumer.retransmits == answered + 1
        await asyncio.sleep(0.35)
        await aiortc_glue.send_rtcp(receiver.transport, bytes(nack))
        await wait_for(lambda: consumer.retransmits == answered + 2, timeout=1.0)
        assert consumer.nacks_repeated == repeated + 1 and aiortc_path == []
    finally:
        await room.close()
        await a.close()
        await b.close()


async def test_differing_header_extensions_still_decode(ice):
    """Publisher uses other extension ids; the receiver negotiates none at all."""
    import re

    room = Room(ice)
    a, b = Client(), Client(audio=True, video=False)
    try:
        pa = room.add_participant("a")
        pb = room.add_participant("b")

        def strip_ext(sdp: str) -> str:
            return "\r\n".join(line for line in sdp.split("\r\n") if not line.startswith("a=extmap:"))

        for client, part, munge in ((a, pa, None), (b, pb, strip_ext)):
            def on_offer(sdp, tracks, client=client, part=part, munge=munge):
                async def answer():
                    ans = await client.answer_subscribe(sdp)
                    part.subscribe_answer(munge(ans) if munge else ans)
                asyncio.ensure_future(answer())
            part.on("subscribe_offer", on_offer)
        offer = await a.offer()
        offer = re.sub(r"a=extmap:(\d+)", lambda m: f"a=extmap:{int(m.group(1)) + 6}", offer)
        await a.set_publish_answer(await pa.publish(offer))
        await b.set_publish_answer(await pb.publish(await b.offer()))
        await wait_for(lambda: len(b.received) == 2 and all(r.frames > 10 for r in b.received))
        assert b.video_received()[0].sizes == {(320, 180)}
    finally:
        await room.close()
        await a.close()
        await b.close()


async def test_publisher_stopping_a_track_closes_its_producer(ice):
    room = Room(ice)
    a, b = Client(), Client(audio=False, video=False)
    try:
        pa = await join(room, a, "a")
        pb = await join(room, b, "b")
        await wait_for(lambda: len(pb.consumers) == 2)
        video = next(t for t in a.publish_pc.getTransceivers() if t.kind == "video")
        video.direction = "inactive"
        await a.set_publish_answer(await pa.publish(await a.offer()))
        assert [p.kind for p in pa.producers.values()] == ["audio"]
        assert [c.kind for c in pb.consumers.values()] == ["audio"]
    finally:
        await room.close()
        await a.close()
        await b.close()


async def test_publisher_gets_receiver_reports(ice):
    """The forward path bypasses aiortc's receivers; the server still reports."""
    room = Room(ice)
    a = Client()
    try:
        await join(room, a, "a")

        async def remote_inbound():
            out = {}
            for t in a.publish_pc.getTransceivers():
                for s in (await t.sender.getStats()).values():
                    if s.type == "remote-inbound-rtp":
                        out[t.kind] = s
            return out

        for _ in range(60):
            got = await remote_inbound()
            if len(got) == 2 and all(s.packetsReceived > 0 for s in got.values()):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no receiver reports reached the publisher: {got}")
        assert all(s.packetsLost == 0 for s in got.values())
    finally:
        await room.close()
        await a.close()
