"""Seeding and browser helpers of the end-to-end tests."""

from __future__ import annotations

import asyncio
import time

import pymupdf
from admin.helpers import PASSWORD, make_tenant
from api.world import make_agents, make_group

from vidzzle_media.services.tenancy import flows as flow_service

OPEN = {f"{d}_{k}": v for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        for k, v in (("start", "00:00"), ("end", "23:59"))}
CLOSED = {f"{d}_{k}": "00:00" for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
          for k in ("start", "end")}


async def make_flow(world, tenant_id: int, rows: list[tuple[int, int]], *, open_: bool = True, name: str = "Sales",
                    **options: str) -> str:
    """``options``: more wizard fields (holiday_region, exceptions, ...)."""
    form = {"name": name, **(OPEN if open_ else CLOSED), "exit_url": world.land("exit"),
            "out_of_hours_url": world.land("closed"), "escalation_url": world.land("sorry"), **options}
    for i, (gid, secs) in enumerate(rows):
        form[f"group_{i}"], form[f"ring_{i}"] = str(gid), str(secs)
    flow_id = await flow_service.create_flow(world.db, tenant_id, form)
    return (await flow_service.get_flow(world.db, tenant_id, flow_id)).embed_id


def demo_pdf(pages: int = 3) -> bytes:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=960, height=540)
        color = [(0.1, 0.3, 0.7), (0.8, 0.4, 0.1), (0.2, 0.6, 0.2)][i % 3]
        page.draw_rect(page.rect, color=color, fill=color)
        page.insert_text((60, 280), f"Presentation page {i + 1}", fontsize=40, color=(1, 1, 1))
    return doc.tobytes()


async def give_presentation(world, tenant_id: int) -> bool:
    """Upload a PDF to the tenant's library (branding); False when that service is missing."""
    try:
        from vidzzle_media.services.branding import presentations
    except ImportError:
        return False
    await presentations.upload(world.db, tenant_id, demo_pdf(), filename="demo.pdf", title="Demo")
    return True


async def team(world, name: str, agents: int = 1, ring: tuple[int, ...] = (60,), open_: bool = True,
               presentation: bool = False, language: str = "en", **flow_options: str):
    """A tenant with agents in one group and a flow ringing it; returns (tenant, agent ids, emails, embed id).

    The agents get call mails: offline ones can still answer, so a call rings
    its whole time even before (or without) an agent's console being open."""
    tenant = await make_tenant(world.db, name, language=language)
    ids = await make_agents(world.db, tenant, agents, notify_email=True)
    gid = await make_group(world.db, tenant, "Team", ids)
    embed = await make_flow(world, tenant, [(gid, secs) for secs in ring], open_=open_, **flow_options)
    if presentation:
        await give_presentation(world, tenant)
    emails = [f"agent{i}.t{tenant}@example.com" for i in range(agents)]
    return tenant, ids, emails, embed


async def logged_in(browser, world, email: str, **context_options):
    """A new browser context logged in to the back office (on the dashboard)."""
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    await page.goto(world.base + "/admin/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.press("input[name=password]", "Enter")
    await page.wait_for_url("**/admin/**")
    return context, page


async def agent_console(browser, world, email: str):
    """A logged-in agent context on /admin/console, online."""
    context, page = await logged_in(browser, world, email)
    await page.goto(world.base + "/admin/console")
    await page.wait_for_selector("#presence[data-state=online]", timeout=10000)
    return context, page


MEDIA_JS = """async () => {
  const v = window.vidzzle; const c = v && v.client;
  if (!c || !c.subscribePc) return null;
  const s = await c.stats();
  return { video: s.inboundVideo.map((x) => ({ mid: x.mid, frames: x.framesDecoded,
                                                source: (c.tracks.get(x.mid) || {}).source })),
           audio: s.inboundAudio.map((x) => x.totalSamplesReceived) };
}"""


def _frames(stats, source):
    return max([v["frames"] for v in stats["video"] if v["source"] == source] or [0])


async def media(target) -> dict | None:
    return await target.evaluate(MEDIA_JS)


async def wait_media(target, *, video=("camera",), audio: bool = True, timeout: float = 25.0) -> dict:
    """Poll getStats() until each wanted video source decoded frames and audio
    samples arrived, then check that they keep growing."""
    deadline = time.monotonic() + timeout
    while True:
        s = await media(target)
        if s and all(_frames(s, src) > 0 for src in video) and (not audio or max(s["audio"] or [0]) > 0):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"media did not flow: {s}")
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.2)
    later = await media(target)
    grow = [src for src in video if src != "presentation"]   # the presentation only sends on page changes
    for src in grow:
        assert _frames(later, src) > _frames(s, src), f"{src} frames stopped: {s} -> {later}"
    if audio:
        assert max(later["audio"]) > max(s["audio"]), f"audio stopped: {s} -> {later}"
    return later


