"""SMTP transport of the outbox: sends one queued, pre-rendered mail with aiosmtplib.

The worker only creates this sender when ``smtp.host`` is set; without it
mails stay queued (and no attempts are burned) until an SMTP server is
configured and the server restarted.
"""

from __future__ import annotations

import logging
from datetime import datetime

import aiosmtplib

from ..config import SmtpSettings
from ..services.outbox.delivery import DeliveryResult, describe
from ..store.outbox import OutboxItem

log = logging.getLogger(__name__)


class SmtpMailSender:
    """Delivers ``email`` outbox items to the configured SMTP server (one connection per mail)."""

    def __init__(self, smtp: SmtpSettings):
        if not smtp.host:
            raise ValueError("smtp.host is empty")
        self.smtp = smtp

    async def deliver(self, item: OutboxItem, now: datetime) -> DeliveryResult:
        smtp = self.smtp
        try:
            await aiosmtplib.send(
                item.payload["message"].encode("utf-8"),
                sender=item.payload["from"],
                recipients=[item.recipient],
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username or None,
                password=smtp.password or None,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                timeout=smtp.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return DeliveryResult(ok=False, status=",".join(str(c) for c in codes), error=describe(exc),
                                  permanent=bool(codes) and all(c >= 500 for c in codes))
        except aiosmtplib.SMTPDataError as exc:
            return DeliveryResult(ok=False, status=str(exc.code), error=describe(exc), permanent=exc.code >= 500)
        except aiosmtplib.SMTPResponseException as exc:
            return DeliveryResult(ok=False, status=str(exc.code), error=describe(exc))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return DeliveryResult(ok=False, error=describe(exc))
        # aiosmtplib raises SMTPDataError unless the DATA reply is 250, so success is a 250
        return DeliveryResult(ok=True, status="250")
