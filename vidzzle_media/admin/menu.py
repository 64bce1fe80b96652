"""The hover menu of the back office.

Other areas add entries by appending a ``MenuItem`` to ``MENU`` (at import
of their page module). Paths are absolute (``/admin/...``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..values import Role

ALL_ROLES = tuple(Role)


@dataclass(frozen=True)
class MenuItem:
    """One entry of the hover menu."""

    title: str
    """Text shown in the menu (an English msgid, translated where shown)."""
    path: str
    """Absolute URL path, e.g. ``/admin/users``."""
    roles: tuple[str, ...] = ALL_ROLES
    """Roles that see the entry (pages must still check with require_user)."""
    order: int = 100
    """Sort key; lower first. Dashboard 0, users 10, tenants 80, outbox 90."""

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError("MenuItem.path must be absolute")
        unknown = set(self.roles) - set(ALL_ROLES)
        if unknown:
            raise ValueError(f"unknown roles {unknown}")


MENU: list[MenuItem] = [
    MenuItem("Dashboard", "/admin/", order=0),
    MenuItem("Users", "/admin/users", (Role.SUPPORT, Role.ADMIN), order=10),
    MenuItem("Tenants", "/admin/tenants", (Role.SUPPORT,), order=80),
    MenuItem("Outbox", "/admin/outbox", (Role.SUPPORT,), order=90),
]


def visible_menu(role: str | None) -> list[MenuItem]:
    """Entries for a role, in order (none when logged out)."""
    if role is None:
        return []
    return sorted((item for item in MENU if role in item.roles), key=lambda item: (item.order, item.title))
