"""Quitting on the memory backend with changes no snapshot holds asks first (80x24)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.paths import default_files_directory
from console.screens.browse import BrowseScreen
from console.screens.quit import QuitModal
from stores import Settings, Stores
from stores.memory.engine import MemoryEngine
from stores.transfer.copy import table_digests
from stores.transfer.snapshot_file import export_memory, import_memory
from stores.transfer.switch import open_postgres_target
from tests.support.databases import pg_settings, truncate_all
from tests.support.tui import screen_text, until

SIZE = (80, 24)
TENANT = "acme-corp"


@pytest.fixture(autouse=True)
def _here(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.chdir(tmp_path)


async def started(pilot: Any, app: LokstraConsole) -> None:
    for _ in range(200):
        if app.stores is not None and isinstance(app.screen, BrowseScreen):
            return
        await pilot.pause(0.05)
    raise AssertionError("the console never opened its stores")


async def digests(engine: Any) -> dict[str, tuple[int, str]]:
    return {name: (d.rows, d.hex) for name, d in (await table_digests(engine)).items()}


def memory_app() -> LokstraConsole:
    return LokstraConsole(Settings(), config=ConsoleConfig())


async def change_and_quit(pilot: Any, app: LokstraConsole) -> QuitModal:
    """Once the console is open: change a user on memory, press ctrl+q, and return the question."""
    await started(pilot, app)
    await app.stores.users.set_status(TENANT, "u00000007", "suspended")
    await pilot.press("ctrl+q")
    await until(pilot, lambda: isinstance(app.screen, QuitModal), "the question")
    return app.screen  # type: ignore[return-value]


async def test_without_changes_quit_is_immediate() -> None:
    app = memory_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await pilot.press("ctrl+q")
    assert not app.is_running


async def test_a_change_asks_first_and_cancel_keeps_the_console(tmp_path: Path) -> None:
    app = memory_app()
    async with app.run_test(size=SIZE) as pilot:
        await change_and_quit(pilot, app)
        assert app.focused is not None and app.focused.id == "cancel", "focus starts on Cancel"
        text = screen_text(app)
        assert "1 change" in text and "Export and quit" in text and "Quit anyway" in text
        path = app.screen.query_one("#path", Input).value
        assert Path(path).parent == default_files_directory()  # not the current directory (issue 16 item 19)
        assert Path(path).name.startswith("lokstra-memory-") and path.endswith(".jsonl")
        await pilot.press("ctrl+q")  # quitting again while asked does not slip past the question
        assert app.is_running and isinstance(app.screen, QuitModal)
        await pilot.press("enter")  # Cancel
        assert app.is_running and isinstance(app.screen, BrowseScreen)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: isinstance(app.screen, QuitModal), "the question again")
        await pilot.press("escape")
        assert app.is_running and isinstance(app.screen, BrowseScreen)
    assert not list(tmp_path.glob("lokstra-memory-*"))


async def test_export_writes_the_snapshot_and_quits(tmp_path: Path) -> None:
    app = memory_app()
    async with app.run_test(size=SIZE) as pilot:
        await change_and_quit(pilot, app)
        engine = app.stores.engine.current
        app.screen.query_one("#path", Input).value = str(tmp_path / "nowhere" / "x.jsonl")
        await pilot.press("left", "left")
        assert app.focused.id == "export"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query_one("#problem", Static).display
                    and "Not exported" in str(app.screen.query_one("#problem", Static).render()), "the failure")
        assert app.is_running and isinstance(app.screen, QuitModal) and "Traceback" not in screen_text(app)
        app.screen.query_one("#path", Input).value = str(tmp_path / "saved.jsonl")
        app.screen.query_one("#path", Input).focus()
        await pilot.press("enter")  # Enter in the field exports too
        await until(pilot, lambda: not app.is_running, "the quit after the export")
    saved = tmp_path / "saved.jsonl"
    assert saved.exists() and saved.stat().st_mode & 0o777 == 0o600
    restored = MemoryEngine()
    await import_memory(restored, saved)
    assert await digests(restored) == await digests(engine), "the file holds the data as it was"


async def test_quit_anyway_loses_the_changes_without_a_file(tmp_path: Path) -> None:
    app = memory_app()
    async with app.run_test(size=SIZE) as pilot:
        await change_and_quit(pilot, app)
        await pilot.press("left")
        assert app.focused.id == "quit"
        await pilot.press("enter")
        await until(pilot, lambda: not app.is_running, "the quit")
    assert not list(tmp_path.glob("*.jsonl"))


async def test_after_an_export_nothing_is_unsaved(tmp_path: Path) -> None:
    app = memory_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await app.stores.users.set_status(TENANT, "u00000007", "suspended")
        assert app.unsaved_memory_changes()[1] == 1
        transfer = await export_memory(app.stores.engine.current, tmp_path / "s.jsonl")
        app.mark_memory_saved(app.stores.engine.current, transfer.changes)
        await pilot.press("ctrl+q")
    assert not app.is_running


async def test_on_postgres_quit_does_not_ask(migrated_db: str) -> None:
    target = await open_postgres_target(pg_settings(migrated_db))
    await truncate_all(Stores(target))
    app = memory_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, app)
        await app.stores.users.set_status(TENANT, "u00000007", "suspended")
        report = await app.stores.engine.switch_to(target)  # the changes are in PostgreSQL now
        assert report.ok and app.unsaved_memory_changes() == (None, 0)
        await pilot.press("ctrl+q")
    assert not app.is_running
