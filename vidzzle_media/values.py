"""The named values the store keeps as strings: call states and miss
reasons, call directions, back-office roles, room roles, outbox kinds and
states.

StrEnum, so a member is the very string in the database, the JSON and the
webhooks (``CallState.RINGING == "ringing"``): no data migration, and rows
read back as plain strings still compare equal. Code names a value through
its Enum, so a typo is an AttributeError at import time, not a silent
mismatch.
"""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    """Where a call is (calls.state)."""

    RINGING = "ringing"
    ACCEPTED = "accepted"
    ENDED = "ended"
    MISSED = "missed"
    """Nobody accepted in time (MissReason says why)."""
    ABANDONED = "abandoned"
    """The customer left while it rang."""
    OUT_OF_HOURS = "out_of_hours"


NOT_ACCEPTED = (CallState.MISSED, CallState.ABANDONED, CallState.OUT_OF_HOURS)
"""The end states of a call no agent took."""


class MissReason(StrEnum):
    """Why an incoming call was not accepted (calls.miss_reason; "" for a
    call an agent took). One cause per call, set at the moment it is decided."""

    OUT_OF_HOURS = "out_of_hours"
    """The flow's business hours were closed."""
    HOLIDAY = "holiday"
    """A public holiday or one-off closed day of the flow."""
    NO_AGENT_AVAILABLE = "no_agent_available"
    """Nobody in the flow's groups was online and free to ring."""
    RANG_UNANSWERED = "rang_unanswered"
    """Agents were rung, none accepted before the last row ran out."""
    ALL_DECLINED = "all_declined"
    """Every agent who could be rung declined."""
    CUSTOMER_CANCELLED = "customer_cancelled"
    """The customer left while it rang (the record keeps how long they waited)."""
    CUSTOMER_MEDIA_FAILED = "customer_media_failed"
    """The customer's camera, microphone or network failed the pre-ring check."""
    INTERRUPTED = "interrupted"
    """The server stopped while it rang."""


class Direction(StrEnum):
    INCOMING = "incoming"
    """The customer clicked the dealer's button."""
    OUTGOING = "outgoing"
    """An agent invited the customer (follow-up call)."""


class Role(StrEnum):
    """A back-office account's role (users.role)."""

    SUPPORT = "support"
    """The operator of the install: every tenant."""
    ADMIN = "admin"
    """A tenant's administrator."""
    USER = "user"
    """A tenant's agent."""


class RoomRole(StrEnum):
    """A participant's role in a video room (signalling's join tokens)."""

    AGENT = "agent"
    CUSTOMER = "customer"
    INVITEE = "invitee"


class OutboxKind(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class OutboxState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
