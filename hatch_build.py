"""Build hook: compile the gettext catalogs (.po -> .mo) and the compiled
forwarding core (``vidzzle_media/sfu/_fastpath.c``) into the package.

Runs for wheels and editable installs, so ``pip install .`` and ``pip
install -e .`` ship both; the .mo and .so files are build output and stay
out of git. Without a C compiler the core is skipped with a warning and the
server runs the Python reference core (``media_core`` in the settings).
"""

from __future__ import annotations

import shlex
import subprocess
import sysconfig
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

FASTPATH = Path("vidzzle_media") / "sfu" / "_fastpath.c"


def build_fastpath(root: Path) -> Path | None:
    """Compile the C core next to its source; its path, None when it cannot be built."""
    source = root / FASTPATH
    target = source.with_name("_fastpath" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    command = [*cc, "-O2", "-g0", "-shared", "-fPIC", "-Wall", "-Werror=implicit-function-declaration",
               f"-I{sysconfig.get_paths()['include']}", "-o", str(target), str(source)]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        print(f"WARNING: the compiled media core was not built ({detail.strip()[:2000]}); "
              "the server will use the Python reference core")
        return None
    return target


class BuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        include = build_data.setdefault("force_include", {})
        for po in sorted((root / "vidzzle_media" / "locale").glob("*/LC_MESSAGES/messages.po")):
            language = po.parent.parent.name
            with po.open("rb") as f:
                catalog = read_po(f, locale=language)
            mo = po.with_suffix(".mo")
            with mo.open("wb") as f:
                write_mo(f, catalog)
            include[str(mo)] = str(mo.relative_to(root))
        built = build_fastpath(root)
        if built is not None:
            include[str(built)] = str(built.relative_to(root))
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
