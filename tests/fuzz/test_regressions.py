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
