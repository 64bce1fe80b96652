"""Call groups (R-GRP): validation and tenant rules around store/groups.py."""

from __future__ import annotations

from typing import Mapping

from ...errors import Conflict, NotFound, ValidationError
from ...i18n import gettext
from ...store import Database
from ...store import groups as store
from ...store.groups import GroupRow
from ..branding.images import ImageProblem, square_picture


def _member_ids(data: Mapping) -> list[int]:
    raw = data.getall("members", []) if hasattr(data, "getall") else data.get("members", [])
    if isinstance(raw, (str, int)):
        raw = [raw]
    ids = []
    for value in raw:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValidationError(fields={"members": gettext("Pick members from the list.")}) from None
    return ids


async def _parse(db: Database, tenant_id: int, data: Mapping) -> tuple[str, str, list[int]]:
    errors = {}
    name = str(data.get("name", "")).strip()
    description = str(data.get("description", "")).strip()
    if not name:
        errors["name"] = gettext("The call group needs a name.")
    elif len(name) > 100:
        errors["name"] = gettext("At most 100 characters.")
    if len(description) > 1000:
        errors["description"] = gettext("At most 1000 characters.")
    members = _member_ids(data)
    if set(members) - await store.tenant_user_ids(db, tenant_id, members):
        errors["members"] = gettext("Members must be users of this tenant.")
    if errors:
        raise ValidationError(fields=errors)
    return name, description, members


async def list_groups(db: Database, tenant_id: int) -> list[GroupRow]:
    return await store.list_groups(db, tenant_id)


async def get_group(db: Database, tenant_id: int, group_id: int) -> GroupRow:
    group = await store.get_group(db, tenant_id, group_id)
    if group is None:
        raise NotFound(gettext("No such call group."))
    return group


async def member_choices(db: Database, tenant_id: int) -> list[tuple[int, str, str]]:
    """(id, name, email) of the tenant's users, for the member picker."""
    return await store.tenant_users(db, tenant_id)


def _picture(upload: bytes | None) -> bytes | None:
    """The upload as the stored square PNG; None when nothing was uploaded."""
    if not upload:
        return None
    try:
        return square_picture(upload)
    except ImageProblem as exc:
        raise ValidationError(fields={"picture": str(exc)}) from None


async def create_group(db: Database, tenant_id: int, data: Mapping, picture: bytes | None = None) -> int:
    """``picture``: an uploaded image for the customers waiting for this group (optional)."""
    name, description, members = await _parse(db, tenant_id, data)
    png = _picture(picture)
    async with db.transaction() as conn:
        group_id = await store.create_group(conn, tenant_id, name, description, members)
        if png is not None:
            await store.set_picture(conn, tenant_id, group_id, png)
        return group_id


async def update_group(db: Database, tenant_id: int, group_id: int, data: Mapping, picture: bytes | None = None,
                       remove_picture: bool = False) -> None:
    """``picture`` replaces the group's picture; ``remove_picture`` drops it."""
    await get_group(db, tenant_id, group_id)
    name, description, members = await _parse(db, tenant_id, data)
    png = _picture(picture)
    async with db.transaction() as conn:
        if not await store.update_group(conn, tenant_id, group_id, name, description, members):
            raise NotFound(gettext("No such call group."))
        if png is not None or remove_picture:
            await store.set_picture(conn, tenant_id, group_id, png)


async def picture(db: Database, tenant_id: int, group_id: int) -> bytes:
    found = await store.picture(db, tenant_id, group_id)
    if found is None:
        raise NotFound(gettext("No picture."))
    return found


async def delete_group(db: Database, tenant_id: int, group_id: int) -> GroupRow:
    """Delete a group; refused while a call flow still rings it."""
    group = await get_group(db, tenant_id, group_id)
    used = await store.flows_using(db, tenant_id, group_id)
    if used:
        raise Conflict(gettext("This call group is used by the call flow(s) %(flows)s. Remove it from them first.",
                               flows=", ".join(used)))
    async with db.transaction() as conn:
        if not await store.delete_group(conn, tenant_id, group_id):
            raise NotFound(gettext("No such call group."))
    return group
