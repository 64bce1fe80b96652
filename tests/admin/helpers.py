"""Back-office test helpers: a cookie-keeping browser and seeded accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import aiohttp

from vidzzle_media import keys
from vidzzle_media.services.accounts.passwords import hash_password
from vidzzle_media.store import accounts as account_store
from vidzzle_media.store import tenants as tenant_store
from vidzzle_media.store.database import utcnow
from vidzzle_media.transports.outbound import OutboundPolicy

PASSWORD = "correct horse 1"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FLASH = re.compile(r'class="flash flash-(\w+)"[^>]*>([^<]*)<')
_FIELD_ERROR = re.compile(r'<p class="field-error" id="err-([\w-]+)">([^<]*)</p>')


@dataclass
class Page:
    """A fetched page: status, final path and text."""

    status: int
    path: str
    text: str

    @property
    def flashes(self) -> list[tuple[str, str]]:
        return [(k, unescape(t)) for k, t in _FLASH.findall(self.text)]

    @property
    def field_errors(self) -> dict[str, str]:
        return {k: unescape(v) for k, v in _FIELD_ERROR.findall(self.text)}

    @property
    def csrf(self) -> str | None:
        found = _CSRF.search(self.text)
        return found.group(1) if found else None


class Browser:
    """One visitor with its own cookie jar against the running test server."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.token: str | None = None

    async def close(self) -> None:
        await self.session.close()

    async def get(self, path: str, *, follow: bool = True) -> Page:
        url = path if path.startswith("http") else self.base + path
        async with self.session.get(url, allow_redirects=follow) as resp:
            page = Page(resp.status, resp.url.path if follow else resp.headers.get("Location", ""), await resp.text())
        if page.csrf:
            self.token = page.csrf
        return page

    async def post(self, path: str, data: dict | None = None, *, csrf: bool = True, follow: bool = True) -> Page:
        data = dict(data or {})
        if csrf:
            if self.token is None:
                await self.get("/admin/login")
            data["csrf_token"] = self.token
        url = path if path.startswith("http") else self.base + path
        async with self.session.post(url, data=data, allow_redirects=follow) as resp:
            page = Page(resp.status, resp.url.path if follow else resp.headers.get("Location", ""), await resp.text())
        if page.csrf:
            self.token = page.csrf
        return page

    async def login(self, email: str, password: str = PASSWORD) -> Page:
        await self.get("/admin/login")
        return await self.post("/admin/login", {"email": email, "password": password})


@dataclass
class World:
    """Seeded accounts: support, and an admin and a user in each of tenants A and B."""

    support: int
    tenant_a: int
    admin_a: int
    user_a: int
    tenant_b: int
    admin_b: int
    user_b: int


async def make_tenant(db, name: str, language: str = "en") -> int:
    async with db.transaction() as conn:
        return await tenant_store.insert_tenant(conn, name=name, street="Main St 1", zip="12345", city="Town",
                                                email=f"info@{name.lower().replace(' ', '')}.example",
                                                timezone="Europe/Berlin", now=utcnow(), language=language)


async def make_user(db, *, tenant_id: int | None, role: str, email: str, name: str | None = None,
                    password: str | None = PASSWORD, locked: bool = False) -> int:
    phc = await hash_password(password) if password else None
    async with db.transaction() as conn:
        user_id = await account_store.insert_user(conn, tenant_id=tenant_id, role=role, name=name or email.split("@")[0],
                                                  email=email, mobile="+49 171 1234567", now=utcnow(), locked=locked)
        if phc:
            await account_store.set_password_hash(conn, user_id, phc, unlock=not locked)
    return user_id


async def seed_world(db) -> World:
    support = await make_user(db, tenant_id=None, role="support", email="support@example.com", name="Sam Support")
    ta = await make_tenant(db, "Alpha Cars")
    tb = await make_tenant(db, "Beta Motors")
    return World(
        support=support, tenant_a=ta,
        admin_a=await make_user(db, tenant_id=ta, role="admin", email="admin.a@example.com", name="Alice Admin"),
        user_a=await make_user(db, tenant_id=ta, role="user", email="user.a@example.com", name="Udo User"),
        tenant_b=tb,
        admin_b=await make_user(db, tenant_id=tb, role="admin", email="admin.b@example.com", name="Bob Admin"),
        user_b=await make_user(db, tenant_id=tb, role="user", email="user.b@example.com", name="Berta User"),
    )


def database(client):
    return client.server.app[keys.DATABASE]


LOOPBACK = OutboundPolicy.from_cidrs(["127.0.0.0/8"])
"""The outbound policy of tests whose webhook targets listen on loopback."""


async def public_lookup(host: str) -> list[str]:
    """A resolver stub for made-up host names: a public address (never connected to)."""
    return ["93.184.216.34"]
