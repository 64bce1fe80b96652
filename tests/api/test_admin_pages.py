"""Back-office pages of call routing through a real browser session:
call groups, the call-flow wizard, webhooks, tenant isolation."""

from __future__ import annotations

import re
from html import unescape

import pytest
from admin.helpers import Browser, Page, make_tenant, make_user, public_lookup

from vidzzle_media.services.tenancy import flows as flow_service
from vidzzle_media.services.tenancy import groups as group_service
from vidzzle_media.services.tenancy import webhook_settings
from vidzzle_media.transports.outbound import OutboundPolicy

from .world import ALL_WEEK, URLS, make_agents, make_flow, make_group


@pytest.fixture
async def world(cli, db):
    ta, tb = await make_tenant(db, "Alpha Cars"), await make_tenant(db, "Beta Motors")
    ids = {
        "ta": ta, "tb": tb,
        "admin_a": await make_user(db, tenant_id=ta, role="admin", email="admin.a@example.com", name="Alice"),
        "admin_b": await make_user(db, tenant_id=tb, role="admin", email="admin.b@example.com", name="Bob"),
        "agents_a": await make_agents(db, ta, 2, prefix="alpha"),
        "agents_b": await make_agents(db, tb, 1, prefix="beta"),
    }
    browsers = []

    async def login(email):
        browser = Browser(str(cli.make_url("/")))
        browsers.append(browser)
        page = await browser.login(email)
        assert page.status == 200
        return browser

    ids["login"] = login
    yield ids
    for browser in browsers:
        await browser.close()


async def post_multi(browser: Browser, path: str, pairs: list[tuple[str, str]]) -> Page:
    """A form with repeated fields (checkbox lists)."""
    pairs = [*pairs, ("csrf_token", browser.token)]
    async with browser.session.post(browser.base + path, data=pairs) as resp:
        page = Page(resp.status, resp.url.path, await resp.text())
    if page.csrf:
        browser.token = page.csrf
    return page


async def test_group_crud_with_confirmation(world, db):
    admin = await world["login"]("admin.a@example.com")
    ta, (u1, u2) = world["ta"], world["agents_a"]
    page = await admin.get("/admin/groups")
    assert page.status == 200 and "Add Call Group" in page.text
    page = await admin.get("/admin/groups/new")
    assert "Alpha 0" in page.text and "Beta" not in page.text          # members from the tenant only
    page = await post_multi(admin, "/admin/groups/new", [("name", " "), ("members", str(u1))])
    assert page.status == 400 and "name" in page.field_errors
    page = await post_multi(admin, "/admin/groups/new", [("name", "Sales"), ("members", str(world["agents_b"][0]))])
    assert page.status == 400 and "members" in page.field_errors        # a foreign user
    page = await post_multi(admin, "/admin/groups/new", [("name", "Sales"), ("members", str(u1)), ("members", str(u2))])
    assert page.status == 200 and page.path == "/admin/groups"
    group = (await group_service.list_groups(db, ta))[0]
    assert group.name == "Sales" and group.member_ids == sorted([u1, u2])
    page = await post_multi(admin, f"/admin/groups/{group.id}/edit", [("name", "Sales East"), ("members", str(u2))])
    assert page.path == "/admin/groups"
    group = await group_service.get_group(db, ta, group.id)
    assert (group.name, group.member_ids) == ("Sales East", [u2])
    page = await admin.get(f"/admin/groups/{group.id}/delete")
    assert "Delete call group Sales East?" in unescape(page.text)
    assert (await group_service.list_groups(db, ta))                     # nothing deleted by the GET
    page = await admin.post(f"/admin/groups/{group.id}/delete")
    assert page.path == "/admin/groups"
    assert await group_service.list_groups(db, ta) == []


async def test_group_used_by_a_flow_is_not_deleted(world, db):
    admin = await world["login"]("admin.a@example.com")
    group = await make_group(db, world["ta"], "Sales", world["agents_a"])
    await make_flow(db, world["ta"], [(group, 30)], name="Main flow")
    page = await admin.post(f"/admin/groups/{group}/delete")
    assert any("Main flow" in text for kind, text in page.flashes if kind == "error")
    assert await group_service.get_group(db, world["ta"], group)


def _step1(name="Sales", **over):
    return {"step": "1", "action": "next", "name": name, "description": "Website button", **ALL_WEEK, **over}


