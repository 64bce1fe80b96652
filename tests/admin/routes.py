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

from vidzzle_media.admin import ADMIN_APP

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


Factory = Callable[[object, object], Awaitable[tuple[int, int]]]
FACTORIES: dict[str, Factory] = {
    "user_id": _users,
    "tenant_id": _tenants,
}
