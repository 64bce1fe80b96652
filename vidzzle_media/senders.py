"""The outbox's senders for this install's settings.

The one place where the outbox's sender ports (``services/outbox/delivery.py``,
``sms_senders.SmsSender``) meet their transports (SMTP, the SMS gateway's
HTTP API, webhooks over the outbound policy's session). The composition root
hands ``build`` to the ``OutboxWorker``, which calls it at start with its
HTTP session.
"""

from __future__ import annotations

import logging

import aiohttp

from .config import Settings, SmsSettings
from .services.outbox.delivery import Sender
from .services.outbox.sms import SmsOutboxSender
from .services.outbox.sms_log import LogSmsSender
from .services.outbox.sms_senders import SmsSender
from .services.outbox.webhooks import WebhookSender
from .store import Database
from .transports.sms_http import HttpSmsSender
from .transports.smtp import SmtpMailSender
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
