"""Item 12: support sees every tenant's calls, with a tenant column and filter."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from tests.admin.helpers import database
from tests.backoffice.calls_seed import call_row, insert


def _tenants_column(page) -> list[str]:
    rows = re.findall(r'<tr data-call-id="[^"]+">\s*<td>([^<]*)</td>', page.text)
    return rows


async def test_support_calls_all_tenants_then_one(client, world, browser):
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    await insert(database(client), [call_row(world.tenant_a, now, duration=30),
                                    call_row(world.tenant_b, now - timedelta(minutes=1), duration=40)])
    await browser.login("support@example.com")
    page = await browser.get("/admin/calls")
    assert page.status == 200, page.text[:300]
    assert '<th scope="col">Tenant</th>' in page.text
    assert _tenants_column(page) == ["Alpha Cars", "Beta Motors"]
    assert 'id="tenant-filter"' in page.text
    page = await browser.get(f"/admin/calls?tenant={world.tenant_b}")
    assert page.status == 200
    assert page.text.count("<tr data-call-id=") == 1
    assert '<th scope="col">Tenant</th>' not in page.text
    page = await browser.get("/admin/calls?tenant=")
    assert page.status == 200 and page.text.count("<tr data-call-id=") == 2


async def test_admin_still_sees_only_their_tenant(client, world, browser):
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    await insert(database(client), [call_row(world.tenant_a, now), call_row(world.tenant_b, now)])
    await browser.login("admin.a@example.com")
    page = await browser.get(f"/admin/calls?tenant={world.tenant_b}")
    assert page.text.count("<tr data-call-id=") == 1
    assert 'id="tenant-filter"' not in page.text and '<th scope="col">Tenant</th>' not in page.text
