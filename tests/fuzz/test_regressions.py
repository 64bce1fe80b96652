"""Inputs bench/fuzz.py found, replayed through the surface that found them."""

from __future__ import annotations

from fuzz import surfaces
from vidzzle_media.sfu import aiortc_glue

# an RTCP-looking datagram (80 01 ...) with a STUN cookie and an empty
# PRIORITY attribute: aioice parsed it as STUN and raised struct.error out of
# the socket callback (a traceback in the log per datagram, from anyone)
RTCP_SHAPED_STUN = bytes.fromhex(
    "800100482112a442dcc58b65197eeedfdd485c59000600096371455a3a70656572000000002400006e7f1eff802a0008000000000000"
    "123400250000000800140d1d75415a653a98db492addc44ebfc861c9b6b580280004a3278eed")


async def test_an_rtcp_shaped_datagram_that_breaks_aioices_stun_parser_is_dropped():
    feed, close = await surfaces._stun()
    try:
        before = aiortc_glue.DROPPED["malformed_stun"]
        feed(RTCP_SHAPED_STUN)               # raised struct.error before the fix
        assert aiortc_glue.DROPPED["malformed_stun"] == before + 1
    finally:
        await close()


async def test_junk_before_ice_connects_does_not_pile_up_in_aioices_queue():
    feed, close = await surfaces._stun()
    try:
        for i in range(5000):                # DTLS-shaped: aioice queues it for its (not yet running) reader
            feed(bytes([22, 0xFE, 0xFD]) + i.to_bytes(4, "big") * 8)
        conn = feed.__closure__ and next(c.cell_contents for c in feed.__closure__
                                         if type(c.cell_contents).__name__ == "StunProtocol").receiver
        assert conn._queue.qsize() == aiortc_glue.MAX_ICE_BACKLOG      # grew to 5000 before the bound
        assert aiortc_glue.DROPPED["ice_backlog"] >= 5000 - aiortc_glue.MAX_ICE_BACKLOG
    finally:
        await close()


def test_an_rtx_codec_whose_apt_has_no_value_is_not_a_crash():
    from vidzzle_media.sfu.participant import parse_offer, shape_offer

    offer = (surfaces.CORPUS / "sdp" / "seed-000").read_text().replace("a=fmtp:98 apt=97", "a=fmtp:98 apt")
    desc = parse_offer(offer)
    shape_offer(desc, "VP8")                 # raised TypeError (int(None)) before the fix
    video = next(m for m in desc.media if m.kind == "video")
    assert 98 not in video.fmt and 97 in video.fmt     # an RTX that repairs nothing is dropped


def test_a_pdf_with_a_broken_page_count_is_unreadable_not_an_exception(tmp_path):
    from vidzzle_media.services.branding import pdf_probe

    found = surfaces.CORPUS.parent / "regressions" / "pdf-invalid-page-count.pdf"
    result = pdf_probe.probe(str(found), str(tmp_path / "thumb.png"), 50)     # raised RuntimeError before
    assert result == {"error": "unreadable", "detail": "RuntimeError"}


def test_ice_and_webrtc_libraries_log_warnings_only_at_the_default_level():
    import logging

    from vidzzle_media.logs import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        assert not logging.getLogger("aioice.ice").isEnabledFor(logging.INFO)
        assert not logging.getLogger("aiortc.rtcpeerconnection").isEnabledFor(logging.INFO)
        assert logging.getLogger("vidzzle_media.sfu").isEnabledFor(logging.INFO)
        configure_logging("DEBUG")
        assert logging.getLogger("aioice.ice").isEnabledFor(logging.DEBUG)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name in ("aioice", "aiortc"):
            logging.getLogger(name).setLevel(logging.NOTSET)


async def test_an_offer_whose_first_bundled_m_line_has_an_unknown_kind_is_refused():
    import asyncio

    import pytest

    from vidzzle_media.sfu import DefaultIce, IcePolicy
    from vidzzle_media.sfu.participant import NegotiationError, Participant

    ice = IcePolicy(DefaultIce())
    found = (surfaces.CORPUS.parent / "regressions" / "offer-unknown-media-kind.sdp").read_text()
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda loop, context: errors.append(context))
    participant = Participant("fuzz", ice)
    try:
        with pytest.raises(NegotiationError, match="unknown media kind"):
            await participant.publish(found)     # was accepted; aiortc's connect task then failed unseen
    finally:
        await participant.close()
        await asyncio.sleep(0.1)
        loop.set_exception_handler(None)
        aiortc_glue.set_host_addresses(None)
    assert errors == []


async def test_a_candidate_port_above_65535_is_refused_not_fatal_for_the_socket():
    import pytest
    from aiortc import sdp as aiortc_sdp

    from vidzzle_media.sfu.participant import NegotiationError, check_candidate, parse_offer, shape_offer

    found = (surfaces.CORPUS.parent / "regressions" / "offer-candidate-port-overflow.sdp").read_text()
    with pytest.raises(NegotiationError, match="port 72211"):
        shape_offer(parse_offer(found), "VP8")   # was accepted; aioice's sendto then raised OverflowError
    with pytest.raises(NegotiationError, match="out of range"):      # trickled the same way
        check_candidate(aiortc_sdp.candidate_from_sdp("1 1 udp 2130706431 127.0.0.1 72211 typ host"))
