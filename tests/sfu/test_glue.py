"""Fails loudly when an aiortc/aioice internal the glue hooks has moved."""

from importlib.metadata import version

from vidzzle_media.sfu import Room, aiortc_glue

from .peers import Client, join, wait_for


def test_pinned_versions():
    assert version("aiortc") == aiortc_glue.AIORTC_VERSION, "re-measure aiortc_glue on upgrade"
    assert version("aioice") == aiortc_glue.AIOICE_VERSION, "re-measure aiortc_glue on upgrade"
    assert version("pylibsrtp") == aiortc_glue.PYLIBSRTP_VERSION, "re-check the direct libsrtp calls on upgrade"


def test_fast_srtp_path_available():
    """SendPath and the receive hook call libsrtp directly; without it they
    silently fall back to pylibsrtp's slower generic calls."""
    assert aiortc_glue._SRTP_FAST


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
            assert dtls._state is aiortc_glue._DTLS_CONNECTED
            assert hasattr(dtls._rtp_router, "route_rtcp")
            for session in (dtls._rx_srtp, dtls._tx_srtp):
                assert session._srtp[0] is not None and len(session._buffer) == 1500
            conn = dtls.transport._connection
            assert conn._protocols and 1 in conn._nominated
            assert conn._vidzzle_bounded and conn._queue.qsize() < aiortc_glue.MAX_ICE_BACKLOG
            assert all(getattr(proto, "_vidzzle_hooked", False) for proto in conn._protocols)
            assert all(proto.transport.max_size == aiortc_glue.DATAGRAM_READ_SIZE for proto in conn._protocols)
            assert all(proto.transport._sock is not None and not proto.transport._buffer for proto in conn._protocols)
        for t in pc.getTransceivers():
            assert isinstance(t.sender._ssrc, int) and isinstance(t.sender._rtx_ssrc, int)
            assert isinstance(t.sender._stream_id, str)
            assert t.sender._RTCRtpSender__rtp_started is not None
            assert t.receiver._RTCRtpReceiver__jitter_buffer is not None
            assert t.receiver._RTCRtpReceiver__rtcp_started.is_set()
            assert t.receiver._RTCRtpReceiver__rtcp_exited is not None
    finally:
        await room.close()
        await a.close()
