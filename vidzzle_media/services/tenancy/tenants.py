"""Tenants: only support creates, changes or deletes them (R-ROLE-2)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

from ...errors import Forbidden, NotFound, ValidationError
from ...i18n import N_, gettext, languages
from ...store import flows as flow_store
from ...store import tenants as store
from ...store.database import utcnow
from ...store.tenants import TenantRecord
from ...values import Role
from .. import validation as v

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantInput:
    """Validated tenant form."""

    name: str
    street: str
    zip: str
    city: str
    email: str
    timezone: str
    language: str | None
    """None: not in the form (keep the current one; new tenants get the install's default)."""


def parse_tenant_form(data: Mapping) -> TenantInput:
    errors: dict[str, str] = {}
    value = TenantInput(
        name=v.text(data, "name", N_("Company name"), errors),
        street=v.text(data, "street", N_("Street"), errors),
        zip=v.text(data, "zip", N_("Zip code"), errors, max_len=20),
        city=v.text(data, "city", N_("City"), errors),
        email=v.email(data, "email", errors),
        timezone=v.timezone(data, "timezone", errors),
        language=_language(data, errors),
    )
    if errors:
        raise ValidationError(gettext("Please correct the marked fields."), fields=errors)
    return value


def _language(data: Mapping, errors: dict) -> str | None:
    raw = str(data.get("language", "") or "").strip()
    if not raw:
        return None
    if raw not in languages():
        errors["language"] = gettext("Pick one of the offered languages.")
    return raw


def _require_support(actor) -> None:
    if actor.role != Role.SUPPORT:
        raise Forbidden(gettext("Only support manages tenants."))


async def list_tenants(db, actor) -> list[TenantRecord]:
    if actor.role == Role.SUPPORT:
        return await store.list_tenants(db)
    tenant = await store.get_tenant(db, actor.tenant_id)
    return [tenant] if tenant else []


async def get_tenant(db, actor, tenant_id: int) -> TenantRecord:
    """A tenant the actor may see: support any, others only their own (else 404)."""
    if actor.role != Role.SUPPORT and tenant_id != actor.tenant_id:
        raise NotFound(gettext("No such tenant."))
    tenant = await store.get_tenant(db, tenant_id)
    if tenant is None:
        raise NotFound(gettext("No such tenant."))
    return tenant


async def create_tenant(db, actor, data: Mapping, *, default_language: str = "de") -> int:
    _require_support(actor)
    value = parse_tenant_form(data)
    fields = {**value.__dict__, "language": value.language or default_language}
    async with db.transaction() as conn:
        tenant_id = await store.insert_tenant(conn, now=utcnow(), **fields)
    log.info("tenant %s created by user %s", tenant_id, actor.id)
    return tenant_id


async def update_tenant(db, actor, tenant_id: int, data: Mapping) -> None:
    _require_support(actor)
    await get_tenant(db, actor, tenant_id)
    value = parse_tenant_form(data)
    async with db.transaction() as conn:
        if not await store.update_tenant(conn, tenant_id, **value.__dict__):
            raise NotFound(gettext("No such tenant."))


async def delete_tenant(db, actor, tenant_id: int) -> None:
    _require_support(actor)
    async with db.transaction() as conn:
        if not await store.delete_tenant(conn, tenant_id):
            raise NotFound(gettext("No such tenant."))
    log.info("tenant %s deleted by user %s", tenant_id, actor.id)


async def timezone_of(db, tenant_id: int | None) -> str:
    """The tenant's IANA time zone for showing times ("UTC" without a tenant)."""
    if tenant_id is None:
        return "UTC"
    record = await store.get_tenant(db, tenant_id)
    return record.timezone if record and record.timezone else "UTC"


async def tenant_of_button(db, embed_id: str) -> int | None:
    """The tenant of a dealer's call button (the embed id of one of its call flows); None if unknown."""
    flow = await flow_store.get_by_embed_id(db, embed_id) if embed_id else None
    return flow.tenant_id if flow is not None else None


async def language_of(db, tenant_id: int | None) -> str | None:
    """The tenant's default language (None without a tenant)."""
    if tenant_id is None:
        return None
    record = await store.get_tenant(db, tenant_id)
    return record.language if record else None
