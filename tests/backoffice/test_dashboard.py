"""Dashboard figures (R-DASH-1/2) against seeded call records: the tenant's
local day in a non-UTC (and non-whole-hour) time zone, the 48-hour window
edges, other tenants' calls, and the calls list behind every number."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from tests.admin.helpers import database
from vidzzle_media import events
from vidzzle_media.services.calls import call_list
from vidzzle_media.services.calls.dashboard import dashboard
from vidzzle_media.store import calls as call_store
from vidzzle_media.store import tenants as tenant_store

from .calls_seed import call_row, insert

UTC = timezone.utc
NOW = datetime(2026, 3, 10, 12, 40, tzinfo=UTC)   # 18:10 in Asia/Kolkata (+05:30)
MS = timedelta(milliseconds=1)


async def _set_tz(db, tenant_id: int, tz: str) -> None:
    record = await tenant_store.get_tenant(db, tenant_id)
    async with db.transaction() as conn:
        await tenant_store.update_tenant(conn, tenant_id, name=record.name, street=record.street, zip=record.zip,
                                         city=record.city, email=record.email, timezone=tz)


async def test_today_and_48h_window_in_kolkata(client, world):
    db = database(client)
    await _set_tz(db, world.tenant_a, "Asia/Kolkata")
    a, b = world.tenant_a, world.tenant_b
    local_midnight = datetime(2026, 3, 9, 18, 30, tzinfo=UTC)         # 2026-03-10 00:00 in Kolkata
    window_start = datetime(2026, 3, 8, 13, 30, tzinfo=UTC)           # 48 local hours before 19:00 local
    await insert(db, [
        call_row(a, local_midnight, duration=60),                       # today, first instant
        call_row(a, local_midnight - MS, duration=999),                # yesterday (last instant)
        call_row(a, NOW - timedelta(minutes=5), duration=120),         # today, current hour
        call_row(a, NOW - timedelta(minutes=1), state="missed", miss_reason="rang_unanswered"),
        call_row(a, NOW - timedelta(minutes=2), state="abandoned"),
        call_row(a, NOW - timedelta(minutes=3), state="ringing"),
        call_row(a, NOW - timedelta(hours=1), direction="outgoing", duration=30),
        call_row(a, window_start, state="out_of_hours"),               # first instant of the chart
        call_row(a, window_start - MS, duration=10),                    # just outside the chart
        call_row(a, NOW + timedelta(hours=7), duration=500),           # tomorrow (local): outside both
        call_row(b, NOW - timedelta(minutes=5), duration=1000),        # another tenant
        call_row(b, local_midnight, duration=1000),
    ])
    d = await dashboard(db, a, now=NOW)
    assert d.day.isoformat() == "2026-03-10" and d.timezone == "Asia/Kolkata"
    assert d.calls_today == 5            # incoming today: midnight, -5 min, missed, abandoned, ringing
    assert d.incoming.video_calls == 2   # with a duration: 60, 120
    assert d.avg_duration_s == 90        # one definition: incoming calls only
    assert (d.outgoing.calls, d.outgoing.video_calls, d.outgoing.avg_duration_s) == (1, 1, 30)
    assert len(d.bars) == 48
    assert d.bars[0].start == datetime(2026, 3, 8, 19, 0, tzinfo=d.bars[0].start.tzinfo)   # local hour start
    assert (d.bars[0].incoming, d.bars[0].accepted, d.bars[0].not_accepted) == (1, 0, 1)
    last = d.bars[-1]
    assert last.start.hour == 18 and last.start.minute == 0
    assert (last.incoming, last.accepted, last.not_accepted) == (4, 1, 2)   # ringing is in neither
    total_incoming = sum(bar.incoming for bar in d.bars)
    assert total_incoming == 7   # midnight, yesterday-last, 4 in current hour, window start (not: before, future, B)
    # the numbers link to exactly the calls behind them
    page = await call_list.call_page(db, a, _query(d.links["calls_today"]))
    assert len(page.rows) == d.calls_today
    page = await call_list.call_page(db, a, _query(d.links["avg_duration"]))
    assert sorted(r.duration_s for r in page.rows) == [60, 120]
    page = await call_list.call_page(db, a, _query(d.links["avg_outgoing"]))
    assert [r.duration_s for r in page.rows] == [30]
    page = await call_list.call_page(db, a, _query(d.links["outgoing"]))
    assert [r.direction for r in page.rows] == ["outgoing"]
    page = await call_list.call_page(db, a, _query(last.links["not_accepted"]))
    assert sorted(r.state for r in page.rows) == ["abandoned", "missed"]
    assert {r.miss_reason for r in page.rows} == {"rang_unanswered", ""}
    page = await call_list.call_page(db, a, _query(d.bars[0].links["incoming"]))
    assert [r.state for r in page.rows] == ["out_of_hours"]


def _query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


async def test_dst_day_in_berlin_has_23_hours(client, world):
    db = database(client)   # tenants are seeded in Europe/Berlin
    spring = datetime(2026, 3, 29, 21, 0, tzinfo=UTC)   # 23:00 CEST on the DST day
    await insert(db, [call_row(world.tenant_a, datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),      # 00:00 CET: today
                      call_row(world.tenant_a, datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC)),  # yesterday
                      call_row(world.tenant_a, datetime(2026, 3, 29, 21, 59, tzinfo=UTC))])     # 23:59 CEST: today
    d = await dashboard(db, world.tenant_a, now=spring)
    assert d.calls_today == 2


async def test_empty_tenant_has_zeros(client, world):
    d = await dashboard(database(client), world.tenant_b, now=NOW)
    assert (d.calls_today, d.avg_duration_s) == (0, 0)
    assert all(bar.incoming == 0 for bar in d.bars)


async def test_calls_list_filters_and_isolation(client, world, browser):
    db = database(client)
    now = datetime.now(UTC)
    rows = [call_row(world.tenant_a, now - timedelta(minutes=i), state="missed" if i % 3 == 0 else "ended",
                     duration=60, agent_id=world.user_a, agent_name="Udo User",
                     miss_reason="no_agent_available" if i % 3 == 0 else "") for i in range(120)]
    await insert(db, rows + [call_row(world.tenant_b, now, state="missed", miss_reason="rang_unanswered")])
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/calls")
    assert page.status == 200
    assert page.text.count("data-call-id=") == 50 and 'id="next-page"' in page.text
    assert "No agent available (nobody online or free)" in page.text
    seen = set()
    path = "/admin/calls?state=missed"
    while path:
        page = await browser.get(path)
        ids = {line.split('"')[1] for line in page.text.split("data-call-id=")[1:]}
        assert not ids & seen
        seen |= ids
        marker = 'id="next-page" href="'
        path = page.text.split(marker)[1].split('"')[0].replace("&amp;", "&") if marker in page.text else ""
    assert len(seen) == 40
    page = await browser.get(f"/admin/calls?agent={world.user_a}&state=ended")
    assert page.text.count("data-call-id=") == 50
    page = await browser.get("/admin/calls?state=bogus&date=yesterday")
    assert page.status == 200 and "ignored" in page.text
    # tenant B's call is not in A's list, and B sees only its own
    b_call = (await call_list.call_page(db, world.tenant_b, {})).rows[0].id
    assert b_call not in (await browser.get("/admin/calls")).text


async def test_dashboard_page_draws_svg_with_links(client, world, browser):
    db = database(client)
    now = datetime.now(UTC)
    await insert(db, [call_row(world.tenant_a, now - timedelta(minutes=1), duration=125),
                      call_row(world.tenant_a, now - timedelta(minutes=2), state="missed")])
    await browser.login("user.a@example.com")
    page = await browser.get("/admin/")
    assert '<svg id="calls-chart"' in page.text and "<rect" in page.text
    assert 'href="/admin/calls?date=' in page.text
    assert 'id="tile-calls-today">2<' in page.text
    assert "2:05 min" in page.text


async def test_why_calls_were_not_accepted_breakdown_links_to_its_calls(client, world, browser):
    db = database(client)
    a = world.tenant_a
    await insert(db, [
        call_row(a, NOW - timedelta(hours=1), state="missed", miss_reason="no_agent_available"),
        call_row(a, NOW - timedelta(hours=2), state="missed", miss_reason="no_agent_available"),
        call_row(a, NOW - timedelta(days=6), state="out_of_hours", miss_reason="out_of_hours"),
        call_row(a, NOW - timedelta(days=8), state="missed", miss_reason="rang_unanswered"),     # older than 7 days
        call_row(a, NOW - timedelta(minutes=3), state="abandoned", miss_reason="customer_cancelled"),
        call_row(a, NOW - timedelta(minutes=4), duration=30),                                    # answered
        call_row(world.tenant_b, NOW - timedelta(hours=1), state="missed", miss_reason="all_declined"),
    ])
    d = await dashboard(db, a, now=NOW)
    assert [(m.reason, m.count) for m in d.missed] == [("no_agent_available", 2), ("customer_cancelled", 1),
                                                       ("out_of_hours", 1)]
    for m in d.missed:
        page = await call_list.call_page(db, a, _query(m.link))
        assert [r.miss_reason for r in page.rows] == [m.reason] * m.count
    page = await call_list.call_page(db, a, {"reason": "nonsense"})
    assert "reason" in page.problems and len(page.rows) == 6

    await browser.login("admin.a@example.com")
    shown = await browser.get("/admin/")                  # the page counts up to the real now: nothing yet
    assert "Why calls were not accepted (last 7 days)" in shown.text and 'data-reason="' not in shown.text
    await insert(db, [call_row(a, datetime.now(UTC) - timedelta(minutes=1), state="abandoned",
                               miss_reason="customer_cancelled")])
    shown = await browser.get("/admin/")
    assert 'data-reason="customer_cancelled"' in shown.text and "Customer cancelled" in shown.text
    listed = await browser.get("/admin/calls?reason=customer_cancelled")
    assert listed.text.count("data-call-id=") == 2
    assert "Customer cancelled after 0:00 min" in listed.text     # with the time the customer waited


async def test_calls_list_says_which_calls_were_interrupted_and_went_on(client, world, browser):
    """A call whose media worker died went on in a moved room (CallInterrupted events): the list says so."""
    db = database(client)
    now = datetime.now(UTC)
    once, twice, plain = (call_row(world.tenant_a, now - timedelta(minutes=i), duration=60, agent_id=world.user_a,
                                   agent_name="Udo User") for i in (1, 2, 3))
    await insert(db, [once, twice, plain])
    async with db.transaction() as conn:
        for row, count in ((once, 1), (twice, 2)):
            for _ in range(count):
                await call_store.add_event(conn, events.CallInterrupted(call_id=row.id, tenant_id=row.tenant_id,
                                                                        at=row.created_at, reason="worker_lost",
                                                                        state="accepted"))
    await browser.login("admin.a@example.com")

    def reason_of(text: str, call_id: str) -> str:
        row = text.split(f'data-call-id="{call_id}"')[1].split("</tr>")[0]
        return row.split("<td>")[5].split("</td>")[0]

    page = (await browser.get("/admin/calls")).text
    assert reason_of(page, once.id) == "Interrupted once (a media process failed), then went on"
    assert reason_of(page, twice.id) == "Interrupted 2 times (a media process failed), then went on"
    assert reason_of(page, plain.id) == ""
    page = (await browser.post("/admin/language", {"language": "de", "next": "/admin/calls"})).text
    assert reason_of(page, twice.id) == "2-mal unterbrochen (ein Medienprozess ist ausgefallen), dann ging es weiter"
