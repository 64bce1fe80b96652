"""Discover the back-office routes from the router, so pages added later by
other areas are covered by the isolation and CSRF tests automatically.

``FACTORIES`` maps a URL placeholder to a coroutine ``(db, world) ->
(own_id, foreign_id)`` giving an object of tenant A (the tester's own) and
one of tenant B (foreign). Add your entity here when you add a page with a
new ``{..._id}`` placeholder; unknown placeholders are still tried with a
missing id (which must answer like a foreign one: 404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from vidzzle_media.keys import ADMIN_APP

MISSING_ID = "987654"
_PLACEHOLDER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
#: placeholders that are not object ids (one-time link tokens)
NOT_IDS = {"token"}


@dataclass(frozen=True)
class AdminRoute:
    method: str
    template: str
    """URL with placeholders, e.g. /admin/users/{user_id}/edit"""

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.template)

    def url(self, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), MISSING_ID), self.template)


def admin_routes(app: web.Application) -> list[AdminRoute]:
    found = []
    for route in app[ADMIN_APP].router.routes():
        if route.method in ("HEAD", "*"):
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        template = info.get("formatter") or info.get("path")
        if template:
            found.append(AdminRoute(route.method, template))
    return sorted(set(found), key=lambda r: (r.template, r.method))


async def _users(db, world):
    return world.user_a, world.user_b


async def _tenants(db, world):
    return world.tenant_a, world.tenant_b


async def _groups(db, world):
    from vidzzle_media.store import groups
    async with db.transaction() as conn:
        own = await groups.create_group(conn, world.tenant_a, "Sales A", "", [world.user_a])
        foreign = await groups.create_group(conn, world.tenant_b, "Sales B", "", [world.user_b])
    return own, foreign


async def _flows(db, world):
    from vidzzle_media.store import flows
    ids = []
    for tenant, embed in ((world.tenant_a, "embed-own"), (world.tenant_b, "embed-foreign")):
        async with db.transaction() as conn:
            ids.append(await flows.create_flow(conn, tenant, name=f"Flow {embed}", description="", embed_id=embed,
                                               hours=[], rows=[], exit_url="", out_of_hours_url="",
                                               escalation_url=""))
    return ids[0], ids[1]


Factory = Callable[[object, object], Awaitable[tuple[int, int]]]
FACTORIES: dict[str, Factory] = {
    "user_id": _users,
    "tenant_id": _tenants,
    "group_id": _groups,
    "flow_id": _flows,
}
