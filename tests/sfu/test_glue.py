"""Fails loudly when an aiortc/aioice internal the glue hooks has moved."""

from importlib.metadata import version

from vidzzle_media.sfu import Room, aiortc_glue

from .peers import Client, join, wait_for


def test_pinned_versions():
    assert version("aiortc") == aiortc_glue.AIORTC_VERSION, "re-measure aiortc_glue on upgrade"
    assert version("aioice") == aiortc_glue.AIOICE_VERSION, "re-measure aiortc_glue on upgrade"


def test_class_level_hooks_exist():
    assert aiortc_glue.check_hooks() == []


async def test_instance_level_hooks_exist(ice):
    room = Room(ice)
    a = Client()
    try:
        p = await join(room, a, "a")
        await wait_for(lambda: all(x.packets for x in p.producers.values()))
        pc = p._publish_pc  # test-only peek at the server PC
        for dtls in aiortc_glue.dtls_transports(pc):
            assert dtls._rx_srtp is not None and dtls._tx_srtp is not None
            conn = dtls.transport._connection
            assert conn._protocols and 1 in conn._nominated
            assert all(getattr(proto, "_vidzzle_hooked", False) for proto in conn._protocols)
        for t in pc.getTransceivers():
            assert isinstance(t.sender._ssrc, int) and isinstance(t.sender._rtx_ssrc, int)
            assert isinstance(t.sender._stream_id, str)
            assert t.sender._RTCRtpSender__rtp_started is not None
            assert t.receiver._RTCRtpReceiver__jitter_buffer is not None
    finally:
        await room.close()
        await a.close()
