"""Accounts (R-ACC): login, users of a tenant, switch user.

Callers pass the acting user (``actor``: anything with ``id``, ``role``,
``tenant_id`` — the back office passes its CurrentUser). Visibility rule:
support sees every account, an admin the accounts of its own tenant, a user
none; an id outside that scope is NotFound, exactly like a missing one.
One-time links and passwords are in ``links.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from ...config import Settings
from ...errors import Forbidden, NotFound, Unauthorized, ValidationError
from ...i18n import N_, gettext, languages
from ...store import accounts as store
from ...store import tenants as tenant_store
from ...store.accounts import ANY_TENANT, UserRecord
from ...values import Role
from .. import validation as v
from ..outbox.sms import normalize_phone
from . import throttle
from .passwords import verify_password

log = logging.getLogger(__name__)

ROLES = tuple(Role)
ROLE_LABELS: dict[str, str] = {Role.SUPPORT: N_("Support"), Role.ADMIN: N_("Administrator"), Role.USER: N_("User")}
_RANK = {Role.SUPPORT: 3, Role.ADMIN: 2, Role.USER: 1}


def _scope(actor):
    """The tenant filter for the actor's view of accounts."""
    if actor.role == Role.SUPPORT:
        return ANY_TENANT
    if actor.role == Role.ADMIN:
        return actor.tenant_id
    raise Forbidden(gettext("Only administrators manage users."))


def assignable_roles(actor, target: UserRecord | None = None) -> tuple[str, ...]:
    """Roles the actor may give (an existing support account stays support)."""
    if target is not None and target.role == Role.SUPPORT:
        return (Role.SUPPORT,)
    if actor.role == Role.SUPPORT:
        return ROLES if target is None else (Role.ADMIN, Role.USER)
    return (Role.ADMIN, Role.USER)


# -- login -------------------------------------------------------------------

async def nobody_can_log_in(db) -> bool:
    """A fresh install: nobody can log in until ``create-support`` makes the
    first account and its set-password link is used."""
    return await store.count_users(db, with_password=True) == 0


async def authenticate(db, settings: Settings, *, email: str, password: str, address: str | None,
                       now: datetime | None = None) -> UserRecord:
    """Check a login. Throttled before hashing; wrong email and wrong password look alike."""
    now = now or datetime.now(timezone.utc)
    email = (email or "").strip()
    await throttle.check(db, settings.security, email=email, address=address, now=now)
    user = await store.get_user_by_email(db, email) if email else None
    ok = await verify_password(password or "", user.password_hash if user else None)
    if not ok or user is None:
        await throttle.record_failure(db, settings.security, email=email, address=address, now=now)
        raise Unauthorized(gettext("Email address or password is wrong."))
    if user.locked:
        raise Forbidden(gettext("This account is locked. Please contact your administrator."))
    await throttle.record_success(db, email=email)
    log.info("user %s logged in", user.id)
    return user


async def load_user(db, user_id: int) -> UserRecord | None:
    """The session's user, re-read on every request (deleted -> None)."""
    return await store.get_user(db, user_id)


# -- users -------------------------------------------------------------------

@dataclass(frozen=True)
class UserInput:
    """A validated user form."""

    name: str
    email: str
    role: str
    mobile: str
    tenant_id: int | None
    locked: bool
    notify_email: bool
    notify_sms: bool


async def parse_user_form(db, actor, data: Mapping, existing: UserRecord | None = None) -> UserInput:
    """Validate a create/edit form; the tenant comes from the actor or the
    existing account, never from an admin's form."""
    errors: dict[str, str] = {}
    name = v.text(data, "name", N_("Name"), errors)
    email = v.email(data, "email", errors)
    mobile = v.mobile(data, "mobile", errors)
    role = str(data.get("role", "") or "").strip()
    allowed = assignable_roles(actor, existing)
    if not role:
        errors["role"] = gettext("Role is required.")
    elif role not in allowed:
        errors["role"] = gettext("Pick one of the offered roles.")
    if existing is not None:
        tenant_id = existing.tenant_id
    elif actor.role == Role.ADMIN:
        tenant_id = actor.tenant_id
    else:
        tenant_id = None
        raw = str(data.get("tenant_id", "") or "").strip()
        if role == Role.SUPPORT:
            if raw:
                errors["tenant_id"] = gettext("Support accounts belong to no tenant.")
        elif not raw:
            errors["tenant_id"] = gettext("Tenant is required.")
        else:
            try:
                tenant_id = int(raw)
            except ValueError:
                errors["tenant_id"] = gettext("Pick a tenant from the list.")
            else:
                if await tenant_store.get_tenant(db, tenant_id) is None:
                    errors["tenant_id"] = gettext("Pick a tenant from the list.")
    if email and "email" not in errors:
        other = await store.get_user_by_email(db, email)
        if other is not None and (existing is None or other.id != existing.id):
            errors["email"] = gettext("This email address is already in use.")
    locked = v.checkbox(data, "locked") if existing is not None else True
    if existing is not None and existing.id == actor.id:
        if locked:
            errors["locked"] = gettext("You cannot lock your own account.")
        if role and role != existing.role:
            errors["role"] = gettext("You cannot change your own role.")
    if errors:
        raise ValidationError(gettext("Please correct the marked fields."), fields=errors)
    return UserInput(name, email, role, mobile, tenant_id, locked,
                     v.checkbox(data, "notify_email"), v.checkbox(data, "notify_sms"))


