"""Domain events of calls (R-CALL-7).

Every state change of a call is one of these dataclasses. services/calls.py
stores each one in ``call_events`` in the same transaction as the state
change and the outbox deliveries it causes (notification mails and SMS,
webhooks), so the record, the statistics and the deliveries never disagree.

Type name = class name; payload = the dataclass fields minus the common ones.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class CallEvent:
    """Fields every call event carries."""

    call_id: str
    """uuid of the call."""
    tenant_id: int
    """Owner of the call."""
    at: str
    """UTC ISO-8601 instant of the change."""

    @property
    def type(self) -> str:
        return type(self).__name__

    def payload(self) -> dict:
        data = dataclasses.asdict(self)
        for common in ("call_id", "tenant_id", "at"):
            data.pop(common)
        return data

    def payload_json(self) -> str:
        return json.dumps(self.payload(), sort_keys=True)


@dataclass(frozen=True, kw_only=True)
class CallCreated(CallEvent):
    """A customer clicked the embed button (or an agent started a call)."""

    flow_id: int | None
    direction: str = "incoming"
    customer_name: str = ""


@dataclass(frozen=True, kw_only=True)
class CallOutOfHours(CallEvent):
    """The flow was closed: the customer is sent to the out-of-hours URL, nobody rings."""

    flow_id: int | None


@dataclass(frozen=True, kw_only=True)
class CallRinging(CallEvent):
    """A routing row started ringing its group's members."""

    row_index: int
    group_id: int
    user_ids: list[int]
    online_user_ids: list[int]


@dataclass(frozen=True, kw_only=True)
class CallAccepted(CallEvent):
    """The first agent to accept got the call."""

    user_id: int
    user_name: str


@dataclass(frozen=True, kw_only=True)
class CallDeclined(CallEvent):
    """An agent pressed "Decline": the call stops ringing for them only."""

    user_id: int


@dataclass(frozen=True, kw_only=True)
class CallMissed(CallEvent):
    """Nobody could be rung or the rows ran out unanswered (escalated), or the call was cut off.

    reason: a ``values.MissReason``."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class CallAbandoned(CallEvent):
    """The customer left before anyone accepted, after ``waited_s`` seconds.

    reason: ``customer_cancelled``, or ``customer_media_failed`` when the
    pre-ring check failed (a ``values.MissReason``)."""

    reason: str = "customer_cancelled"
    waited_s: float = 0.0
    media_problem: str = ""
    """With ``customer_media_failed``: permission_denied, no_device, device_busy, network or other."""


@dataclass(frozen=True, kw_only=True)
class CustomerReady(CallEvent):
    """The pre-ring check passed (the customer's media reaches the server): agents ring from now on."""

    audio_only: bool


@dataclass(frozen=True, kw_only=True)
class CallEnded(CallEvent):
    """An accepted call ended (hang-up of either side or the room closed)."""

    by: str
    duration_s: float


@dataclass(frozen=True, kw_only=True)
class CallInterrupted(CallEvent):
    """The call's media died under it (its media worker was lost) and moved
    to another; the clients joined again by themselves and the call went on.

    reason: why (``worker_lost``); state: the call's state at that moment."""

    reason: str
    state: str


EVENT_TYPES = {cls.__name__: cls for cls in (CallCreated, CallOutOfHours, CallRinging, CallAccepted,
                                             CallDeclined, CallMissed, CallAbandoned, CallEnded, CustomerReady,
                                             CallInterrupted)}
