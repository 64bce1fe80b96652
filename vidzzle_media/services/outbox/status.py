"""What became of the mail last queued for an address, for pages that must
say what is true ("queued", "sent", or why not) instead of promising "sent"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from ...store import outbox as outbox_store
from ...values import OutboxKind, OutboxState


class MailState(Enum):
    QUEUED = "queued"
    RETRYING = "retrying"
    """Attempted and failed; further attempts are due."""
    SENT = "sent"
    FAILED = "failed"
    """Given up (or refused for good); ``error`` says why."""


@dataclass(frozen=True)
class MailStatus:
    state: MailState
    error: str
    sent_at: str | None


async def last_mail_status(db, addresses: Iterable[str]) -> dict[str, MailStatus]:
    """Address -> the state of the newest mail queued for it (addresses without one are absent)."""
    found = await outbox_store.latest_to(db, OutboxKind.EMAIL, addresses)
    out = {}
    for address, item in found.items():
        if item.state == OutboxState.QUEUED:
            state = MailState.RETRYING if item.attempts else MailState.QUEUED
        else:
            state = MailState(item.state)
        out[address] = MailStatus(state, item.last_error, item.sent_at)
    return out
