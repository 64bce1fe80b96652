"""The one-time link of the call-notification email/SMS, and a TEMPORARY
agent call page.

/admin/call-link/<token>: asks for login when needed (require_user keeps the
link as ``next``), then accepts the call for the link's user and redirects
to /admin/call/<call_id>. The agent call view at that path belongs to the
browser-client issue; the page below only shows the call and the room
token until it exists (remove ``call_page`` then).
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import Conflict, Forbidden, Gone
from ..services import tokens
from ..services.call_notify import TOKEN_PURPOSE
from .auth import require_user
from .render import render


def _calls(request):
    from ..api import CALLS
    return request.config_dict[CALLS]


async def call_link(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    db = request.config_dict[keys.DATABASE]
    calls = _calls(request)
    grant = await tokens.peek(db, token, TOKEN_PURPOSE, now=calls.clock.now())  # unknown 404, used/expired 410
    user = await require_user(request)                       # logged out -> login, back here afterwards
    if user.id != grant.user_id:
        raise Forbidden("This link was sent to another user. Please log in as that user.")
    async with db.transaction() as conn:
        await tokens.consume(conn, token=token, purpose=TOKEN_PURPOSE, now=calls.clock.now())
    try:
        result = await calls.accept(grant.subject, user)
    except Conflict as exc:
        return await render(request, "message.html", {"title": "Call already taken",
                                                      "message": f"This call was {exc.message}."}, status=409)
    except Gone as exc:
        return await render(request, "message.html", {"title": "Call over", "message": exc.message}, status=410)
    raise web.HTTPFound(result.agent_path)


async def call_page(request: web.Request) -> web.StreamResponse:
    """TEMPORARY until the agent call view exists: the call and a fresh room token."""
    user = await require_user(request)
    calls = _calls(request)
    call = await calls.agent_call(request.match_info["call_id"], user)
    if call.agent_id != user.id:
        raise Forbidden("This call belongs to another agent.")
    token = ""
    if calls.rooms is not None and call.room_id and call.state == "accepted":
        from ..services.rooms import maybe_await
        token = await maybe_await(calls.rooms.issue_token(call.room_id, "agent", user.name))
    data = {"call_id": call.id, "state": call.state, "customer_name": call.customer_name,
            "room_id": call.room_id, "room_token": token, "temporary": True}
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(data)
    return await render(request, "message.html", {
        "title": f"Call with {call.customer_name}",
        "message": f"(Temporary page until the agent call view exists.) Call {call.id}, state {call.state}, "
                   f"room {call.room_id or '—'}, room token {token or '—'}."})


def register(admin: web.Application) -> None:
    admin.router.add_get("/call-link/{token}", call_link)
    admin.router.add_get("/call/{call_id}", call_page)