async def test_wizard_validates_each_step_and_saves(world, db, cli):
    admin = await world["login"]("admin.a@example.com")
    ta = world["ta"]
    group = await make_group(db, ta, "Sales", world["agents_a"])
    await admin.get("/admin/flows/new")
    page = await admin.post("/admin/flows/new", _step1(monday_start="25:00"))
    assert page.status == 400 and "monday" in page.field_errors
    page = await admin.post("/admin/flows/new", _step1(tuesday_start="24:00", tuesday_end="09:00"))
    assert page.status == 400 and "tuesday" in page.field_errors          # 24:00 is only an end
    page = await admin.post("/admin/flows/new", _step1(sunday_start="10:00", sunday_end="10:00"))  # closed Sunday
    assert page.status == 200 and 'name="group_0"' in page.text                                  # on step 2
    step2 = {**_step1(sunday_start="10:00", sunday_end="10:00"), "step": "2"}
    page = await admin.post("/admin/flows/new", {**step2, "group_0": str(group), "ring_0": "200",
                                                 "group_1": str(group), "ring_1": "41"})
    assert page.status == 400 and "241" in page.field_errors["rows"]
    page = await admin.post("/admin/flows/new", {**step2, "group_0": "999", "ring_0": "20"})
    assert page.status == 400 and "group_0" in page.field_errors
    rows = {"group_0": str(group), "ring_0": "200", "group_1": str(group), "ring_1": "40"}
    page = await admin.post("/admin/flows/new", {**step2, **rows})
    assert page.status == 200 and 'name="exit_url"' in page.text                                 # on step 3
    step3 = {**step2, **rows, "step": "3", "action": "save", **URLS}
    page = await admin.post("/admin/flows/new", {**step3, "exit_url": "ftp://dealer.example/"})
    assert page.status == 400 and "exit_url" in page.field_errors
    page = await admin.post("/admin/flows/new", {**step3, "action": "back"})
    assert page.status == 200 and 'name="group_0"' in page.text                                 # back to step 2
    page = await admin.post("/admin/flows/new", step3)
    assert page.path == "/admin/flows"
    flow = (await flow_service.list_flows(db, ta))[0]
    assert flow.rows == [(group, 200), (group, 40)] and flow.hours[6] == ["10:00", "10:00"]
    assert not flow.ring_busy_agents                                    # busy agents are skipped by default
    assert len(flow.embed_id) >= 32                                     # 192 bits, urlsafe
    text = unescape(page.text)
    assert '<script src="http://127.0.0.1/embed.js"></script>' in text
    assert f'<button id="btn-cwbbb-osr" data-cwbbb-igh="{flow.embed_id}" data-cwbbb-name="Customer" data-cwbbb-gdpr="1">' in text

    # edit through the same wizard; the embed id stays; step 2's checkbox rides along as a hidden field
    page = await admin.get(f"/admin/flows/{flow.id}/edit")
    assert 'value="Sales"' in page.text
    page = await admin.post(f"/admin/flows/{flow.id}/edit", {**step2, **rows, "ring_busy_agents": "1"})
    assert 'name="ring_busy_agents" value="1"' in page.text                                    # step 3 keeps it
    page = await admin.post(f"/admin/flows/{flow.id}/edit", {**step3, "name": "Sales 2", "ring_busy_agents": "1"})
    assert page.path == "/admin/flows"
    edited = await flow_service.get_flow(db, ta, flow.id)
    assert edited.name == "Sales 2" and edited.embed_id == flow.embed_id and edited.ring_busy_agents

    # delete after confirmation: the embed id no longer starts calls
    page = await admin.get(f"/admin/flows/{flow.id}/delete")
    assert "Delete call flow Sales 2?" in unescape(page.text)
    page = await admin.post(f"/admin/flows/{flow.id}/delete")
    assert page.path == "/admin/flows"
    resp = await cli.post("/api/calls", json={"embed_id": flow.embed_id, "name": "X"})
    assert resp.status == 404


async def test_wizard_add_and_remove_rows(world, db):
    admin = await world["login"]("admin.a@example.com")
    group = await make_group(db, world["ta"], "Sales", world["agents_a"])
    await admin.get("/admin/flows/new")
    base = {**_step1(), "step": "2", "group_0": str(group), "ring_0": "20"}
    page = await admin.post("/admin/flows/new", {**base, "action": "add_row"})
    assert 'name="group_1"' in page.text
    page = await admin.post("/admin/flows/new", {**base, "group_1": "", "ring_1": "", "action": "remove_0"})
    assert page.status == 200


async def test_flow_needs_a_group(world, db):
    draft = {**_step1(), "group_0": "", "ring_0": "30", **URLS}
    with pytest.raises(Exception) as exc:
        await flow_service.create_flow(db, world["ta"], draft)
    assert "call group" in str(exc.value.fields)


