"""Pluggable SMS senders (R-OPS-2): a Protocol and one module per sender
(``vidzzle_media/senders.py`` picks one by settings.sms.sender).

* ``log``  (default) keeps every message in the database (sms_log) and shows
  it to support; for installs without an SMS gateway.
* ``http`` posts every message to an HTTP gateway (settings.sms.http_*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .delivery import DeliveryResult


@dataclass
class SmsMessage:
    """One SMS as handed to a sender."""

    outbox_id: int
    tenant_id: int | None
    to: str
    """phone number, digits with an optional leading +"""
    text: str


class SmsSender(Protocol):
    """Sends one SMS; returns the outcome (raising counts as a failed attempt)."""

    name: str

    async def send(self, message: SmsMessage, now: datetime) -> DeliveryResult: ...
