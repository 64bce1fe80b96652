"""The agent console (R-CALL-2..6 on the agent's side).

/admin/console: the page agents keep open; it holds the /ws/agent presence
socket, rings (WebAudio tone + toast naming customer and flow) and accepts
(web/agent/console.js). /admin/call/<id>: the call view (web/agent/call.js):
customer, self view, presentation with previous/next and a document
switcher, mute, camera, hang up, then a summary with the duration. With
``Accept: application/json`` the same path gives call_id, state,
customer_name, room_id, room_token and duration_s.
"""

from __future__ import annotations

import logging

from aiohttp import web

from .. import keys
from ..errors import Forbidden
from ..i18n import gettext
from ..values import CallState, RoomRole
from .auth import require_user
from .menu import MENU, MenuItem
from .render import render

log = logging.getLogger(__name__)

MENU.append(MenuItem("Video calls", "/admin/console", order=5))


def _calls(request):
    return request.config_dict[keys.CALLS]


async def console_page(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    return await render(request, "console/console.html", {"can_take_calls": user.tenant_id is not None})


async def _own_call(request: web.Request):
    user = await require_user(request)
    calls = _calls(request)
    call = await calls.agent_call(request.match_info["call_id"], user)
    if call.agent_id != user.id:
        raise Forbidden(gettext("This call belongs to another agent."))
    return user, calls, call


async def call_page(request: web.Request) -> web.StreamResponse:
    user, calls, call = await _own_call(request)
    token = ""
    if calls.rooms is not None and call.room_id and call.state == CallState.ACCEPTED:
        try:
            token = calls.rooms.issue_token(call.room_id, RoomRole.AGENT, user.name)
        except KeyError:   # the room is already gone: show the summary
            token = ""
    data = {"call_id": call.id, "state": call.state, "customer_name": call.customer_name, "room_id": call.room_id,
            "room_token": token, "direction": call.direction, "duration_s": call.duration_s,
            "accepted_at": call.accepted_at, "ended_at": call.ended_at}
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response(data, headers={"Cache-Control": "no-store"})
    response = await render(request, "console/call.html", {"call": data, "title": gettext("Call with %(name)s", name=call.customer_name),
                                                            "presence_after_call": True})
    response.headers["Cache-Control"] = "no-store"
    return response


async def hang_up(request: web.Request) -> web.StreamResponse:
    user, calls, call = await _own_call(request)
    await calls.hang_up(call.id, user)
    call = await calls.agent_call(call.id, user)
    return web.json_response({"call_id": call.id, "state": call.state, "duration_s": call.duration_s})


def register(admin: web.Application) -> None:
    admin.router.add_get("/console", console_page)
    admin.router.add_get("/call/{call_id}", call_page)
    admin.router.add_post("/call/{call_id}/hangup", hang_up)
