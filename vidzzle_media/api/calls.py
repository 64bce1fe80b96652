"""The public call API used by embed.js and the customer's call page (docs/api.md).

Open to any origin (CORS ``*``, no cookies): embed.js runs on the dealer's
site. The customer proves ownership of a call with the ``customer_key``
returned at start. Rate-limited per client address.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from .. import keys
from ..errors import BadRequest
from ..i18n import gettext
from ..middleware import json_errors
from ..services.accounts.links import base_url
from ..values import CallState
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, X-Call-Key",
    "Access-Control-Max-Age": "600",
}


def _json(data: Any, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status)
    response.headers.update(CORS_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def public(bucket: str):
    """Wrap a handler: rate limit, CORS on every answer (errors too: error_middleware renders them)."""
    def wrap(handler):
        @json_errors(CORS_HEADERS)
        async def wrapped(request: web.Request) -> web.Response:
            request.app[keys.LIMITS][bucket].hit(request.remote or "?")
            return await handler(request)
        return wrapped
    return wrap


async def _body(request: web.Request) -> dict:
    """JSON, form, or the text/plain JSON navigator.sendBeacon sends.
    A body aiohttp cannot read (not UTF-8, multipart without a boundary:
    ValueError) is a 400 like any other bad body; it was a 500 and a
    traceback in the log, for anyone (found by bench/fuzz.py)."""
    try:
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return dict(await request.post())
        raw = await request.text()
    except ValueError:      # not UTF-8 (UnicodeDecodeError), a multipart body without its boundary, ...
        raise BadRequest(gettext("The request body could not be read.")) from None
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadRequest(gettext("The request body must be JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(gettext("The request body must be a JSON object."))
    return data


def _key(request: web.Request, body: dict | None = None) -> str:
    return request.headers.get("X-Call-Key") or (body or {}).get("customer_key") or request.query.get("key", "")


def _service(request: web.Request):
    return request.app[keys.CALLS]


@public("start")
async def start_call(request: web.Request) -> web.Response:
    body = await _body(request)
    embed_id, name = str(body.get("embed_id", "")).strip(), str(body.get("name", "") or "")
    if not embed_id:
        raise BadRequest(gettext("%(field)s is required.", field="embed_id"), fields={"embed_id": gettext("Required.")})
    settings = request.app[keys.SETTINGS]
    base = base_url(settings, f"{request.scheme}://{request.host}")
    result = await _service(request).start_incoming(embed_id, name, base, address=request.remote or "",
                                                    precheck=body.get("precheck") is True)
    if result.state == CallState.OUT_OF_HOURS:
        closed = {"state": CallState.OUT_OF_HOURS, "call_id": result.call_id, "out_of_hours_url": result.out_of_hours_url}
        if result.callback_offer:
            closed |= {"callback": "offered", "customer_key": result.customer_key}
        return _json(closed)
    return _json({
        "state": CallState.RINGING,
        "call_id": result.call_id,
        "customer_key": result.customer_key,
        "room_id": result.room_id,
        "room_token": result.room_token,
        "status_url": f"/api/calls/{result.call_id}",
        "leave_url": f"/api/calls/{result.call_id}/leave",
    }, status=201)


@public("status")
async def call_status(request: web.Request) -> web.Response:
    return _json(await _service(request).status(request.match_info["call_id"], _key(request)))


@public("status")
async def call_picture(request: web.Request) -> web.Response:
    """The picture of the group a ringing customer waits for (PNG), or 404."""
    picture = await _service(request).picture(request.match_info["call_id"], _key(request))
    return web.Response(body=picture, content_type="image/png",
                        headers={**CORS_HEADERS, "Cache-Control": "private, max-age=300"})


@public("status")
async def customer_ready(request: web.Request) -> web.Response:
    """The customer page's pre-ring check passed: ring once their media reaches the server (409 until then)."""
    body = await _body(request)
    return _json(await _service(request).ready(request.match_info["call_id"], _key(request, body),
                                               audio_only=body.get("audio_only") is True))


@public("leave")
async def request_callback(request: web.Request) -> web.Response:
    """A customer nobody could take asks to be called back (docs/api.md)."""
    body = await _body(request)
    return _json(await _service(request).request_callback(request.match_info["call_id"], _key(request, body), body),
                 status=201)


@public("leave")
async def leave_call(request: web.Request) -> web.Response:
    body = await _body(request)
    return _json(await _service(request).leave(request.match_info["call_id"], _key(request, body),
                                               media_problem=str(body.get("media_problem") or "")[:40]))


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS_HEADERS)


def call_limits() -> dict[str, RateLimiter]:
    """Per client address and minute: starts, status polls, leaves (kept under keys.LIMITS)."""
    return {
        "start": RateLimiter(limit=10, window_s=60),
        "status": RateLimiter(limit=240, window_s=60),
        "leave": RateLimiter(limit=30, window_s=60),
    }


def register(app: web.Application) -> None:
    app.router.add_post("/api/calls", start_call)
    app.router.add_get("/api/calls/{call_id}", call_status)
    app.router.add_get("/api/calls/{call_id}/picture", call_picture)
    app.router.add_post("/api/calls/{call_id}/ready", customer_ready)
    app.router.add_post("/api/calls/{call_id}/callback", request_callback)
    app.router.add_route("OPTIONS", "/api/calls/{call_id}/callback", preflight)
    app.router.add_post("/api/calls/{call_id}/leave", leave_call)
    app.router.add_route("OPTIONS", "/api/calls", preflight)
    app.router.add_route("OPTIONS", "/api/calls/{call_id}", preflight)
    app.router.add_route("OPTIONS", "/api/calls/{call_id}/leave", preflight)
    app.router.add_route("OPTIONS", "/api/calls/{call_id}/ready", preflight)
