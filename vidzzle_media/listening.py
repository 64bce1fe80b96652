"""Where this process actually serves, for everything that prints or sends
a link to it.

``server.port`` may be 0 (a free port, chosen when the socket is bound), and
``create-support`` runs as another process that cannot ask the server. So
the server records its own origin in the data folder while it runs
(``listening.json``) and removes it when it stops.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "listening.json"


@dataclass
class Listening:
    scheme: str
    host: str
    port: int
    """``server.port`` until the socket is bound, then the bound port."""

    @property
    def origin(self) -> str:
        """The origin a browser on this machine reaches: a wildcard listen address is shown as localhost."""
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    def save(self, data_dir: Path) -> None:
        path = data_dir / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        os.replace(tmp, path)

    @staticmethod
    def remove(data_dir: Path) -> None:
        (data_dir / FILE_NAME).unlink(missing_ok=True)


def running_origin(data_dir: Path) -> str:
    """The origin of the server running on ``data_dir``; "" when none runs (or it predates this file)."""
    try:
        data = json.loads((data_dir / FILE_NAME).read_text())
        return Listening(str(data["scheme"]), str(data["host"]), int(data["port"])).origin
    except (OSError, ValueError, KeyError, TypeError):
        return ""
