"""Seeding for the routing tests: tenants, agents, groups, flows; agents'
browsers with the /ws/agent socket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from admin.helpers import PASSWORD, Browser

from vidzzle_media.services.accounts.passwords import hash_password
from vidzzle_media.services.tenancy import flows as flow_service
from vidzzle_media.services.tenancy import groups as group_service
from vidzzle_media.store import accounts as account_store
from vidzzle_media.store.database import utcnow

ALL_WEEK = {f"{d}_{k}": v for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            for k, v in (("start", "00:00"), ("end", "23:59"))}
URLS = {"exit_url": "https://dealer.example/thanks", "out_of_hours_url": "https://dealer.example/closed",
        "escalation_url": "https://dealer.example/sorry"}

_PHC: str | None = None


async def make_agents(db, tenant_id: int, count: int, *, prefix: str = "agent", notify_email: bool = False,
                      notify_sms: bool = False, mobile: str = "+49 171 1234567") -> list[int]:
    """Unlocked users with the test password (hashed once: argon2 is slow on purpose)."""
    global _PHC
    if _PHC is None:
        _PHC = await hash_password(PASSWORD)
    ids = []
    async with db.transaction() as conn:
        for i in range(count):
            uid = await account_store.insert_user(conn, tenant_id=tenant_id, role="user", name=f"{prefix.title()} {i}",
                                                  email=f"{prefix}{i}.t{tenant_id}@example.com", mobile=mobile,
                                                  now=utcnow(), locked=False)
            await account_store.set_password_hash(conn, uid, _PHC, unlock=True)
            await conn.execute("UPDATE users SET notify_email = ?, notify_sms = ? WHERE id = ?",
                               (int(notify_email), int(notify_sms), uid))
            ids.append(uid)
    return ids


async def make_group(db, tenant_id: int, name: str, members: list[int]) -> int:
    return await group_service.create_group(db, tenant_id, {"name": name, "members": [str(m) for m in members]})


async def make_flow(db, tenant_id: int, rows: list[tuple[int, int]], *, hours: dict | None = None,
                    name: str = "Sales", **options: str) -> str:
    """A flow; returns its embed id. ``options``: more wizard fields (holiday_region, exceptions, ...)."""
    form = {"name": name, **(hours or ALL_WEEK), **URLS, **options}
    for i, (gid, secs) in enumerate(rows):
        form[f"group_{i}"], form[f"ring_{i}"] = str(gid), str(secs)
    flow_id = await flow_service.create_flow(db, tenant_id, form)
    return (await flow_service.get_flow(db, tenant_id, flow_id)).embed_id


@dataclass
class Agent:
    """A logged-in back-office browser holding the agent socket."""

    browser: Browser
    user_id: int
    ws: object = None
    inbox: list[dict] = field(default_factory=list)

    async def connect(self) -> None:
        self.ws = await self.browser.session.ws_connect(self.browser.base + "/ws/agent")
        hello = await self.ws.receive_json(timeout=5)
        assert hello["type"] == "hello"

    async def next(self, kind: str, timeout: float = 5.0) -> dict:
        """The next message of ``kind`` (earlier ones of other kinds are kept)."""
        for i, msg in enumerate(self.inbox):
            if msg["type"] == kind:
                return self.inbox.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {kind!r} message; got {self.inbox}")
            msg = await self.ws.receive_json(timeout=left)
            if msg["type"] == kind:
                return msg
            self.inbox.append(msg)

    async def drain(self, wait: float = 0.05) -> list[dict]:
        """Everything that arrives within ``wait`` seconds."""
        try:
            while True:
                self.inbox.append(await self.ws.receive_json(timeout=wait))
        except (asyncio.TimeoutError, TimeoutError):
            pass
        return self.inbox

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.browser.close()


async def online_agent(client, user_id: int, email: str) -> Agent:
    browser = Browser(str(client.make_url("/")))
    page = await browser.login(email)
    assert page.status == 200, page.text[:300]
    agent = Agent(browser, user_id)
    await agent.connect()
    return agent
