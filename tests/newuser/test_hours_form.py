"""Item 15: the wizard takes 24-hour and overnight business hours and shows the rule."""

from __future__ import annotations

from tests.admin.helpers import database
from tests.api.world import URLS, make_group
from vidzzle_media.services.tenancy import flows as flow_service

WEEK = {f"{d}_{k}": v for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        for k, v in (("start", "08:00"), ("end", "17:00"))}


async def test_all_day_and_overnight_are_saved(client, world, browser):
    db = database(client)
    group = await make_group(db, world.tenant_a, "Night shift", [world.user_a])
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/flows/new")
    assert "00:00 to 24:00: open all day" in page.text and "runs past midnight" in page.text
    step1 = {"step": "1", "action": "next", "name": "Always", "description": "", **WEEK,
             "saturday_start": "00:00", "saturday_end": "24:00", "friday_start": "18:00", "friday_end": "02:00"}
    page = await browser.post("/admin/flows/new", step1)
    assert page.status == 200 and 'name="group_0"' in page.text, page.field_errors
    rows = {"group_0": str(group), "ring_0": "30"}
    page = await browser.post("/admin/flows/new", {**step1, **rows, "step": "3", "action": "save", **URLS})
    assert page.path == "/admin/flows", page.field_errors
    (flow,) = await flow_service.list_flows(db, world.tenant_a)
    assert flow.hours[5] == ["00:00", "24:00"] and flow.hours[4] == ["18:00", "02:00"]
