"""What the TUI fuzzer (tests/reliability/test_tui_fuzz.py) found, each as a plain test on
both backends. Each failed before its fix."""
from __future__ import annotations

from typing import Any

from console.app import LokstraConsole
from console.config import ConsoleConfig
from stores import Settings
from tests.browse.conftest import crumbs, settled, table
from tests.support import factories as f
from tests.support.tui import until

SIZE = (80, 24)


async def _started_with_an_app_without_branches(pilot: Any, app: LokstraConsole) -> None:
    await until(pilot, lambda: app.stores is not None, "the stores")
    await app.stores.tenants.create(f.tenant("acme"))
    await app.stores.apps.create(f.app("acme", "web"))
    await pilot.press("r")
    await until(pilot, lambda: table(app).row_count == 1, "the tenant")
    await pilot.press("enter")
    await settled(pilot, app, "tenants ▸ acme ▸ apps")
    await pilot.press("enter")
    await settled(pilot, app, "tenants ▸ acme ▸ apps ▸ web ▸ branches")
    assert table(app).row_count == 0


async def test_up_in_an_empty_list_does_nothing(empty_settings: Settings) -> None:
    """Found: Up in an empty list moved Textual's cursor to row -1, which announced a
    highlighted row without a key, and the browser's handler ended the console
    (AttributeError: 'NoneType' object has no attribute 'value')."""
    app = LokstraConsole(empty_settings, config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        await _started_with_an_app_without_branches(pilot, app)
        await pilot.press("up", "up", "down", "enter", "i", "up")
        await pilot.pause()
        assert app.is_running and app._exception is None
        assert crumbs(app) == "tenants ▸ acme ▸ apps ▸ web ▸ branches" and table(app).cursor_row >= 0
        await pilot.press("tab")  # and the app goes on: the next list shows
        await settled(pilot, app, "tenants ▸ acme ▸ apps ▸ web ▸ keys")
