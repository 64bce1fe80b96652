"""Which forwarding core runs the per-packet path: compiled (C) or reference (Python).

Both implement the same pieces: a ``Leg`` per receiving leg and
``fanout(view, legs)`` (:mod:`.leg`), the parsed packet ``View``
(:class:`.rtp.RtpView`), a track's ``Intake`` and a participant's
``Demux`` (:mod:`.intake`) and an ICE socket's receive hook
(``aiortc_glue._make_receiver``). The choice is process wide and made once by the
composition root (setting ``media.core``) before any call starts; legs
made before a switch keep their implementation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from . import aiortc_glue
from . import intake as reference_intake
from . import leg as reference
from .rtp import RtpView

log = logging.getLogger(__name__)

try:
    from . import _fastpath  # type: ignore[attr-defined]
except ImportError:  # not built (e.g. a source checkout without a compiler)
    _fastpath = None


class MediaCore(StrEnum):
    COMPILED = "compiled"
    PYTHON = "python"


def compiled_available() -> bool:
    """Whether the C core is built and can call libsrtp directly."""
    return _fastpath is not None and aiortc_glue.srtp_function_address("srtp_protect") is not None


#: the leg class of the core in use (see :class:`.leg.Leg` for the interface)
Leg: Any = reference.Leg
#: the parsed incoming packet of the core in use (see :class:`.rtp.RtpView`)
View: Any = RtpView
#: ``fanout(view, legs)`` of the core in use: forwards ``view`` on ``legs``
#: and returns the (leg, verdict) pairs to act on, or None
fanout: Callable[[RtpView, tuple[Any, ...]], list[tuple[Any, int]] | None] = reference.fanout
#: a track's per-packet intake and a participant's demultiplexer (see :mod:`.intake`)
Intake: Any = reference_intake.Intake
Demux: Any = reference_intake.Demux
active = MediaCore.PYTHON


def select(choice: MediaCore) -> MediaCore:
    """Use ``choice`` from now on; the compiled core falls back to the
    reference (with a warning) when it is not available. Returns the one in use."""
    global Leg, View, fanout, Intake, Demux, active
    if choice is MediaCore.COMPILED and not compiled_available():
        log.warning("media: the compiled forwarding core is not built; using the Python reference core "
                    "(reinstall with a C compiler to get it)")
        choice = MediaCore.PYTHON
    if choice is MediaCore.COMPILED:
        assert _fastpath is not None
        _fastpath.set_protect(aiortc_glue.srtp_function_address("srtp_protect"))
        _fastpath.set_unprotect(aiortc_glue.srtp_function_address("srtp_unprotect"))
        Leg, View, fanout = _fastpath.Leg, _fastpath.View, _fastpath.fanout
        Intake, Demux = _fastpath.Intake, _fastpath.Demux
        aiortc_glue.receiver_factory = compiled_receiver
    else:
        Leg, View, fanout = reference.Leg, RtpView, reference.fanout
        Intake, Demux = reference_intake.Intake, reference_intake.Demux
        aiortc_glue.receiver_factory = aiortc_glue._make_receiver
    active = choice
    return choice


def compiled_receiver(original: Any, dtls: Any, allowed: Callable[[str], bool],
                      on_rtp: Callable[[bytes], None] | None, on_rtcp: Callable[[bytes], None] | None = None) -> Any:
    """An ICE socket's ``datagram_received`` of the compiled core (the twin of
    ``aiortc_glue._make_receiver``)."""
    assert _fastpath is not None
    return _fastpath.Receiver(original, dtls, allowed, on_rtp, on_rtcp, aiortc_glue.screen, aiortc_glue.drop,
                              aiortc_glue.report_forwarding_failure, aiortc_glue.srtp_session_pointer)
