"""The `http` SMS sender: one request per message to a configurable gateway.

The URL and the body template may contain ``{to}`` and ``{text}``. In the
URL they are percent-encoded; in the body they are JSON-escaped when the
content type is JSON, form-encoded for ``application/x-www-form-urlencoded``
and inserted as they are otherwise. A 2xx answer is success; redirects are
not followed (a 3xx counts as failure).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Callable
from urllib.parse import quote, quote_plus

import aiohttp

from ..config import SmsSettings
from ..services.outbox.delivery import DeliveryResult, describe
from ..services.outbox.sms_senders import SmsMessage
from . import outbound

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{(to|text)\}")
TIMEOUT = aiohttp.ClientTimeout(total=10)


def parse_header(line: str) -> tuple[str, str] | None:
    """``Name: value`` -> (name, value); empty -> None; ValueError if malformed."""
    line = line.strip()
    if not line:
        return None
    name, sep, value = line.partition(":")
    name = name.strip()
    if not sep or not name or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or "\n" in value:
        raise ValueError("sms.http_auth_header must look like `Name: value`")
    return name, value.strip()


def fill(template: str, values: dict[str, str], encode: Callable[[str], str]) -> str:
    """Replace {to}/{text} in one pass (a value containing "{text}" is not re-expanded)."""
    return _PLACEHOLDER.sub(lambda m: encode(values[m.group(1)]), template)


def body_encoder(content_type: str) -> Callable[[str], str]:
    ct = content_type.lower()
    if "json" in ct:
        return lambda v: json.dumps(v, ensure_ascii=False)[1:-1]
    if "x-www-form-urlencoded" in ct:
        return quote_plus
    return lambda v: v


class HttpSmsSender:
    """Posts (or GETs) each SMS to the gateway of settings.sms."""

    name = "http"

    def __init__(self, settings: SmsSettings, session: aiohttp.ClientSession):
        if not settings.http_url:
            raise ValueError("sms.http_url is required with sms.sender = http")
        self.settings = settings
        self.session = session
        self.auth = parse_header(settings.http_auth_header)

    async def send(self, message: SmsMessage, now: datetime) -> DeliveryResult:
        s = self.settings
        values = {"to": message.to, "text": message.text}
        url = fill(s.http_url, values, lambda v: quote(v, safe=""))
        headers = {}
        if self.auth:
            headers[self.auth[0]] = self.auth[1]
        data = None
        if s.http_body and s.http_method.upper() not in ("GET", "HEAD"):
            data = fill(s.http_body, values, body_encoder(s.http_content_type)).encode("utf-8")
            headers["Content-Type"] = s.http_content_type
        try:
            async with self.session.request(s.http_method.upper(), url, data=data, headers=headers,
                                            timeout=TIMEOUT, allow_redirects=False) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError, outbound.Refused) as exc:
            log.warning("SMS gateway request failed: %s", describe(exc))
            return DeliveryResult(ok=False, error=outbound.category(exc))
        if 200 <= status < 300:
            return DeliveryResult(ok=True, status=str(status))
        return DeliveryResult(ok=False, status=str(status), error=f"gateway answered HTTP {status}")
