"""The Backend screen (5) at 80x24 against a real PostgreSQL: both sides, the live switch and
its cancel, the rollback drill, snapshot files, read-only mode and an unreachable server."""
from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from textual.widgets import Button, DataTable, Input, ProgressBar

from console.app import LokstraConsole
from console.config import ConsoleConfig, Profile
from console.paths import default_files_directory
from console.screens.backend import STEP_WIDTH, BackendScreen, DrillReportModal, PathModal, short
from console.screens.browse import BrowseScreen
from console.screens.confirm import ConfirmModal
from console.widgets.header import ConsoleHeader
from stores import Settings, open_stores
from stores.demo import DemoSpec, copy_to_postgres
from stores.memory.engine import MemoryEngine
from stores.postgres.engine import init_connection
from stores.transfer.copy import table_digests
from tests.support.databases import pg_settings, truncate_all
from tests.test_switch import HeldTarget
from tests.support.tui import screen_lines, screen_text, until
from tests.support.environment import isolate_settings

SIZE = (80, 24)
TENANT = "acme-corp"


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user config, no DB_* of the machine, and files (reports, snapshots) under tmp_path."""
    isolate_settings(monkeypatch, tmp_path)


def backend_screen(app: LokstraConsole) -> BackendScreen:
    return next(s for s in reversed(app.screen_stack) if isinstance(s, BackendScreen))


def status(app: LokstraConsole) -> str:
    return str(backend_screen(app).query_one("#status").render())


def header(app: LokstraConsole) -> str:
    return str(app.screen.query_one(ConsoleHeader).render())


def binding_ids(app: LokstraConsole) -> set[str]:
    return {binding.id for _, binding, enabled, _ in app.active_bindings.values() if enabled and binding.id}


async def open_backend(pilot: Any, app: LokstraConsole, *, postgres_side: bool = True) -> BackendScreen:
    """Press 5 and wait for the counts (and the PostgreSQL side's, when one is expected)."""
    await until(pilot, lambda: app.stores is not None, "the stores opening")
    await pilot.press("5")
    await until(pilot, lambda: isinstance(app.screen, BackendScreen) and app.screen.memory.counts is not None
                or (isinstance(app.screen, BackendScreen) and app.screen.active_backend == "postgres"
                    and app.screen.postgres.counts is not None), "the Backend screen's counts")
    screen = app.screen
    assert isinstance(screen, BackendScreen)
    if postgres_side:
        await until(pilot, lambda: screen.postgres.counts is not None, "the PostgreSQL side's counts")
    return screen


async def confirm(pilot: Any, app: LokstraConsole) -> ConfirmModal:
    """Say yes to the open confirmation, after checking it starts on No."""
    await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
    modal = app.screen
    assert app.focused is not None and app.focused.id == "no", "a confirmation starts on No"
    await pilot.press("right")
    assert app.focused is not None and app.focused.id == "yes"
    await pilot.press("enter")
    return modal  # type: ignore[return-value]


async def empty_postgres(dsn: str) -> None:
    stores = await open_stores(pg_settings(dsn))
    await truncate_all(stores)
    await stores.close()


async def postgres_with_demo(dsn: str) -> None:
    """Only the demo data (20 users in the first tenant) in the database."""
    await empty_postgres(dsn)
    conn = await asyncpg.connect(dsn)
    await init_connection(conn)
    await copy_to_postgres(conn, DemoSpec(users=20))
    await conn.close()


async def digests_of(dsn: str) -> dict[str, tuple[int, str]]:
    stores = await open_stores(pg_settings(dsn))
    try:
        return {name: (d.rows, d.hex) for name, d in (await table_digests(stores.engine)).items()}
    finally:
        await stores.close()


def memory_app(dsn: str | None, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> LokstraConsole:
    """The console on the memory demo data; the PostgreSQL side is DATABASE_URL=dsn."""
    if dsn is not None:
        monkeypatch.setenv("DATABASE_URL", dsn)
    return LokstraConsole(Settings(), config=ConsoleConfig(), **kwargs)


async def test_switch_memory_to_postgres_and_back(migrated_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await empty_postgres(migrated_db)
    app = memory_app(migrated_db, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app)
        demo = {name: (d.rows, d.hex) for name, d in (await table_digests(app.stores.engine)).items()}
        assert screen.postgres.counts == {name: 0 for name in demo}
        lines = screen_lines(app)
        assert "MEMORY ◀ active" in lines[1] and "POSTGRES" in lines[1]
        assert any(line.startswith("users") and "480" in line for line in lines), "memory's users counted"

        await pilot.press("s")
        modal = await confirm(pilot, app)
        assert modal.question == "Switch to PostgreSQL?", "an empty target is not a replace"
        await until(pilot, lambda: app.stores.backend == "postgres" and "Switched" in status(app), "the switch")
        assert "copy verified" in status(app)
        assert "POSTGRES" in header(app) and "MEMORY ◀" not in screen_text(app)
        assert "POSTGRES ◀ active" in screen_lines(app)[1]
        bar = screen.query_one("#bar-users", ProgressBar)
        assert bar.total == 480 and bar.progress == 480, "a progress bar per table followed the copy"
        assert await digests_of(migrated_db) == demo, "PostgreSQL holds exactly the demo data"
        assert "verified by the switch" in str(screen.query_one("#digests").render())

        conn = await asyncpg.connect(migrated_db)  # a change only PostgreSQL has
        await conn.execute("UPDATE lokstra_auth.tenants SET name = 'Acme from PostgreSQL' WHERE id = $1", TENANT)
        await conn.close()
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, BrowseScreen)
                    and app.screen.query_one("#list", DataTable).row_count == 3, "the tenants")
        await until(pilot, lambda: "Acme from PostgreSQL" in screen_text(app), "Browse reading PostgreSQL")

        await pilot.press("5")
        await until(pilot, lambda: screen.memory.counts is not None, "the kept memory side counted")
        await pilot.press("v")
        await until(pilot, lambda: "differ in tenants" in str(screen.query_one("#digests").render()),
                    "the digests of the two sides differing")

        await pilot.press("s")
        modal = await confirm(pilot, app)
        assert modal.question == "Switch to memory?"
        await until(pilot, lambda: app.stores.backend == "memory" and "Switched postgres → memory" in status(app),
                    "the switch back")
        assert "MEMORY" in header(app) and "POSTGRES" not in header(app)
        assert (await app.stores.tenants.get(TENANT)).name == "Acme from PostgreSQL"
        await pilot.press("v")
        await until(pilot, lambda: "verified equal" in str(screen.query_one("#digests").render()), "verify")
        assert app.unsaved_memory_changes()[1] == 0, "memory copied from PostgreSQL has nothing unsaved"
        assert "Traceback" not in screen_text(app)


async def test_a_non_empty_postgres_is_replaced_only_when_confirmed(migrated_db: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    await postgres_with_demo(migrated_db)
    before = await digests_of(migrated_db)
    app = memory_app(migrated_db, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app)
        assert sum(screen.postgres.counts.values()) > 0
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        assert "replace" in app.screen.question and app.focused.id == "no"
        await pilot.press("enter")  # Enter on the default answer: No
        await until(pilot, lambda: "Not switched" in status(app), "the refusal")
        assert app.stores.backend == "memory" and await digests_of(migrated_db) == before

        await pilot.press("s")
        await confirm(pilot, app)
        await until(pilot, lambda: app.stores.backend == "postgres", "the replacing switch")
        assert await digests_of(migrated_db) != before
        assert (await digests_of(migrated_db))["users"][0] == 480


async def test_escape_cancels_a_switch_and_the_backend_stays(migrated_db: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    await empty_postgres(migrated_db)
    app = memory_app(migrated_db, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app)
        held = HeldTarget(screen.spare_postgres)  # its loader waits until released
        screen.spare_postgres = held
        await pilot.press("s")
        await confirm(pilot, app)
        await until(pilot, held.entered.is_set, "the copy starting")
        assert app.stores.engine.switching and screen.busy == "switch"
        assert "backend.cancel" in binding_ids(app) and "Escape cancels" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: "Switch cancelled" in status(app), "the cancel")
        assert app.stores.backend == "memory" and not app.stores.engine.switching
        assert isinstance(app.screen, BackendScreen), "Escape cancelled, it did not leave the screen"
        assert "MEMORY" in header(app)
        assert all(rows == 0 for rows, _ in (await digests_of(migrated_db)).values()), "PostgreSQL untouched"
        await app.stores.users.set_status(TENANT, "u00000003", "suspended")  # writes work again
        assert "backend.cancel" not in binding_ids(app)


async def test_drill_from_the_screen_shows_its_report(migrated_db: str, tmp_path: Path) -> None:
    await postgres_with_demo(migrated_db)
    before = await digests_of(migrated_db)
    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app, postgres_side=False)
        assert screen.active_backend == "postgres" and "backend.drill" in binding_ids(app)
        assert "backend.export" not in binding_ids(app), "export is of the memory backend"
        await pilot.press("d")
        await confirm(pilot, app)
        # The modal fills its table in on_mount, after it is on the stack: wait for every step's row.
        await until(pilot, lambda: isinstance(app.screen, DrillReportModal) and app.screen.is_mounted
                    and app.screen.query_one("#steps", DataTable).row_count == len(app.screen.report.steps),
                    "the drill report with a row per step", timeout=60)
        report_modal = app.screen
        assert isinstance(report_modal, DrillReportModal)
        table = report_modal.query_one("#steps", DataTable)
        steps = [(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[1])) for i in range(table.row_count)]
        assert len(steps) >= 10 and all(result == "ok" for _, result in steps), steps
        text = screen_text(app)
        assert "passed" in text and "report:" in text and "Traceback" not in text
        files = list(default_files_directory().glob("lokstra-drill-*.json"))  # not the current directory
        assert len(files) == 1 and report_modal.path is not None and report_modal.path.resolve() == files[0].resolve()
        saved = json.loads(files[0].read_text())
        assert saved["ok"] is True
        assert [short(step["name"], STEP_WIDTH) for step in saved["steps"]] == [name for name, _ in steps]
        await pilot.press("escape")
        assert isinstance(app.screen, BackendScreen) and "passed" in status(app)
        assert app.stores.backend == "postgres" and "POSTGRES" in header(app)
        assert await digests_of(migrated_db) == before, "the drill left PostgreSQL as it was"
        await pilot.press("o")
        assert isinstance(app.screen, DrillReportModal), "o reopens the last report"


