"""Webhook delivery over HTTP: one signed POST per ``webhook`` outbox item
(Standard Webhooks headers), through the outbound policy's shared session."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp

from ..services.outbox.delivery import DeliveryResult, describe
from ..services.outbox.webhooks import message_id, sign
from ..store.outbox import OutboxItem
from . import outbound

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=10)


class WebhookSender:
    """POSTs ``webhook`` outbox items through a shared aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout = TIMEOUT):
        self.session = session
        self.timeout = timeout

    async def deliver(self, item: OutboxItem, now: datetime) -> DeliveryResult:
        payload = item.payload
        msg_id = message_id(item.id)
        timestamp = int(now.timestamp())
        headers = dict(payload.get("headers") or {})
        headers.update({
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(payload["secret"], msg_id, timestamp, payload["body"]),
        })
        try:
            async with self.session.post(item.recipient, data=payload["body"].encode("utf-8"), headers=headers,
                                         timeout=self.timeout, allow_redirects=False) as response:
                await response.content.read(64 * 1024)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError, outbound.Refused) as exc:
            log.info("webhook %s to %s failed: %s", msg_id, urlsplit(item.recipient).hostname, describe(exc))
            category = outbound.category(exc)   # the tenant sees this: no socket details
            # a forbidden address stays forbidden: retrying for a day would only knock again
            return DeliveryResult(ok=False, error=category, permanent=category == outbound.REFUSED)
        if 200 <= status < 300:
            return DeliveryResult(ok=True, status=str(status))
        if 300 <= status < 400:
            return DeliveryResult(ok=False, status=str(status), error=f"HTTP {status}: redirects are not followed")
        return DeliveryResult(ok=False, status=str(status), error=f"HTTP {status}")
