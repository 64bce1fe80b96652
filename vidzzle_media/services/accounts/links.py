"""Flows driven by one-time links: new accounts (opt-in), password resets,
setting a password, and the first support account from the CLI."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Mapping

from ...config import Settings
from ...errors import Conflict, Forbidden, NotFound, ValidationError
from ...i18n import gettext
from ...store import accounts as store
from ...store import tokens as token_store
from ...store.accounts import UserRecord
from ...store.database import utcnow
from ...values import Role
from .. import validation as v
from ..outbox.mail import queue_mail
from . import tokens
from .passwords import hash_password, password_problem
from .users import get_user, parse_user_form

log = logging.getLogger(__name__)

SET_PASSWORD_PATH = "/admin/set-password/"


def base_url(settings: Settings, request_base: str = "") -> str:
    """Where links point: server.public_url, else the request's origin,
    else https://localhost:<port>."""
    if settings.server.public_url:
        return settings.server.public_url.rstrip("/")
    if request_base:
        return request_base.rstrip("/")
    scheme = "https" if settings.tls.enabled else "http"
    return f"{scheme}://localhost:{settings.server.port}"


def _link(base: str, token: str) -> str:
    return f"{base}{SET_PASSWORD_PATH}{token}"


async def _issue_and_mail(conn, settings: Settings, user: UserRecord, *, base: str, sender_name: str,
                          now: datetime) -> str:
    """New account or never-confirmed account -> confirmation mail; else password-change mail."""
    if user.password_hash is None:
        purpose, template, hours = tokens.PURPOSE_OPTIN, "confirmation", settings.security.optin_token_hours
    else:
        purpose, template, hours = tokens.PURPOSE_RESET, "password_change", settings.security.reset_token_hours
    token = await tokens.issue(conn, purpose=purpose, user_id=user.id, tenant_id=user.tenant_id, subject="",
                               ttl=timedelta(hours=hours), now=now)
    await queue_mail(conn, template=template, tenant_id=user.tenant_id, to_email=user.email, to_name=user.name,
                 link=_link(base, token), sender_name=sender_name, now=now, language=user.language)
    return token


async def create_user(db, settings: Settings, actor, data: Mapping, *, request_base: str = "",
                      now: datetime | None = None) -> UserRecord:
    """Create a locked account and queue its confirmation (opt-in) mail in the same transaction."""
    now = now or datetime.now(timezone.utc)
    if actor.role not in (Role.SUPPORT, Role.ADMIN):
        raise Forbidden(gettext("Only administrators manage users."))
    value = await parse_user_form(db, actor, data)
    async with db.transaction() as conn:
        user_id = await store.insert_user(conn, tenant_id=value.tenant_id, role=value.role, name=value.name,
                                          email=value.email, mobile=value.mobile, now=utcnow(), locked=True,
                                          notify_email=value.notify_email, notify_sms=value.notify_sms)
        user = await store.reread_user(conn, user_id)
        await _issue_and_mail(conn, settings, user, base=base_url(settings, request_base), sender_name=actor.name,
                              now=now)
    log.info("user %s created by user %s", user_id, actor.id)
    return user


async def send_reset_by_admin(db, settings: Settings, actor, user_id: int, *, request_base: str = "",
                              now: datetime | None = None) -> UserRecord:
    """Admin-triggered reset: the password-change mail (or, for a never
    confirmed account, the confirmation mail again)."""
    now = now or datetime.now(timezone.utc)
    user = await get_user(db, actor, user_id)
    async with db.transaction() as conn:
        await _issue_and_mail(conn, settings, user, base=base_url(settings, request_base), sender_name=actor.name,
                              now=now)
    log.info("password reset for user %s triggered by user %s", user.id, actor.id)
    return user