async def test_escape_cancels_a_drill_and_postgres_stays_active(migrated_db: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    await postgres_with_demo(migrated_db)
    before = await digests_of(migrated_db)
    entered = asyncio.Event()

    class HeldMemory(MemoryEngine):
        """The drill's memory engine: its load waits until cancelled (the drill is mid-switch)."""

        @asynccontextmanager
        async def loader(self, replace: bool = False) -> AsyncIterator[Any]:
            entered.set()
            await asyncio.Event().wait()
            yield None

    monkeypatch.setattr("stores.transfer.drill.MemoryEngine", HeldMemory)
    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app, postgres_side=False)
        await pilot.press("d")
        await confirm(pilot, app)
        await until(pilot, entered.is_set, "the drill's first switch")
        assert screen.busy == "drill" and "drill:" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: "cancelled" in status(app), "the cancelled drill")
        assert "which the drill left as it was" in status(app) and screen.busy is None
        assert app.stores.backend == "postgres" and not app.stores.engine.switching
        assert isinstance(app.screen, BackendScreen) and not list(default_files_directory().glob("lokstra-drill-*.json"))
        assert await digests_of(migrated_db) == before


async def test_production_drill_needs_the_profile_name_typed(migrated_db: str) -> None:
    await empty_postgres(migrated_db)
    config = ConsoleConfig(active_profile="prod", profiles={"prod": Profile(environment="production")})
    app = LokstraConsole(pg_settings(migrated_db), config=config, profile="prod")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app, postgres_side=False)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        modal = app.screen
        yes = modal.query_one("#yes", Button)
        assert app.focused.id == "no" and yes.disabled and "PRODUCTION" in modal.question
        await pilot.press("p", "r", "o")  # typing goes to the field, wherever the focus was
        assert modal.query_one("#typed", Input).value == "pro" and yes.disabled
        await pilot.press("enter")
        assert app.screen is modal, "Enter with the wrong name does nothing"
        await pilot.press("escape")
        await until(pilot, lambda: "did not run" in status(app), "the refusal")

        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question again")
        await pilot.press(*"prod")
        assert not app.screen.query_one("#yes", Button).disabled
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DrillReportModal), "the production drill", timeout=60)
        assert app.screen.report.ok and app.screen.report.environment == "production"
        assert screen.last_report is not None


