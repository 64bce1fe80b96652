"""Item 17: the flow wizard marks the current step."""

from __future__ import annotations

import re


async def test_current_step_is_marked(client, world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/flows/new")
    current = re.findall(r'<li aria-current="step" class="current">([^<]+)</li>', page.text)
    assert len(current) == 1 and current[0].startswith("1. "), page.text[:3000]
    css = (await browser.get("/static/css/admin.css")).text
    rule = re.search(r"\.wizard-steps \.current\s*\{([^}]*)\}", css)
    assert rule and "background" in rule.group(1) and "font-weight" in rule.group(1)
