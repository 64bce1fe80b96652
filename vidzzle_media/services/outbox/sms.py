"""SMS: queue in the caller's transaction; the outbox worker sends through the configured sender.

Texts are final when queued (the tenant's SMS templates and the appended
link are the caller's business). Delivery is retried with backoff
like mail; the sender is chosen by settings.sms.sender (see sms_senders/).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from ...store import Database, sms_log
from ...store import outbox as outbox_store
from ...store.outbox import OutboxItem
from ...store.sms_log import SmsLogEntry
from ...values import OutboxKind
from .delivery import DeliveryResult
from .sms_senders import SmsMessage, SmsSender

log = logging.getLogger(__name__)

_PHONE = re.compile(r"^\+?[0-9]{5,17}$")
MAX_TEXT = 1600
"""ten concatenated segments; longer texts are refused"""


def normalize_phone(number: str) -> str:
    """Digits with an optional leading +, separators removed (ValueError if not phone-like)."""
    compact = re.sub(r"[\s()./-]", "", number)
    if not _PHONE.match(compact):
        raise ValueError("invalid phone number")
    return compact


async def queue_sms(conn, *, tenant_id: int | None, to: str, text: str, now: datetime | None = None) -> int:
    """Enqueue one SMS on the caller's writer connection (inside ``db.transaction()``)."""
    number = normalize_phone(to)
    if not text.strip():
        raise ValueError("empty SMS text")
    if len(text) > MAX_TEXT:
        raise ValueError(f"SMS text longer than {MAX_TEXT} characters")
    item_id = await outbox_store.enqueue(conn, kind=OutboxKind.SMS, tenant_id=tenant_id, recipient=number,
                                         payload={"text": text}, now=now or datetime.now(timezone.utc))
    log.debug("queued SMS as outbox %d", item_id)
    return item_id


class SmsOutboxSender:
    """Adapts an SmsSender to the outbox worker's Sender interface."""

    def __init__(self, sender: SmsSender):
        self.sender = sender

    async def deliver(self, item: OutboxItem, now: datetime) -> DeliveryResult:
        message = SmsMessage(outbox_id=item.id, tenant_id=item.tenant_id, to=item.recipient,
                             text=item.payload["text"])
        return await self.sender.send(message, now)


async def list_log(db: Database, *, tenant_id: int | None = None, limit: int = 200) -> list[SmsLogEntry]:
    """Messages kept by the `log` sender, newest first (support: tenant_id None = all)."""
    return await sms_log.list_entries(db, tenant_id=tenant_id, limit=limit)
