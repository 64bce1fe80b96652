"""Is this install reachable and complete? ``vidzzle-media doctor`` and the
support page "Checks" run the same checks (doctor/checks.py), each against
the real counterpart: the server's own public address, the certificate a
browser sees, the TURN, SMTP and SMS servers, the clock and the disk.

Each check gives one Finding: pass, warn or fail, what was found and, when
not passed, what to do. ``doctor`` exits non-zero when any check fails, so a
monitoring system can run it.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from ..config import Settings
from ..i18n import gettext


class Status(enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.value.upper():4}  {self.check}: {self.detail}"
        return f"{text} {self.fix}" if self.fix else text


CHECK_TIMEOUT_S = 10.0
"""One check may take this long; a counterpart that does not answer is a finding, not a hang."""


async def run_checks(settings: Settings, db=None) -> list[Finding]:
    """Every check that applies to this configuration, in a fixed order."""
    from . import checks


    async def one(check) -> list[Finding]:
        try:
            return await asyncio.wait_for(check(settings, db), CHECK_TIMEOUT_S * 2)
        except asyncio.TimeoutError:
            return [Finding(check.__name__, Status.FAIL,
                            gettext("no answer within %(s)s s", s=int(CHECK_TIMEOUT_S * 2)))]

    results = await asyncio.gather(*(one(check) for check in checks.ALL))   # at once: the slowest sets the time
    return [finding for found in results for finding in found]


def failed(findings: list[Finding]) -> bool:
    return any(f.status is Status.FAIL for f in findings)
