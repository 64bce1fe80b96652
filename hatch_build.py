"""Build hook: compile the gettext catalogs (.po -> .mo) into the package.

Runs for wheels and editable installs, so ``pip install .`` ships compiled
catalogs; the .mo files are build output and stay out of git.
"""

from __future__ import annotations

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogs(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        for po in sorted((root / "vidzzle_media" / "locale").glob("*/LC_MESSAGES/messages.po")):
            language = po.parent.parent.name
            with po.open("rb") as f:
                catalog = read_po(f, locale=language)
            mo = po.with_suffix(".mo")
            with mo.open("wb") as f:
                write_mo(f, catalog)
            build_data.setdefault("force_include", {})[str(mo)] = str(mo.relative_to(root))
