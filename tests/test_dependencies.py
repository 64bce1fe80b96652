"""The one-way package dependencies of docs/architecture.md, checked on the source (AST).

sfu <- signalling <- (app wiring); the relay stands alone (app.py wires
it to the SFU's addresses and to signalling's joined); routing is pure and imports neither sfu
nor signalling; services reach the rooms only through the Protocol in
services/calls/room_port.py; the edges (admin, api, clients) talk to services, never to the
store or the SFU; inside services, each subpackage imports only those below it (SERVICE_LAYERS).
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
    "admin": {"store", "sfu", "signalling", "api", "clients", "relay"},
    "api": {"store", "sfu", "signalling", "clients", "relay"},
    "clients": {"store", "sfu", "signalling", "admin", "api", "relay"},
    "signalling": {"services", "store", "admin", "api", "clients", "routing", "relay"},
    "store": {"services", "admin", "api", "routing", "sfu", "signalling"},
    "relay": {"sfu", "signalling", "admin", "services", "store", "api", "routing"},
}


SERVICE_LAYERS = [{"branding"}, {"outbox"}, {"accounts", "tenancy"}, {"calls"}]
"""services' subpackages, lowest first: one imports only from layers below its own."""


def _module_name(path: pathlib.Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: pathlib.Path) -> list[list[str]]:
    """Every vidzzle_media module ``path`` imports, as dotted parts (relative imports resolved)."""
    here = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[list[str]] = []
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
        found += [target for target in targets if target[0] == "vidzzle_media" and len(target) > 1]
    return found


def imported_packages(path: pathlib.Path) -> set[str]:
    """First-level subpackages of vidzzle_media that ``path`` imports."""
    return {target[1] for target in imported_modules(path)}


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



def test_services_subpackages_import_one_way():
    rank = {name: i for i, layer in enumerate(SERVICE_LAYERS) for name in layer}
    assert set(rank) == {p.name for p in (PACKAGE / "services").iterdir() if (p / "__init__.py").exists()}, \
        "every services subpackage has a place in SERVICE_LAYERS"
    problems = []
    for name, level in rank.items():
        for path in sorted((PACKAGE / "services" / name).rglob("*.py")):
            for target in imported_modules(path):
                if target[1:2] == ["services"] and len(target) > 2 and target[2] in rank and target[2] != name \
                        and rank[target[2]] >= level:
                    problems.append(f"{path.relative_to(PACKAGE)} imports services.{target[2]}")
    assert problems == []


LAZY_IMPORT_ALLOWED = {"services/branding/pdf_probe.py"}
"""pymupdf loads inside the limits the probe process sets first (its docstring says why)."""


def test_services_know_neither_aiohttp_nor_sqlite_and_import_at_the_top():
    problems = []
    for path in sorted((PACKAGE / "services").rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                roots = [a.name.split(".")[0] for a in node.names] if isinstance(node, ast.Import) \
                    else [(node.module or "").split(".")[0]] if not node.level else []
                problems += [f"{name} imports {root}" for root in roots if root in ("aiohttp", "aiosqlite")]
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and name not in LAZY_IMPORT_ALLOWED:
                problems += [f"{name}:{node.lineno} imports inside {function.name}()" for node in ast.walk(function)
                             if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert problems == []
