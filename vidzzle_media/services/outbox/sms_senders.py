"""Pluggable SMS senders (R-OPS-2): a Protocol, one module per sender, a factory.

* ``log``  (default) keeps every message in the database (sms_log) and shows
  it to support; for installs without an SMS gateway.
* ``http`` posts every message to an HTTP gateway (settings.sms.http_*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import aiohttp

from ...config import SmsSettings
from ...store import Database
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


def make_sms_sender(settings: SmsSettings, *, db: Database, session: aiohttp.ClientSession) -> SmsSender:
    """The sender named by ``settings.sender`` (ValueError for an unusable configuration)."""
    if settings.sender == "log":
        from .sms_log import LogSmsSender

        return LogSmsSender(db)
    if settings.sender == "http":
        from ...transports.sms_http import HttpSmsSender

        return HttpSmsSender(settings, session)
    raise ValueError(f"unknown sms.sender {settings.sender!r}")
