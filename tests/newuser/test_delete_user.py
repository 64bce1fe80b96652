"""Item 13: deleting a user removes the person from every row that names
them, while the tenant's call counts stay."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from tests.admin.helpers import database
from tests.backoffice.calls_seed import call_row, insert
from vidzzle_media import events
from vidzzle_media.services.calls.dashboard import dashboard
from vidzzle_media.services.outbox.mail import queue_mail
from vidzzle_media.services.outbox.sms import queue_sms
from vidzzle_media.services.outbox.webhooks import generate_secret, queue_webhook
from vidzzle_media.store import calls as call_store
from vidzzle_media.store import sms_log

PHONE = "+491711234567"   # make_user's "+49 171 1234567", as SMS rows hold it


async def test_delete_user_erases_the_person_keeps_the_counts(client, world, browser):
    db = database(client)
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    row = call_row(world.tenant_a, now, duration=90, agent_id=world.user_a, agent_name="Udo User")
    row = row.__class__(**{**row.__dict__, "agent_email": "user.a@example.com"})
    await insert(db, [row])
    async with db.transaction() as conn:
        await call_store.add_event(conn, events.CallAccepted(call_id=row.id, tenant_id=world.tenant_a,
                                                             at=row.created_at, user_id=world.user_a,
                                                             user_name="Udo User"))
        sent_sms = await queue_sms(conn, tenant_id=world.tenant_a, to=PHONE, text="Incoming call")
        await queue_sms(conn, tenant_id=world.tenant_a, to=PHONE, text="Another call")
        await queue_mail(conn, template="call_notification", tenant_id=world.tenant_a, to_email="user.a@example.com",
                         to_name="Udo User", link="http://x/l", sender_name="Alpha", now=now)
        await queue_webhook(conn, tenant_id=world.tenant_a, url="https://crm.example/hook", headers={},
                            body={"callid": row.id, "userid": world.user_a, "username": "user.a@example.com"},
                            secret=generate_secret(), event="call.end")
        await conn.execute("UPDATE outbox SET state = 'sent', sent_at = ? WHERE id = ?", (row.created_at, sent_sms))
    await sms_log.insert(db, outbox_id=sent_sms, tenant_id=world.tenant_a, recipient=PHONE, text="Incoming call",
                         now=now)
    before = await dashboard(db, world.tenant_a)

    await browser.login("admin.a@example.com")
    page = await browser.get(f"/admin/users/{world.user_a}/delete")
    page = await browser.post(f"/admin/users/{world.user_a}/delete", {})
    assert page.status == 200 and await db.fetchone("SELECT 1 FROM users WHERE id = ?", (world.user_a,)) is None

    after = await dashboard(db, world.tenant_a)
    assert (after.calls_today, after.avg_duration_s) == (before.calls_today, before.avg_duration_s) == (1, 90)
    calls = await browser.get("/admin/calls")
    assert "Udo User" not in calls.text and row.id in calls.text
    dump = []
    for table in ("calls", "call_events", "outbox", "sms_log", "login_failures"):
        dump += [json.dumps(dict(r)) for r in await db.fetchall(f"SELECT * FROM {table}")]
    text = "\n".join(dump)
    for trace in ("Udo User", "user.a@example.com", PHONE, "171 1234567"):
        assert trace not in text, trace
    assert await db.fetchval("SELECT COUNT(*) FROM sms_log") == 1            # the SMS still counts
    assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE state = 'queued' AND kind = 'sms'") == 0
    body = json.loads(json.loads(await db.fetchval("SELECT payload FROM outbox WHERE kind = 'webhook'"))["body"])
    assert body["username"] == "" and body["callid"] == row.id
