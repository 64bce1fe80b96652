"""The outbox's senders for this install's settings.

The one place where the outbox's sender ports (``services/outbox/delivery.py``,
``sms_senders.SmsSender``) meet their transports (SMTP, the SMS gateway's
HTTP API, webhooks over the outbound policy's session). The composition root
hands an ``OutboxSenders`` to the ``OutboxWorker``: its start opens the HTTP
session and builds the senders, its stop closes the session.
"""

from __future__ import annotations

import logging

import aiohttp

from .config import Settings, SmsSettings
from .services.outbox.delivery import Sender
from .services.outbox.sms import SmsOutboxSender
from .services.outbox.sms_log import LogSmsSender
from .services.outbox.sms_senders import SmsSender
from .store import Database
from .transports import outbound
from .transports.sms_http import HttpSmsSender
from .transports.smtp import SmtpMailSender
from .transports.webhook_http import WebhookSender
from .values import OutboxKind

log = logging.getLogger(__name__)


def sms_sender(settings: SmsSettings, *, db: Database, session: aiohttp.ClientSession) -> SmsSender:
    """The sender named by ``settings.sender`` (ValueError for an unusable configuration)."""
    if settings.sender == "log":
        return LogSmsSender(db)
    if settings.sender == "http":
        return HttpSmsSender(settings, session)
    raise ValueError(f"unknown sms.sender {settings.sender!r}")


def build(db: Database, settings: Settings, session: aiohttp.ClientSession) -> dict[str, Sender]:
    """The sender of every kind; no mail sender without smtp.host (mails stay queued)."""
    senders: dict[str, Sender] = {
        OutboxKind.SMS: SmsOutboxSender(sms_sender(settings.sms, db=db, session=session)),
        OutboxKind.WEBHOOK: WebhookSender(session),
    }
    if settings.smtp.host:
        senders[OutboxKind.EMAIL] = SmtpMailSender(settings.smtp)
    else:
        log.warning("smtp.host is empty: mails stay queued in the outbox")
    return senders


class OutboxSenders:
    """The senders of an install and the HTTP session they share (the outbound address policy)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> dict[str, Sender]:
        self._session = outbound.client_session(outbound.OutboundPolicy.from_cidrs(self.settings.outbound.allow))
        try:
            return build(self.db, self.settings, self._session)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