async def call_frame(page, timeout: float = 10.0):
    """The customer's call page inside embed.js's overlay iframe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "/call?" in frame.url:
                return frame
        await asyncio.sleep(0.05)
    raise AssertionError(f"no call frame in {[f.url for f in page.frames]}")


async def click_call(page) -> float:
    """Click the dealer's button; returns the click time (ms, Date.now of the page)."""
    return await page.evaluate("() => { const t = Date.now(); document.getElementById('btn-cwbbb-osr').click(); return t; }")


async def toast(agent_page, timeout: float = 10.0) -> str:
    el = await agent_page.wait_for_selector(".toast:not(.gone)", timeout=timeout * 1000)
    return await el.get_attribute("data-call-id")


# ---- what the user sees ------------------------------------------------------

SIZES = {"wide": (1280, 800), "phone": (390, 844)}
CALL_PANELS = ("v-gdpr", "v-wait", "v-call", "v-end")


async def only_panel(target, panel: str) -> None:
    """Exactly ``panel`` of the call page's four panels is visible."""
    visible = [p for p in CALL_PANELS if await target.locator(f"#{p}").is_visible()]
    assert visible == [panel], f"visible panels {visible}, expected only {panel}"


async def fully_in_view(page, target, selector: str) -> None:
    """``selector`` is visible and lies inside the viewport of ``page``."""
    loc = target.locator(selector)
    assert await loc.is_visible(), f"{selector} is not visible"
    box = await loc.bounding_box()
    size = page.viewport_size
    assert box and box["x"] >= 0 and box["y"] >= 0, f"{selector} starts outside the page: {box}"
    assert box["x"] + box["width"] <= size["width"] + 0.5, f"{selector} is cut off at the right: {box} in {size}"
    assert box["y"] + box["height"] <= size["height"] + 0.5, f"{selector} is cut off at the bottom: {box} in {size}"


async def at_sizes(page, name: str, check) -> None:
    """Run ``check()`` at 1280x800 and 390x844 and keep a screenshot of each
    (in $VIDZZLE_SCREENSHOTS when set, for a person to look at)."""
    import os
    original = page.viewport_size
    for label, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(50)
        await check()
        shot = await page.screenshot()
        assert len(shot) > 1000
        folder = os.environ.get("VIDZZLE_SCREENSHOTS")
        if folder:
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{name}-{label}.png"), "wb") as f:
                f.write(shot)
    if original:
        await page.set_viewport_size(original)


async def wait_true(target, expression: str, timeout: float = 30000) -> None:
    """Poll a JS expression until it is truthy (ms timeout). Playwright's
    wait_for_function evaluates its predicate with eval() inside the page,
    which our pages' Content Security Policy forbids (as it should); a plain
    evaluate() is the browser's own (DevTools) evaluation and is allowed."""
    deadline = time.monotonic() + timeout / 1000
    while not await target.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        await asyncio.sleep(0.05)
