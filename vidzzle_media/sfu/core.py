"""Which forwarding core runs the per-packet path: compiled (C) or reference (Python).

Both implement :mod:`.leg`'s interface (a ``Leg`` per receiving leg and a
``fanout(view, legs)``). The choice is process wide and made once by the
composition root (setting ``media_core``) before any call starts; legs
made before a switch keep their implementation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from . import aiortc_glue
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
    return _fastpath is not None and aiortc_glue.srtp_protect_address() is not None


#: the leg class of the core in use (see :class:`.leg.Leg` for the interface)
Leg: Any = reference.Leg
#: ``fanout(view, legs)`` of the core in use: forwards ``view`` on ``legs``
#: and returns the (leg, verdict) pairs to act on, or None
fanout: Callable[[RtpView, tuple[Any, ...]], list[tuple[Any, int]] | None] = reference.fanout
active = MediaCore.PYTHON


def select(choice: MediaCore) -> MediaCore:
    """Use ``choice`` from now on; the compiled core falls back to the
    reference (with a warning) when it is not available. Returns the one in use."""
    global Leg, fanout, active
    if choice is MediaCore.COMPILED and not compiled_available():
        log.warning("media: the compiled forwarding core is not built; using the Python reference core "
                    "(reinstall with a C compiler to get it)")
        choice = MediaCore.PYTHON
    if choice is MediaCore.COMPILED:
        assert _fastpath is not None
        _fastpath.set_protect(aiortc_glue.srtp_protect_address())
        Leg, fanout = _fastpath.Leg, _fastpath.fanout
    else:
        Leg, fanout = reference.Leg, reference.fanout
    active = choice
    return choice
