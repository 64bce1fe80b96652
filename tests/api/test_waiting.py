"""The customer's waiting view (issue 15 item 3): elapsed time, the honest
estimate from the flow's history, the place in line, who they wait for and
that group's picture (uploaded through the group form, re-encoded)."""

from __future__ import annotations

import io
from datetime import timedelta

import aiohttp
from admin.helpers import PASSWORD, Browser, make_tenant
from backoffice.calls_seed import call_row, insert
from PIL import Image

from vidzzle_media.services.calls.waiting import MIN_HISTORY, remaining_s
from vidzzle_media.store import flows as flow_store

from .world import make_agents, make_flow, make_group


def test_the_estimate_counts_only_calls_slower_than_this_wait():
    times = [10, 12, 14, 40, 50, 60, 70, 80]
    assert remaining_s(times, 0) == 45 - 0          # median of all eight: 45
    assert remaining_s(times, 30) == 60 - 30        # median of the five still unanswered after 30 s: 60
    assert remaining_s(times, 45) is None           # only four answered later than 45 s: no number
    assert remaining_s(times[:MIN_HISTORY - 1], 0) is None


def png(width: int, height: int, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


async def _status(cli, body):
    resp = await cli.get(f"/api/calls/{body['call_id']}", params={"key": body["customer_key"]})
    return await resp.json()


async def test_waiting_view_estimate_queue_and_who(cli, db, calls, clock):
    tenant = await make_tenant(db, "Autohaus Sonne")
    group = await make_group(db, tenant, "Verkauf", await make_agents(db, tenant, 1, notify_email=True))
    embed = await make_flow(db, tenant, [(group, 120)])
    flow = (await flow_store.list_flows(db, tenant))[0]
    first = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "A"})).json()
    await calls.dispatcher.settle()
    status = await _status(cli, first)
    assert status["state"] == "ringing" and status["waited_s"] == 0
    assert status["estimate_s"] is None                          # no history yet: no number
    assert (status["position"], status["waiting"]) == (1, 1)
    assert (status["dealer"], status["group"], status["picture"]) == ("Autohaus Sonne", "Verkauf", False)

    now = clock.now()
    history = []
    for i, answer_s in enumerate([20, 30, 40, 50, 60, 70]):
        row = call_row(tenant, now - timedelta(hours=i + 1), flow_id=flow.id, duration=60)
        row.accepted_at = (now - timedelta(hours=i + 1) + timedelta(seconds=answer_s)).isoformat(timespec="milliseconds")
        history.append(row)
    await insert(db, history + [call_row(tenant, now - timedelta(days=40), flow_id=flow.id, duration=5)])
    await clock.advance(10)
    second = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "B"})).json()
    await calls.dispatcher.settle()
    status = await _status(cli, first)
    assert status["waited_s"] == 10 and status["estimate_s"] == 45 - 10      # median of 6 answers: 45 s
    assert (status["position"], status["waiting"]) == (1, 2)
    status = await _status(cli, second)
    assert (status["position"], status["waiting"], status["estimate_s"]) == (2, 2, 45)
    await cli.post(f"/api/calls/{first['call_id']}/leave", json={"customer_key": first["customer_key"]})
    status = await _status(cli, second)
    assert (status["position"], status["waiting"]) == (1, 1)


async def _upload(browser, path: str, fields: dict, picture: bytes | None):
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.token)
    for key, value in fields.items():
        form.add_field(key, value)
    if picture is not None:
        form.add_field("picture", picture, filename="team.png", content_type="application/octet-stream")
    async with browser.session.post(f"{browser.base}{path}", data=form) as resp:
        return resp.status, await resp.text()


async def test_group_picture_upload_is_checked_re_encoded_and_shown_to_the_waiting_customer(cli, db, calls):
    tenant = await make_tenant(db, "Autohaus Mond")
    ids = await make_agents(db, tenant, 1, notify_email=True)
    async with db.transaction() as conn:
        await conn.execute("UPDATE users SET role = 'admin' WHERE id = ?", (ids[0],))
    admin = Browser(str(cli.make_url("/")))
    await admin.login(f"agent0.t{tenant}@example.com", PASSWORD)
    await admin.get("/admin/groups/new")
    fields = {"name": "Service", "members": str(ids[0])}
    status, text = await _upload(admin, "/admin/groups/new", fields, png(2000, 300))
    assert status == 400 and "2000×300" in text                       # too large: refused, nothing saved
    status, text = await _upload(admin, "/admin/groups/new", fields, b"GIF89a not really")
    assert status == 400
    status, _ = await _upload(admin, "/admin/groups/new", fields, png(400, 300))
    assert status == 200
    group = (await _groups(db, tenant))[0]
    async with admin.session.get(f"{admin.base}/admin/groups/{group}/picture") as resp:
        stored = await resp.read()
    assert resp.status == 200 and Image.open(io.BytesIO(stored)).size == (160, 160)   # re-encoded square

    embed = await make_flow(db, tenant, [(group, 60)])
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "C"})).json()
    await calls.dispatcher.settle()
    assert (await _status(cli, body))["picture"] is True
    resp = await cli.get(f"/api/calls/{body['call_id']}/picture", params={"key": body["customer_key"]})
    assert resp.status == 200 and await resp.read() == stored
    resp = await cli.get(f"/api/calls/{body['call_id']}/picture", params={"key": "wrong"})
    assert resp.status == 404

    await admin.get(f"/admin/groups/{group}/edit")
    status, _ = await _upload(admin, f"/admin/groups/{group}/edit", {**fields, "remove_picture": "1"}, None)
    assert status == 200
    assert (await _status(cli, body))["picture"] is False
    await admin.close()


async def _groups(db, tenant) -> list[int]:
    rows = await db.fetchall("SELECT id FROM call_groups WHERE tenant_id = ?", (tenant,))
    return [r["id"] for r in rows]
