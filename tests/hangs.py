"""When a test hangs, say where: pytest-timeout (pyproject: ``timeout``)
fails it, but its stack dump shows only the event loop waiting in select().
A little earlier this plugin prints every pending asyncio task with its
stack, so a CI log names the awaited call that never returned."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading

import pytest

EARLY_S = 20.0
"""How long before pytest-timeout's deadline the tasks are printed."""


def _running_loops() -> list[asyncio.AbstractEventLoop]:
    return [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]


def dump_tasks(title: str, out=None) -> None:
    out = out or sys.__stderr__
    print(f"\n{'+' * 20} {title}: pending asyncio tasks {'+' * 20}", file=out)
    for loop in _running_loops():
        for task in list(asyncio.all_tasks(loop)):
            print(f"--- {task!r}", file=out)
            task.print_stack(limit=12, file=out)
    out.flush()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    marker = item.get_closest_marker("timeout")
    try:
        seconds = float(marker.args[0] if marker and marker.args else item.config.getini("timeout") or 0)
    except ValueError:      # pytest-timeout not installed
        seconds = 0.0
    timer = None
    if seconds > EARLY_S:
        timer = threading.Timer(seconds - EARLY_S, dump_tasks, args=(f"{item.nodeid} is still running",))
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()
