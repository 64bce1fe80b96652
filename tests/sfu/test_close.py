"""Closing a PeerConnection always ends: a stop of a call or of the server
must not wait forever on aiortc."""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCPeerConnection

from vidzzle_media.sfu import aiortc_glue

from .peers import CONFIG


class _StuckClose(RTCPeerConnection):
    """aiortc issue 283: a close that never completes."""

    async def close(self) -> None:
        await asyncio.Event().wait()


async def test_a_close_that_hangs_is_given_up(caplog):
    pc = _StuckClose(CONFIG())
    caplog.set_level(logging.WARNING, logger="vidzzle_media.sfu.aiortc_glue")
    await asyncio.wait_for(aiortc_glue.close_peer(pc, timeout=0.2), 2)
    assert "did not close within" in caplog.text
    await RTCPeerConnection.close(pc)
