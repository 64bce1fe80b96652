"""Login, logout, forgotten password and the set-password pages behind one-time links."""

from __future__ import annotations

import logging

from aiohttp import web

from .. import keys
from ..errors import Forbidden, Gone, NotFound, Unauthorized, ValidationError
from ..i18n import gettext
from ..services.accounts import links as account_links
from ..services.accounts import users as accounts
from .auth import current_user, log_in, log_out
from .forms import form_data, safe_next
from .render import flash, render, request_base, wake_outbox

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/login", name="login")
async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_user(request) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    first_run = await accounts.nobody_can_log_in(request.config_dict[keys.DATABASE])
    return await render(request, "login.html", {"next": safe_next(request.query.get("next")), "form": {},
                                                "first_run": first_run})


@routes.post("/login")
async def login_submit(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    target = safe_next(data.get("next"))
    db, settings = request.config_dict[keys.DATABASE], request.config_dict[keys.SETTINGS]
    try:
        user = await accounts.authenticate(db, settings, email=data.get("email", ""), password=data.get("password", ""),
                                           address=request.remote)
    except (Unauthorized, Forbidden) as exc:
        return await render(request, "login.html", {"next": target, "form": {"email": data.get("email", "")},
                                                    "login_error": exc.message}, status=exc.status)
    await log_in(request, user.id)
    raise web.HTTPFound(target)


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.StreamResponse:
    if await log_out(request):
        flash(request, gettext("You are back in your own account."), "success")
        raise web.HTTPFound("/admin/")
    raise web.HTTPFound("/admin/login")


@routes.get("/forgot-password", name="forgot_password")
async def forgot_page(request: web.Request) -> web.StreamResponse:
    return await render(request, "forgot_password.html", {"form": {}})


@routes.post("/forgot-password")
async def forgot_submit(request: web.Request) -> web.StreamResponse:
    data = await form_data(request)
    db, settings = request.config_dict[keys.DATABASE], request.config_dict[keys.SETTINGS]
    try:
        await account_links.forgot_password(db, settings, data.get("email", ""), request_base=request_base(request))
    except ValidationError as exc:
        return await render(request, "forgot_password.html", {"form": data, "errors": exc.fields}, status=400)
    wake_outbox(request)
    # The same answer whether or not the account exists (no enumeration).
    return await render(request, "message.html", {
        "title": gettext("Check your mail"),
        "message": gettext("If an account with this email address exists, we have sent a link to set a new "
                           "password. The link is valid for a limited time and works once."),
        "link": ("/admin/login", gettext("Back to the login page"))})


async def _link_problem(request: web.Request, exc: NotFound | Gone) -> web.StreamResponse:
    return await render(request, "message.html", {
        "title": gettext("This link cannot be used"), "message": exc.message,
        "hint": gettext("Use “Forgot password?” on the login page to get a new link, or ask your administrator."),
        "link": ("/admin/forgot-password", gettext("Request a new link"))}, status=exc.status)


@routes.get("/set-password/{token}", name="set_password")
async def set_password_page(request: web.Request) -> web.StreamResponse:
    db = request.config_dict[keys.DATABASE]
    try:
        purpose, user = await account_links.inspect_link(db, request.match_info["token"])
    except (NotFound, Gone) as exc:
        return await _link_problem(request, exc)
    return await render(request, "set_password.html", {"purpose": purpose, "account": user})


@routes.post("/set-password/{token}")
async def set_password_submit(request: web.Request) -> web.StreamResponse:
    db, settings = request.config_dict[keys.DATABASE], request.config_dict[keys.SETTINGS]
    token = request.match_info["token"]
    data = await form_data(request)
    try:
        await account_links.set_password(db, settings, token, data)
    except (NotFound, Gone) as exc:
        return await _link_problem(request, exc)
    except ValidationError as exc:
        purpose, account = await account_links.inspect_link(db, token)
        return await render(request, "set_password.html", {"purpose": purpose, "account": account,
                                                           "errors": exc.fields}, status=400)
    wake_outbox(request)
    flash(request, gettext("Your password is set. Please log in."), "success")
    raise web.HTTPFound("/admin/login")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
