"""The one-way package dependencies of DESIGN.md, checked on the source (AST).

sfu <- signalling <- (app wiring); the relay stands alone (app.py wires
it to the SFU's addresses and to signalling's joined); routing is pure and imports neither sfu
nor signalling; services reach the rooms only through the Protocol in
services/rooms.py; admin talks to services, never to store (no SQL in views).
Lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
import pathlib

import vidzzle_media

PACKAGE = pathlib.Path(vidzzle_media.__file__).parent

RULES = {
    "sfu": {"routing", "store", "admin", "services", "signalling", "api"},
    "routing": {"sfu", "signalling", "admin", "api", "services", "store"},
    "services": {"sfu", "signalling", "admin", "api"},
    "admin": {"store", "sfu"},
    "store": {"services", "admin", "api", "routing", "sfu", "signalling"},
    "relay": {"sfu", "signalling", "admin", "services", "store", "api", "routing"},
}


def _module_name(path: pathlib.Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_packages(path: pathlib.Path) -> set[str]:
    """First-level subpackages of vidzzle_media that ``path`` imports."""
    here = _module_name(path)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = base + (node.module.split(".") if node.module else [])
                targets = [module] if node.module else [module + [a.name] for a in node.names]
            else:
                targets = [node.module.split(".")]
        else:
            continue
        for target in targets:
            if target[0] == "vidzzle_media" and len(target) > 1:
                found.add(target[1])
    return found


def test_resolver():
    assert "store" in imported_packages(PACKAGE / "services" / "calls" / "service.py")
    assert "routing" in imported_packages(PACKAGE / "services" / "calls" / "service.py")


def test_layers():
    problems = []
    for layer, forbidden in RULES.items():
        root = PACKAGE / layer
        if not root.exists():
            continue
        for path in sorted(root.rglob("*.py")):
            bad = imported_packages(path) & forbidden
            if bad:
                problems.append(f"{path.relative_to(PACKAGE)} imports {sorted(bad)}")
    assert problems == []
