"""The one-time link of the call-notification email/SMS.

/admin/call-link/<token>: asks for login when needed (require_user keeps the
link as ``next``), then accepts the call for the link's user and redirects
to /admin/call/<call_id>, the agent call view (admin/console.py).
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import Conflict, Gone
from ..i18n import gettext
from ..services.accounts import tokens
from ..services.calls.notify import TOKEN_PURPOSE
from .auth import require_user
from .render import render


def _calls(request):
    return request.config_dict[keys.CALLS]


async def call_link(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    db = request.config_dict[keys.DATABASE]
    calls = _calls(request)
    await tokens.peek(db, token, TOKEN_PURPOSE, now=calls.clock.now())    # unknown 404, used/expired 410
    user = await require_user(request)                       # logged out -> login, back here afterwards
    try:
        result = await calls.accept_from_link(token, user)
    except Conflict as exc:
        return await render(request, "message.html", {"title": gettext("Call already taken"),
                                                      "message": exc.message}, status=409)
    except Gone as exc:
        return await render(request, "message.html", {"title": gettext("Call over"), "message": exc.message}, status=410)
    raise web.HTTPFound(result.agent_path)


def register(admin: web.Application) -> None:
    admin.router.add_get("/call-link/{token}", call_link)
