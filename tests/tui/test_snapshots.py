"""Layout snapshots of every screen at 80x24 and 120x40 (pytest-textual-snapshot).

On the memory demo data with no configured PostgreSQL, so what the screens show is the
same on every machine. After an intended layout change: `python3 -m pytest
tests/tui/test_snapshots.py --snapshot-update`, then look at the SVGs in
tests/tui/__snapshots__/ before committing them.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from textual.widgets import DataTable

from console.app import LokstraConsole
from console.config import ConsoleConfig
from stores import Settings
from tests.support.environment import isolate_settings

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}
SCREEN_KEYS = {"connection": "1", "migrations": "2", "browse": "3", "monitor": "4", "backend": "5"}


@pytest.fixture
def plain_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_settings(monkeypatch, tmp_path)
    monkeypatch.setenv("USER", "operator")  # the connection form's default user
    monkeypatch.chdir(tmp_path)
    ticks = itertools.count()  # store timings (shown by the monitor): 2**-12 s per reading, exact in binary
    monkeypatch.setattr("stores.timing.CLOCK", lambda: next(ticks) / 4096)


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("screen", SCREEN_KEYS, ids=list(SCREEN_KEYS))
def test_screen_layout(snap_compare, plain_environment: None, screen: str, size: str) -> None:
    async def settle(pilot) -> None:  # noqa: ANN001 - textual's Pilot
        app = pilot.app
        for _ in range(100):  # the tenants are loaded in a worker
            tables = app.screen.query(DataTable)
            if tables and tables.first().row_count:
                break
            await pilot.pause(0.05)
        await pilot.press(SCREEN_KEYS[screen])
        if screen == "connection":
            await pilot.press("escape")  # the form starts focused; leave it so the cursor does not blink
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)

    app = LokstraConsole(Settings(), config=ConsoleConfig())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=settle)