async def forgot_password(db, settings: Settings, email: str, *, request_base: str = "",
                          now: datetime | None = None) -> bool:
    """Self-service reset from the login page. Says nothing about whether the
    account exists (the page shows the same text); True if a mail was queued."""
    now = now or datetime.now(timezone.utc)
    errors: dict[str, str] = {}
    email = v.email({"email": email}, "email", errors)
    if errors:
        raise ValidationError(gettext("Please correct the marked fields."), fields=errors)
    user = await store.get_user_by_email(db, email)
    if user is None:
        return False
    async with db.transaction() as conn:
        await _issue_and_mail(conn, settings, user, base=base_url(settings, request_base), sender_name="", now=now)
    return True


async def inspect_link(db, token: str, now: datetime | None = None) -> tuple[str, UserRecord]:
    """(purpose, user) of a valid set-password link; NotFound/Gone otherwise."""
    for purpose in (tokens.PURPOSE_OPTIN, tokens.PURPOSE_RESET):
        try:
            grant = await tokens.peek(db, token, purpose, now)
        except NotFound:
            continue
        user = await store.get_user(db, grant.user_id) if grant.user_id else None
        if user is None:
            break
        return purpose, user
    raise NotFound(gettext("This link is unknown. Please check that you copied the whole link."))


async def set_password(db, settings: Settings, token: str, data: Mapping, *, now: datetime | None = None) -> UserRecord:
    """Set the password behind a link. Opt-in unlocks the account; a reset
    leaves the lock as it is. Queues the "after password change" mail."""
    now = now or datetime.now(timezone.utc)
    purpose, _user = await inspect_link(db, token, now)
    password = str(data.get("password", "") or "")
    errors: dict[str, str] = {}
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    elif password != str(data.get("password2", "") or ""):
        errors["password2"] = gettext("The two passwords differ.")
    if errors:
        raise ValidationError(gettext("Please correct the marked fields."), fields=errors)
    phc = await hash_password(password)
    async with db.transaction() as conn:
        grant = await tokens.consume(conn, token=token, purpose=purpose, now=now)
        user = await store.get_user(conn, grant.user_id) if grant.user_id is not None else None
        if user is None:
            raise NotFound(gettext("This link is unknown."))
        await store.set_password_hash(conn, user.id, phc, unlock=purpose == tokens.PURPOSE_OPTIN)
        await token_store.use_all_for_user(conn, user.id, (tokens.PURPOSE_OPTIN, tokens.PURPOSE_RESET),
                                           now.isoformat(timespec="milliseconds"))
        await queue_mail(conn, template="after_password_change", tenant_id=user.tenant_id, to_email=user.email,
                     to_name=user.name, link="", sender_name="", now=now, language=user.language)
    log.info("password set for user %s (%s)", user.id, purpose)
    return await store.reread_user(db, user.id)


async def create_support_account(db, settings: Settings, email: str, now: datetime | None = None,
                                 base: str = "") -> str:
    """CLI: create a (locked) support account and return its one-time set-password URL
    (on ``base``, the running server's origin, when public_url is empty).
    Run again for an unconfirmed support account, it issues a fresh link."""
    now = now or datetime.now(timezone.utc)
    errors: dict[str, str] = {}
    email = v.email({"email": email}, "email", errors)
    if errors:
        raise ValidationError(errors["email"], fields=errors)
    async with db.transaction() as conn:
        user = await store.get_user_by_email(conn, email)
        if user is None:
            user_id = await store.insert_user(conn, tenant_id=None, role=Role.SUPPORT, name=email.split("@")[0],
                                              email=email, mobile="", now=utcnow(), locked=True)
        elif user.role == Role.SUPPORT and user.password_hash is None:
            user_id = user.id
        else:
            raise Conflict(gettext("An account with the email %(email)s already exists.", email=email))
        token = await tokens.issue(conn, purpose=tokens.PURPOSE_OPTIN, user_id=user_id, tenant_id=None, subject="",
                                   ttl=timedelta(hours=settings.security.optin_token_hours), now=now)
    log.info("support account %s created from the command line", user_id)
    return _link(base_url(settings, base), token)
