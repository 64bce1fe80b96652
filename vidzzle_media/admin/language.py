"""The header's language switch: each user picks the back office's language."""

from __future__ import annotations

from aiohttp import web

from ..errors import ValidationError
from ..services.accounts import users as accounts
from .auth import database, require_user
from .forms import form_data, safe_next

routes = web.RouteTableDef()


@routes.post("/language", name="language")
async def switch_language(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    data = await form_data(request)
    try:
        await accounts.set_language(database(request), user, str(data.get("language", "")))
    except ValidationError:
        pass   # an unknown language changes nothing; the page shows the current one
    raise web.HTTPFound(safe_next(str(data.get("next", ""))))


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
