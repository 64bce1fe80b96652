"""The `log` SMS sender: stores messages in the database (sms_log) instead of sending them."""

from __future__ import annotations

import logging
from datetime import datetime

from ...store import Database, sms_log
from .delivery import DeliveryResult
from .sms_senders import SmsMessage

log = logging.getLogger(__name__)


class LogSmsSender:
    """Keeps each SMS once per outbox item, so support can read it in the back office."""

    name = "log"

    def __init__(self, db: Database):
        self.db = db

    async def send(self, message: SmsMessage, now: datetime) -> DeliveryResult:
        await sms_log.insert(self.db, outbox_id=message.outbox_id, tenant_id=message.tenant_id,
                             recipient=message.to, text=message.text, now=now)
        log.info("SMS for outbox %d stored in the SMS log (sms.sender = log)", message.outbox_id)
        return DeliveryResult(ok=True, status="logged")
