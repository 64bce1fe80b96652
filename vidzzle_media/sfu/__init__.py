"""Media only: rooms, participants, packet-level forwarding, the presentation.

Imports neither routing, store, admin, services nor signalling
(checked by ``tests/sfu/test_layering.py``).
"""

from .consumer import Consumer
from .ice import DefaultIce, IcePolicy, IceSettingsLike
from .participant import NegotiationError, Participant
from .producer import Producer
from .room import Room

__all__ = ["Consumer", "DefaultIce", "IcePolicy", "IceSettingsLike", "NegotiationError",
           "Participant", "Producer", "Room"]
