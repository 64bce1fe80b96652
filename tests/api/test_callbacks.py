"""Callback requests (issue 15 item 4) on the real app: offered out of
hours and after escalation on a flow that offers them (not otherwise),
validated, one per call, notified by real SMTP mail and an SMS gateway,
sent as a signed ``callback.requested`` webhook, and worked off in the back
office: take it, call back by video with one click, or mark it done."""

from __future__ import annotations

import json

from admin.helpers import LOOPBACK, PASSWORD, Browser, make_tenant

from vidzzle_media.services.tenancy import webhook_settings
from vidzzle_media.store import calls as call_store

from .test_notifications import Peer, _verify
from .test_notifications import gateway as gateway  # noqa: F401  (the SMS gateway fixture)
from .world import ALL_WEEK, make_agents, make_flow, make_group

CLOSED = dict(ALL_WEEK, monday_start="09:00", monday_end="09:00")      # the test clock says Monday


async def _tenant(db):
    tenant = await make_tenant(db, "Callback Cars")
    mailed = await make_agents(db, tenant, 1, notify_email=True)
    texted = await make_agents(db, tenant, 1, prefix="sms", notify_sms=True, mobile="+49 171 5550002")
    group = await make_group(db, tenant, "Sales", mailed + texted)
    return tenant, group, mailed[0]


async def test_out_of_hours_offers_a_callback_that_notifies_and_sends_the_webhook(smtp_server, gateway, cli, db):
    hook = await Peer().start()
    try:
        tenant, group, _ = await _tenant(db)
        secret = await webhook_settings.save_settings(db, tenant, {"callback_url": hook.url + "/callback"},
                                                      policy=LOOPBACK)
        plain = await make_flow(db, tenant, [(group, 30)], hours=CLOSED, name="Plain")
        offering = await make_flow(db, tenant, [(group, 30)], hours=CLOSED, offer_callback="1")
        body = await (await cli.post("/api/calls", json={"embed_id": plain, "name": "A"})).json()
        assert "callback" not in body and "customer_key" not in body            # off: straight to the URL
        body = await (await cli.post("/api/calls", json={"embed_id": offering, "name": "Erika"})).json()
        assert body["state"] == "out_of_hours" and body["callback"] == "offered"
        assert body["out_of_hours_url"] == "https://dealer.example/closed"     # "No, thanks" still goes there
        url, key = f"/api/calls/{body['call_id']}/callback", body["customer_key"]

        resp = await cli.post(url, json={"customer_key": key, "name": "", "phone": "call me", "email": "x@"})
        assert resp.status == 400
        assert set((await resp.json())["fields"]) == {"name", "phone", "email"}
        resp = await cli.post(url, json={"customer_key": key, "name": "Erika", "phone": "", "email": ""})
        assert resp.status == 400 and "phone" in (await resp.json())["fields"]
        resp = await cli.post(url, json={"customer_key": "wrong", "name": "Erika", "phone": "+49 89 1234567"})
        assert resp.status == 404
        resp = await cli.post(url, json={"customer_key": key, "name": "Erika Muster", "phone": "+49 89 1234567",
                                         "preferred": "tomorrow after 4 pm"})
        assert resp.status == 201 and (await resp.json())["callback"] == "requested"
        resp = await cli.post(url, json={"customer_key": key, "name": "Erika Muster", "phone": "+49 89 1234567"})
        assert resp.status == 409                                               # one per call

        mail = (await smtp_server.wait())[0]
        assert mail["To"].addresses[0].addr_spec == f"agent0.t{tenant}@example.com"
        assert "/admin/callbacks" in mail.get_body(("plain",)).get_content()
        await gateway.wait(1)
        assert "/admin/callbacks" in gateway.requests[0][1]
        await hook.wait(1)
        headers, raw = hook.requests[0]
        sent = json.loads(raw)
        assert headers["webhook-id"] and _verify(secret, headers, raw)
        assert sent | {"callbackid": 0, "created": ""} == {
            "callbackid": 0, "callid": body["call_id"], "callflow": sent["callflow"], "name": "Erika Muster",
            "phone": "+49 89 1234567", "email": "", "preferred": "tomorrow after 4 pm", "created": ""}
    finally:
        await hook.stop()


async def test_escalated_call_offers_it_and_the_back_office_works_it_off(cli, db, calls, clock):
    tenant, group, agent_id = await _tenant(db)
    embed = await make_flow(db, tenant, [(group, 20)], offer_callback="1")
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Max"})).json()
    await calls.dispatcher.settle()
    await clock.advance(20)
    await calls.dispatcher.settle()
    status = await (await cli.get(f"/api/calls/{body['call_id']}", params={"key": body["customer_key"]})).json()
    assert status["state"] == "escalated" and status["callback"] == "offered"
    resp = await cli.post(f"/api/calls/{body['call_id']}/callback",
                          json={"customer_key": body["customer_key"], "name": "Max", "phone": "+49 171 5550009"})
    assert resp.status == 201

    admin = Browser(str(cli.make_url("/")))
    try:
        await admin.login(f"agent0.t{tenant}@example.com", PASSWORD)
        dashboard = await admin.get("/admin/")
        assert 'id="tile-callbacks">1<' in dashboard.text
        page = await admin.get("/admin/callbacks")
        assert "Max" in page.text and "+49 171 5550009" in page.text
        callback_id = int(page.text.split('data-callback-id="')[1].split('"')[0])
        page = await admin.post(f"/admin/callbacks/{callback_id}/claim")
        assert "Taken by Agent 0" in page.text
        page = await admin.post(f"/admin/callbacks/{callback_id}/call")
        assert page.path.startswith("/admin/call/")                              # in the follow-up call
        follow_up = await call_store.get_call(db, page.path.rsplit("/", 1)[1])
        assert follow_up.direction == "outgoing" and follow_up.customer_name == "Max"
        sms = await db.fetchall("SELECT recipient FROM outbox WHERE kind = 'sms' AND payload LIKE '%/join/%'")
        assert [r["recipient"] for r in sms] == ["+491715550009"]                # the invitation
        page = await admin.get("/admin/callbacks")
        assert "No callback requests." in page.text
        page = await admin.get("/admin/callbacks?state=done")
        assert "Max" in page.text and "video call back" in page.text
        assert 'id="tile-callbacks">0<' in (await admin.get("/admin/")).text
    finally:
        await admin.close()