async def list_users(db, actor, *, tenant_id: int | None = None) -> list[UserRecord]:
    """Accounts the actor may manage; support may narrow to one tenant."""
    scope = _scope(actor)
    if scope is ANY_TENANT and tenant_id is not None:
        scope = tenant_id
    return await store.list_users(db, tenant_id=scope)


async def get_user(db, actor, user_id: int) -> UserRecord:
    user = await store.get_user(db, user_id, tenant_id=_scope(actor))
    if user is None:
        raise NotFound(gettext("No such user."))
    return user


async def update_user(db, actor, user_id: int, data: Mapping) -> UserRecord:
    existing = await get_user(db, actor, user_id)
    value = await parse_user_form(db, actor, data, existing)
    async with db.transaction() as conn:
        changed = await store.update_user(conn, user_id, tenant_id=_scope(actor), name=value.name, email=value.email,
                                          mobile=value.mobile, role=value.role, locked=value.locked,
                                          notify_email=value.notify_email, notify_sms=value.notify_sms)
        if not changed:
            raise NotFound(gettext("No such user."))
    log.info("user %s changed by user %s", user_id, actor.id)
    return await store.reread_user(db, user_id)


def _phone(mobile: str) -> str:
    """The mobile number as SMS rows hold it ("" when there is none)."""
    try:
        return normalize_phone(mobile) if mobile.strip() else ""
    except ValueError:
        return ""


async def delete_user(db, actor, user_id: int) -> UserRecord:
    user = await get_user(db, actor, user_id)
    if user.id == actor.id or user.id == getattr(actor, "impersonator_id", None):
        raise Forbidden(gettext("You cannot delete your own account."))
    if user.role == Role.SUPPORT and await store.count_users(db, Role.SUPPORT) <= 1:
        raise Forbidden(gettext("The last support account cannot be deleted."))
    async with db.transaction() as conn:
        if not await store.delete_user(conn, user_id, tenant_id=_scope(actor), phone=_phone(user.mobile)):
            raise NotFound(gettext("No such user."))
    log.info("user %s deleted by user %s", user_id, actor.id)
    return user


# -- switch user -------------------------------------------------------------

def may_switch(actor, target: UserRecord) -> bool:
    """An admin enters users of its own tenant; support anyone below it."""
    if target.id == actor.id or getattr(actor, "impersonator_id", None):
        return False
    if actor.role == Role.SUPPORT:
        return target.role != Role.SUPPORT
    if actor.role == Role.ADMIN:
        return target.role == Role.USER and target.tenant_id == actor.tenant_id
    return False


async def switch_target(db, actor, user_id: int) -> UserRecord:
    """The account the actor may switch into (NotFound outside its scope, Forbidden otherwise)."""
    if getattr(actor, "impersonator_id", None):
        raise Forbidden(gettext("Log out of the switched account first."))
    target = await get_user(db, actor, user_id)
    if not may_switch(actor, target):
        raise Forbidden(gettext("You can only switch into accounts below your own."))
    log.info("user %s switched into user %s", actor.id, target.id)
    return target



async def set_language(db, actor, language: str) -> None:
    """The actor's own back-office language (one of the catalogs)."""
    if language not in languages():
        raise ValidationError(fields={"language": gettext("Pick one of the offered languages.")})
    async with db.transaction() as conn:
        await store.set_language(conn, actor.id, language)
