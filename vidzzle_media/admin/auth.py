"""Who is asking: the session holds only user ids; the user is re-read on
every request, so a deleted account is logged out at once while a locked one
keeps its running session (the lock only denies new logins, R-ACC-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import get_session, new_session

from .. import keys
from ..errors import BadRequest, Forbidden, NotFound, Unauthorized
from ..i18n import gettext, pick, set_language
from ..middleware import wants_json
from ..services.accounts import users as accounts
from ..services.tenancy import tenants as tenant_service
from ..values import Role

USER_FIELD = "uid"
IMPERSONATOR_FIELD = "imp"
TENANT_FIELD = "tenant"
_CACHE = "vidzzle.current_user"
LOGIN_PATH = "/admin/login"


@dataclass(frozen=True)
class CurrentUser:
    """The account a request acts as."""

    id: int
    tenant_id: int | None
    """None for support."""
    role: str
    name: str
    email: str
    acting_as_name: str | None = None
    """Name of the admin/support who switched into this account, else None."""
    impersonator_id: int | None = None
    """Id of that admin/support account, else None."""
    language: str = ""
    """The back office's language for this user: their choice, else their tenant's, else the install's."""


async def current_user(request: web.Request) -> CurrentUser | None:
    """The logged-in user (or the switched-into user), None when logged out."""
    if _CACHE in request:
        return request[_CACHE]
    request[_CACHE] = None
    session = await get_session(request)
    uid = session.get(USER_FIELD)
    if uid is None:
        return None
    db = request.config_dict[keys.DATABASE]
    record = await accounts.load_user(db, int(uid))
    imp_id = session.get(IMPERSONATOR_FIELD)
    impersonator = await accounts.load_user(db, int(imp_id)) if imp_id is not None else None
    if record is None or (imp_id is not None and impersonator is None):
        session.invalidate()
        return None
    language = record.language or await tenant_service.language_of(db, record.tenant_id) \
        or request.config_dict[keys.SETTINGS].server.language
    user = CurrentUser(record.id, record.tenant_id, record.role, record.name, record.email,
                       impersonator.name if impersonator else None, impersonator.id if impersonator else None,
                       language)
    request[_CACHE] = user
    await request.config_dict[keys.ACTIVITY].seen(user.impersonator_id or user.id)
    return user


async def require_user(request: web.Request, *roles: str) -> CurrentUser:
    """The current user, or a redirect to the login page (HTML) / 401 (JSON);
    Forbidden when ``roles`` are given and the user has none of them."""
    user = await current_user(request)
    if user is None:
        if wants_json(request):
            raise Unauthorized(gettext("Please log in."))
        target = request.path_qs if request.method == "GET" else "/admin/"
        raise web.HTTPFound(f"{LOGIN_PATH}?next={quote(target, safe='')}")
    if roles and user.role not in roles:
        raise Forbidden(gettext("You are not allowed to open this page."))
    return user


async def log_in(request: web.Request, user_id: int) -> None:
    """Start a fresh session (new cookie contents, new CSRF token) for the user."""
    session = await new_session(request)
    session[USER_FIELD] = user_id
    request.pop(_CACHE, None)


async def switch_into(request: web.Request, actor: CurrentUser, target_id: int) -> None:
    session = await get_session(request)
    session[IMPERSONATOR_FIELD] = actor.id
    session[USER_FIELD] = target_id
    request.pop(_CACHE, None)


async def log_out(request: web.Request) -> bool:
    """End a switched session (back to the admin, returns True) or the whole session (False)."""
    session = await get_session(request)
    imp_id = session.get(IMPERSONATOR_FIELD)
    request.pop(_CACHE, None)
    if session.get(USER_FIELD) is not None and imp_id is None:
        await request.config_dict[keys.ACTIVITY].logged_out(int(session[USER_FIELD]))
    if imp_id is not None:
        session[USER_FIELD] = imp_id
        del session[IMPERSONATOR_FIELD]
        return True
    session.invalidate()
    return False


async def tenant_scope(request: web.Request, user: CurrentUser) -> int | None:
    """The tenant a tenant-scoped page works on: the user's own; for support
    ``?tenant=ID`` or the tenant picked in the header (None = none picked).
    A missing tenant id is NotFound."""
    if user.role != Role.SUPPORT:
        return user.tenant_id
    db = request.config_dict[keys.DATABASE]
    raw = request.query.get("tenant")
    if raw is None:
        session = await get_session(request)
        raw = session.get(TENANT_FIELD)
        if raw is None:
            return None
        try:
            await tenant_service.get_tenant(db, user, int(raw))
        except NotFound:
            session.pop(TENANT_FIELD, None)
            return None
        return int(raw)
    if raw == "":
        return None   # "All tenants" picked explicitly
    try:
        tenant_id = int(raw)
    except ValueError:
        raise NotFound(gettext("No such tenant.")) from None
    await tenant_service.get_tenant(db, user, tenant_id)
    return tenant_id


async def require_tenant_scope(request: web.Request, user: CurrentUser) -> int:
    """Like tenant_scope, but support must have picked a tenant."""
    tenant_id = await tenant_scope(request, user)
    if tenant_id is None:
        raise BadRequest(gettext("Pick a tenant in the header first (support works on one tenant at a time here)."))
    return tenant_id


MANAGERS = (Role.SUPPORT, Role.ADMIN)
"""The roles that manage a tenant's setup (users, groups, flows, branding, webhooks)."""


async def require_manager_scope(request: web.Request) -> tuple[CurrentUser, int]:
    """An admin on their tenant, or support on the tenant picked in the header."""
    user = await require_user(request, *MANAGERS)
    return user, await require_tenant_scope(request, user)


def database(request: web.Request):
    """The app's Database (views hand it to services; they never query it)."""
    return request.config_dict[keys.DATABASE]


@web.middleware
async def language_middleware(request: web.Request, handler):
    """A logged-in user works in their language (i18n's context variable);
    before login the browser's, as for every page (middleware.py)."""
    user = await current_user(request)
    if user is not None:
        set_language(pick(user.language))
    return await handler(request)
