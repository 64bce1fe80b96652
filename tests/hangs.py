"""When a test hangs, say where: pytest-timeout (pyproject: ``timeout``)
fails it, but its stack dump shows only the event loop waiting in select().
A little earlier this plugin notes every pending asyncio task with its
stack, and the end of the run prints those notes (also when a rerun of the
test passed, scripts/test), so a CI log names the awaited call that never
returned."""

from __future__ import annotations

import asyncio
import gc
import io
import threading

import pytest

EARLY_S = 20.0
"""How long before pytest-timeout's deadline the tasks are noted."""

_notes: list[str] = []


def _running_loops() -> list[asyncio.AbstractEventLoop]:
    return [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]


def pending_tasks() -> str:
    """Every pending task of every running event loop, with its stack."""
    out = io.StringIO()
    for loop in _running_loops():
        for task in list(asyncio.all_tasks(loop)):
            print(f"--- {task!r}", file=out)
            task.print_stack(limit=12, file=out)
    return out.getvalue()


def _note(nodeid: str) -> None:
    _notes.append(f"{nodeid} still running; pending asyncio tasks:\n{pending_tasks()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    marker = item.get_closest_marker("timeout")
    try:
        seconds = float(marker.args[0] if marker and marker.args else item.config.getini("timeout") or 0)
    except ValueError:      # pytest-timeout not installed
        seconds = 0.0
    timer = None
    if seconds > EARLY_S:
        timer = threading.Timer(seconds - EARLY_S, _note, args=(item.nodeid,))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()


def pytest_terminal_summary(terminalreporter):
    if _notes:
        terminalreporter.section("hanging tests (tests/hangs.py)")
        for note in _notes:
            terminalreporter.write_line(note)
