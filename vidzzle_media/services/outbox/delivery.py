"""What every outbox sender returns, and the sender interface the worker consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ...store.outbox import OutboxItem


@dataclass
class DeliveryResult:
    """Outcome of one delivery attempt, as recorded in outbox_attempts."""

    ok: bool
    status: str = ""
    """HTTP status or SMTP reply code ('' when the peer was not reached)"""
    error: str = ""
    """short reason for a failure; never contains a secret"""
    permanent: bool = False
    """retrying cannot help (e.g. SMTP 5xx recipient refused): fail at once"""


class Sender(Protocol):
    """Delivers one outbox item of one kind; raising counts as a failed attempt."""

    async def deliver(self, item: OutboxItem, now: datetime) -> DeliveryResult: ...


def describe(exc: BaseException, limit: int = 300) -> str:
    """A short, log-safe description of an exception."""
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return text if len(text) <= limit else text[: limit - 3] + "..."
