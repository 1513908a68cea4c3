"""Layout snapshots of the Monitor screen at 80x24 and 120x40 (pytest-textual-snapshot).

On the memory demo data, after a fixed set of store calls timed by a clock that advances
2**-12 s (0.244 ms) per reading, so every figure is the same on every machine. After an intended layout
change: `python3 -m pytest tests/monitor/test_snapshots.py --snapshot-update`, then look at
the SVGs in tests/monitor/__snapshots__/ before committing them.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from console.app import LokstraConsole
from console.config import ConsoleConfig
from stores import Settings
from stores import timing
from stores.errors import NotFound
from tests.support.environment import isolate_settings

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture
def deterministic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_settings(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    ticks = itertools.count()
    monkeypatch.setattr(timing, "CLOCK", lambda: next(ticks) / 4096)  # exact in binary: equal means tie


async def browse_a_little(app: LokstraConsole) -> None:
    """A known set of store calls (what the browse screen did is forgotten first)."""
    stores = app.stores
    assert stores is not None
    stores.timings.reset()
    page = await stores.tenants.page(limit=10)
    for tenant in page.rows:
        await stores.tenants.get(tenant.id)
        users = await stores.users.page(tenant.id, limit=20)
        for user in users.rows[:5]:
            await stores.users.get(tenant.id, user.id)
    try:
        await stores.users.get(page.rows[0].id, "no-such-user")
    except NotFound:
        pass


async def wait_for_sample(pilot, count: int) -> None:  # noqa: ANN001
    for _ in range(200):
        if getattr(pilot.app.screen, "samples_taken", 0) >= count:
            return
        await pilot.pause(0.05)


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_monitor_layout_on_memory(snap_compare, deterministic: None, size: str) -> None:
    async def settle(pilot) -> None:  # noqa: ANN001 - textual's Pilot
        app = pilot.app
        for _ in range(200):
            if app.stores is not None:
                break
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        app.switch_mode("monitor")  # not the key: what the browse screen does with keys is its own
        await wait_for_sample(pilot, 1)
        await app.workers.wait_for_complete()
        await browse_a_little(app)
        await pilot.press("r")
        await wait_for_sample(pilot, 2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)

    app = LokstraConsole(Settings(), config=ConsoleConfig())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=settle)
