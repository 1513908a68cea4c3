"""Read-only mode: on every screen, no action that writes is bound (so none is in the
footer, F1 or the palette), and the database itself refuses a write."""
from __future__ import annotations

import pytest

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.backend import BACKEND_ACTIONS
from console.screens.migrations import MIGRATION_ACTIONS
from stores.errors import ReadOnly
from tests.support.databases import pg_settings
from tests.support.factories import tenant
from tests.support.tui import screen_text, until

WRITE_IDS = {spec.id for spec in (*BACKEND_ACTIONS, *MIGRATION_ACTIONS) if spec.writes}


def bound_ids(app: LokstraConsole) -> set[str]:
    return {binding.id for _, binding, enabled, _ in app.active_bindings.values() if binding.id}


async def test_no_screen_binds_a_writing_action_and_the_database_refuses_writes(migrated_db: str) -> None:
    assert WRITE_IDS >= {"backend.switch", "backend.drill", "backend.import", "migrations.apply", "migrations.dry_run"}
    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig(), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None, "the stores to open")
        assert "READ-ONLY" in screen_text(app)
        for key in "12345":
            await pilot.press(key)
            if key == "1":
                await pilot.press("escape")
            await pilot.pause(0.2)
            assert not (bound_ids(app) & WRITE_IDS), f"screen {key} binds {bound_ids(app) & WRITE_IDS}"
        with pytest.raises(ReadOnly):
            await app.stores.tenants.create(tenant("ro"))


async def test_the_same_screens_do_bind_them_when_writable(migrated_db: str) -> None:
    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None, "the stores to open")
        seen: set[str] = set()
        for key in "25":
            await pilot.press(key)
            await pilot.pause(0.3)
            seen |= bound_ids(app)
        assert {"migrations.apply", "backend.switch", "backend.drill"} <= seen


async def test_a_writing_key_in_read_only_mode_says_why_it_does_nothing() -> None:
    """Issue 16 item 12: ``n`` on Browse in read-only mode was ignored silently."""
    from console.screens.browse import BrowseScreen
    from stores import Settings

    app = LokstraConsole(Settings(), config=ConsoleConfig(), read_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.stores is not None and isinstance(app.screen, BrowseScreen)
                    and app.screen.page_kind == "tenants", "the tenant list")
        for key in ("n", "e", "D"):
            await pilot.press(key)
            await until(pilot, lambda: any("read-only" in n.message and f"({key})" in n.message
                                           for n in app._notifications), f"{key} to name read-only mode")
        assert isinstance(app.screen, BrowseScreen), "no dialog opened"
        await pilot.press("slash", "n")
        assert app.screen.query_one("#prompt").value == "n", "in the filter prompt n is a letter"