async def test_export_and_import_of_the_memory_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = memory_app(None, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await open_backend(pilot, app, postgres_side=False)
        await app.stores.users.set_status(TENANT, "u00000007", "suspended")
        assert app.unsaved_memory_changes()[1] == 1
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, PathModal), "the path question")
        field = app.screen.query_one("#path", Input)
        assert Path(field.value).parent == default_files_directory() and field.value.endswith(".jsonl")
        field.value = str(tmp_path / "saved.jsonl")
        await pilot.press("enter")
        await until(pilot, lambda: "Exported" in status(app), "the export")
        assert (tmp_path / "saved.jsonl").stat().st_mode & 0o777 == 0o600
        assert app.unsaved_memory_changes()[1] == 0
        assert app.memory_saved_at_changes == app.stores.engine.current.changes

        await app.stores.users.set_status(TENANT, "u00000007", "active")  # then change it again
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, PathModal), "the import path question")
        app.screen.query_one("#path", Input).value = str(tmp_path / "saved.jsonl")
        await pilot.press("enter")
        await confirm(pilot, app)
        await until(pilot, lambda: "Imported" in status(app), "the import")
        assert (await app.stores.users.get(TENANT, "u00000007")).status == "suspended", "the snapshot's state is back"
        assert app.unsaved_memory_changes()[1] == 0

        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, PathModal), "the path question")
        app.screen.query_one("#path", Input).value = str(tmp_path / "saved.jsonl")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the overwrite question")
        assert app.focused.id == "no"
        before = (tmp_path / "saved.jsonl").read_bytes()
        await app.stores.users.set_status(TENANT, "u00000007", "active")
        await pilot.press("enter")  # No: the file stays as it was
        assert isinstance(app.screen, BackendScreen) and (tmp_path / "saved.jsonl").read_bytes() == before