async def test_webhook_settings_secret_shown_once(world, db):
    admin = await world["login"]("admin.a@example.com")
    page = await admin.get("/admin/webhooks")
    assert page.status == 200 and "whsec_" not in page.text
    page = await admin.post("/admin/webhooks", {"start_url": "https://93.184.216.34/start", "start_headers": "Bad header",
                                               "end_url": "javascript:alert(1)", "end_headers": ""})
    assert page.status == 400
    assert set(page.field_errors) == {"start_headers", "end_url"}
    # the cloud's metadata service and the LAN are not webhook targets (the tests allow only loopback)
    page = await admin.post("/admin/webhooks", {"start_url": "http://169.254.169.254/latest/meta-data",
                                               "end_url": "http://[::ffff:10.0.0.1]/end"})
    assert page.status == 400 and set(page.field_errors) == {"start_url", "end_url"}
    assert "only addresses on the public internet" in page.field_errors["start_url"]
    page = await admin.post("/admin/webhooks", {"start_url": "https://93.184.216.34/start",
                                               "start_headers": "Authorization: Bearer x\nX-Tenant: 7",
                                               "end_url": "https://93.184.216.34/end", "end_headers": ""})
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", page.text).group(0)
    stored = await webhook_settings.get_settings(db, world["ta"])
    assert stored.secret == secret and stored.start_headers == "Authorization: Bearer x\nX-Tenant: 7"
    page = await admin.get("/admin/webhooks")
    assert "whsec_" not in page.text and "93.184.216.34/start" in page.text   # never shown again
    page = await admin.post("/admin/webhooks/secret")
    new = re.search(r"whsec_[A-Za-z0-9+/=]+", page.text).group(0)
    assert new != secret and (await webhook_settings.get_settings(db, world["ta"])).secret == new
    page = await admin.get("/admin/webhooks/log")
    assert page.status == 200 and "No deliveries yet" in page.text


@pytest.mark.parametrize("header", ["Host: x", "NoSpace:x", "Two: a\nBad line", "webhook-signature: x"])
def test_header_lines_are_validated(header):
    with pytest.raises(ValueError):
        webhook_settings.parse_headers(header)


async def test_tenant_isolation(world, db, cli, calls):
    ta = world["ta"]
    group = await make_group(db, ta, "Sales", world["agents_a"])
    embed = await make_flow(db, ta, [(group, 30)])
    flow = (await flow_service.list_flows(db, ta))[0]
    await webhook_settings.save_settings(db, ta, {"start_url": "https://alpha-crm.example/s"},
                                         policy=OutboundPolicy(), lookup=public_lookup)
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "C"})).json()
    other = await world["login"]("admin.b@example.com")
    for path in (f"/admin/groups/{group}/edit", f"/admin/groups/{group}/delete", f"/admin/flows/{flow.id}/edit",
                 f"/admin/flows/{flow.id}/delete", f"/admin/call/{body['call_id']}"):
        assert (await other.get(path)).status == 404, path
    for path in (f"/admin/groups/{group}/edit", f"/admin/groups/{group}/delete", f"/admin/flows/{flow.id}/delete"):
        assert (await other.post(path, {"name": "x"})).status == 404, path
    page = await other.get("/admin/groups")
    assert "Sales" not in page.text
    page = await other.get("/admin/flows")
    assert embed not in page.text
    assert "alpha-crm" not in (await other.get("/admin/webhooks")).text
    assert await group_service.get_group(db, ta, group)                  # untouched
    assert (await flow_service.get_flow(db, ta, flow.id)).embed_id == embed


async def test_agents_cannot_manage_routing(world, db):
    agent = await world["login"](f"alpha0.t{world['ta']}@example.com")
    for path in ("/admin/groups", "/admin/flows", "/admin/webhooks"):
        assert (await agent.get(path)).status == 403, path


async def test_wizard_closed_days_region_exceptions_and_the_next_five(world, db):
    admin = await world["login"]("admin.a@example.com")
    ta = world["ta"]
    group = await make_group(db, ta, "Sales", world["agents_a"])
    page = await admin.post("/admin/flows/new", _step1(holiday_region="DE-XX", exceptions="2026-12-24 9-12\nsoon"))
    assert page.status == 400
    assert "holiday_region" in page.field_errors and "Line 1, 2" in page.field_errors["exceptions"]
    page = await admin.post("/admin/flows/new", {**_step1(holiday_region="de-by", exceptions="2099-01-02 closed"),
                                                 "action": "preview"})
    assert page.status == 200 and 'name="name"' in page.text                # still step 1, with the preview
    closed = page.text.split('id="closed-days"')[1].split("</ul>")[0]
    assert closed.count("<li>") == 5 and "closed (exception)" not in closed   # holidays come before 2099
    step2 = {**_step1(holiday_region="de-by", exceptions="2099-01-02 closed"), "step": "2",
             "group_0": str(group), "ring_0": "30"}
    page = await admin.post("/admin/flows/new", {**step2, "step": "3", "action": "save", **URLS})
    assert page.path == "/admin/flows"
    flow = (await flow_service.list_flows(db, ta))[0]
    assert (flow.holiday_region, flow.exceptions) == ("DE-BY", [["2099-01-02", None]])
    page = await admin.get(f"/admin/flows/{flow.id}/edit")
    assert 'value="DE-BY"' in page.text and "2099-01-02 closed</textarea>" in page.text
    assert page.text.split('id="closed-days"')[1].split("</ul>")[0].count("<li>") == 5
