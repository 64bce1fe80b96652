"""Call flow pages (R-FLOW): overview with embed snippets, the three-step
wizard (create and edit), delete after confirmation.

The wizard keeps the other steps' values as hidden fields; each "Next"
validates the current step, "Save" validates all three again (services/flows.py).
"""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp import web

from .. import keys
from ..errors import ValidationError
from ..i18n import N_, current_language, day_names, format_day, gettext
from ..routing.closures import regions
from ..routing.hours import RULE as HOURS_RULE
from ..routing.hours import WEEKDAYS
from ..services.accounts.links import base_url
from ..services.branding import brand
from ..services.calls.call_list import timezone_name
from ..services.calls.dashboard import tz_of
from ..services.tenancy import flows as service
from ..services.tenancy import groups as group_service
from .auth import MANAGERS, database, require_manager_scope
from .forms import form_data, int_param
from .menu import MENU, MenuItem
from .render import flash, render, request_base

routes = web.RouteTableDef()
STEP_TITLES = {1: N_("Name and business hours"), 2: N_("Call routing"), 3: N_("Redirect URLs")}


def _rows(form: dict) -> list[tuple[str, str]]:
    rows = []
    for i in range(service.MAX_ROWS + 1):
        if f"group_{i}" in form or f"ring_{i}" in form:
            rows.append((form.get(f"group_{i}", ""), form.get(f"ring_{i}", "")))
    return rows


_ROW_FIELD = re.compile(r"^(group|ring)_\d+$")


def _with_rows(form: dict, rows: list[tuple[str, str]]) -> dict:
    clean = {k: v for k, v in form.items() if not _ROW_FIELD.match(k)}
    for i, (group, ring) in enumerate(rows):
        clean[f"group_{i}"], clean[f"ring_{i}"] = group, ring
    return clean


async def _wizard(request, tenant_id, form, *, step=1, flow=None, errors=None, status=200):
    db = database(request)
    groups = await group_service.list_groups(db, tenant_id)
    rows = _rows(form) or [("", "")]
    total = sum(int(r) for _, r in rows if str(r).isdigit())
    closed: list[tuple[str, str]] = []
    if step == 1:
        today = datetime.now(tz_of(await timezone_name(db, tenant_id))).date()
        closed = [(format_day(day), name) for day, name in
                  await service.closed_preview(db, tenant_id, form, today, current_language())]
    return await render(request, "routing/flow_wizard.html", {
        "closed_days": closed, "regions": regions() if step == 1 else [],
        "form": form, "rows": rows, "step": step, "step_titles": STEP_TITLES, "flow": flow,
        "errors": errors or {}, "weekdays": list(zip(WEEKDAYS, day_names(), strict=True)), "hours_rule": HOURS_RULE, "groups": [(g.id, g.name) for g in groups],
        "total": total, "max_total": service.MAX_TOTAL_RING_SECONDS,
        "action": f"/admin/flows/{flow.id}/edit" if flow else "/admin/flows/new"}, status=status)


async def _step_post(request, tenant_id, flow=None):
    form = await form_data(request)
    step = form.get("step", "1")
    step = int(step) if step in ("1", "2", "3") else 1
    action = form.pop("action", "next")
    form.pop("csrf_token", None)
    form.pop("step", None)
    rows = _rows(form)
    if action == "back":
        return await _wizard(request, tenant_id, form, step=max(1, step - 1), flow=flow)
    if action == "preview":                  # step 1 again, with the closed days its fields give now
        return await _wizard(request, tenant_id, form, step=1, flow=flow)
    if action == "add_row":
        return await _wizard(request, tenant_id, _with_rows(form, [*rows, ("", "")]), step=2, flow=flow)
    if action.startswith("remove_") and action[7:].isdigit():
        index = int(action[7:])
        return await _wizard(request, tenant_id, _with_rows(form, [r for i, r in enumerate(rows) if i != index]),
                             step=2, flow=flow)
    form = _with_rows(form, [r for r in rows if r[0] or r[1]])
    db, draft = database(request), service.FlowDraft()
    try:
        if step == 1:
            service.step1(form, draft)
        elif step == 2:
            await service.step2(db, tenant_id, form, draft)
        # step 3: saving below validates all three steps again
    except ValidationError as exc:
        return await _wizard(request, tenant_id, form, step=step, flow=flow, errors=exc.fields, status=400)
    if step < 3:
        return await _wizard(request, tenant_id, form, step=step + 1, flow=flow)
    try:
        if flow is None:
            await service.create_flow(db, tenant_id, form)
        else:
            await service.update_flow(db, tenant_id, flow.id, form)
    except ValidationError as exc:
        first = 1 if any(k in exc.fields for k in ("name", "description", *WEEKDAYS)) else (
            2 if any(k.startswith(("group_", "ring_", "rows")) for k in exc.fields) else 3)
        return await _wizard(request, tenant_id, form, step=first, flow=flow, errors=exc.fields, status=400)
    flash(request, gettext("Call flow %(name)s saved.", name=form.get("name", "").strip()), "success")
    raise web.HTTPFound("/admin/flows")


@routes.get("/flows", name="flows")
async def flow_list(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    flows = await service.list_flows(database(request), tenant_id)
    base = base_url(request.config_dict[keys.SETTINGS], request_base(request))
    groups = {g.id: g.name for g in await group_service.list_groups(database(request), tenant_id)}
    gdpr = (await brand.load(database(request), tenant_id)).get("gdpr_incoming") == "1"
    return await render(request, "routing/flow_list.html", {
        "flows": flows, "groups": groups, "gdpr": gdpr,
        "snippets": {f.id: service.embed_snippet(base, f.embed_id, gdpr=gdpr) for f in flows}})


@routes.get("/flows/new")
async def flow_new(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    return await _wizard(request, tenant_id, service.draft_as_form(service.FlowDraft()))


@routes.post("/flows/new")
async def flow_create(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    return await _step_post(request, tenant_id)


@routes.get("/flows/{flow_id}/edit")
async def flow_edit(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    flow = await service.get_flow(database(request), tenant_id, int_param(request, "flow_id"))
    return await _wizard(request, tenant_id, service.draft_as_form(service.FlowDraft.from_flow(flow)), flow=flow)


@routes.post("/flows/{flow_id}/edit")
async def flow_update(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    flow = await service.get_flow(database(request), tenant_id, int_param(request, "flow_id"))
    return await _step_post(request, tenant_id, flow)


@routes.get("/flows/{flow_id}/delete")
async def flow_delete_confirm(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    flow = await service.get_flow(database(request), tenant_id, int_param(request, "flow_id"))
    return await render(request, "confirm.html", {
        "title": gettext("Delete call flow %(name)s?", name=flow.name),
        "message": gettext("The call flow %(name)s will be deleted with all its settings. Its embed id stops working "
                           "at once: buttons on websites using it must be removed or changed. This cannot be undone.",
                           name=flow.name),
        "action": f"/admin/flows/{flow.id}/delete", "button": gettext("Delete call flow"), "danger": True,
        "cancel": "/admin/flows"})


@routes.post("/flows/{flow_id}/delete")
async def flow_delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    flow = await service.delete_flow(database(request), tenant_id, int_param(request, "flow_id"))
    flash(request, gettext("Call flow %(name)s deleted; its embed id no longer works.", name=flow.name), "success")
    raise web.HTTPFound("/admin/flows")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Call Flows", "/admin/flows", MANAGERS, order=35))