async def test_read_only_leaves_switch_drill_and_import_out(monkeypatch: pytest.MonkeyPatch) -> None:
    app = memory_app(None, monkeypatch, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_backend(pilot, app, postgres_side=False)
        ids = binding_ids(app)
        assert {"backend.verify", "backend.export"} <= ids
        assert not ids & {"backend.switch", "backend.drill", "backend.import"}
        footer = screen_lines(app)[-1]
        assert "Switch" not in footer and "Drill" not in footer and "Import" not in footer and "Export" in footer
        await pilot.press("s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, BackendScreen) and app.stores.backend == "memory"
        screen = backend_screen(app)
        screen.action_switch()  # even called directly (palette, keymap), nothing starts
        assert screen.busy is None


async def test_an_unreachable_postgres_side_shows_its_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"postgresql://someone:pw-secret-42@127.0.0.1:{port}/lokstra")
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app, postgres_side=False)
        await until(pilot, lambda: screen.postgres.problem is not None, "the diagnosis")
        text = screen_text(app)
        assert "Connection refused" in text and "unavailable" in text
        assert "pw-secret-42" not in text and "Traceback" not in text
        await pilot.press("s")
        await until(pilot, lambda: "Not switched" in status(app), "the refused switch")
        assert app.stores.backend == "memory" and screen.busy is None
        assert "pw-secret-42" not in screen_text(app)


async def test_on_postgres_with_no_memory_kept_the_memory_side_is_empty(migrated_db: str) -> None:
    await empty_postgres(migrated_db)
    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_backend(pilot, app, postgres_side=False)
        await until(pilot, lambda: screen.postgres.counts is not None, "the active side's counts")
        assert screen.side_engines()[0] is None and "empty: none kept" in screen_text(app)
        await pilot.press("v")
        assert "no memory engine is kept" in str(screen.query_one("#digests").render())
        assert isinstance(screen.side_engines()[1], type(app.stores.engine.current))
        assert not isinstance(screen.side_engines()[1], MemoryEngine)
