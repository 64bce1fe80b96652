"""Support-only page "Checks": the doctor's checks (vidzzle_media/doctor),
run when the page is opened, in the reader's language."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..doctor import Status, run_checks
from ..values import Role
from .auth import require_user
from .menu import MENU, MenuItem
from .render import render

routes = web.RouteTableDef()


@routes.get("/checks", name="checks")
async def checks_page(request: web.Request) -> web.StreamResponse:
    await require_user(request, Role.SUPPORT)
    findings = await run_checks(request.config_dict[keys.SETTINGS], request.config_dict[keys.DATABASE])
    counts = {status: sum(1 for f in findings if f.status is status) for status in Status}
    return await render(request, "checks.html", {"findings": findings, "counts": counts, "Status": Status})


MENU.append(MenuItem("Checks", "/admin/checks", (Role.SUPPORT,), order=95))


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
