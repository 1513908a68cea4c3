"""The Migrations screen (2) at 80x24 against a real PostgreSQL: status, apply, the lock,
refusals, failures, read-only mode and the memory backend."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg
import pytest
from pydantic import SecretStr
from textual.widgets import Button, DataTable

from console.app import LokstraConsole
from console.config import ConsoleConfig, Profile
from console.screens.confirm import ConfirmModal
from console.screens.migrations import MigrationsScreen, RunModal
from migrations import MigrationRunner, Overall
from migrations.lock import lock_key
from stores import Settings
from tests.support.databases import pg_settings
from tests.support.migrations_helpers import copy_migrations, fetch, schema_exists, write_migration
from tests.support.tui import screen_lines, screen_text, until

SIZE = (80, 24)
APP_TABLES = {"tenants", "apps", "branches", "users", "user_apps", "app_keys"}


def summary(app: LokstraConsole) -> str:
    """The schema line of the Migrations screen, while it is the screen (or the one under a modal)."""
    screens = [s for s in app.screen_stack if isinstance(s, MigrationsScreen)]
    return str(screens[-1].query_one("#summary").render()) if screens else ""


async def open_migrations(pilot, app: LokstraConsole, expected: str) -> MigrationsScreen:
    await pilot.press("2")
    await until(pilot, lambda: isinstance(app.screen, MigrationsScreen) and expected in summary(app),
                f"a summary with {expected!r}")
    return app.screen  # type: ignore[return-value]


def states(screen: MigrationsScreen) -> list[tuple[str, str]]:
    table = screen.query_one("#migrations", DataTable)
    return [(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[2])) for i in range(table.row_count)]


def binding_ids(app: LokstraConsole) -> set[str]:
    return {binding.id for _, binding, enabled, _ in app.active_bindings.values() if enabled and binding.id}


def footer(app: LokstraConsole) -> str:
    return screen_lines(app)[-1]


async def confirm_yes(pilot, app: LokstraConsole) -> None:
    """Answer the open confirmation with its Yes button (it starts on No)."""
    await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
    assert app.focused is not None and app.focused.id == "no", "a confirmation starts on No"
    await pilot.press("right")
    assert app.focused is not None and app.focused.id == "yes"
    await pilot.press("enter")


async def run_finished(pilot, app: LokstraConsole) -> RunModal:
    await until(pilot, lambda: isinstance(app.screen, RunModal) and app.screen.phase == "done", "the end of the run")
    return app.screen  # type: ignore[return-value]


async def run_confirmed(pilot, app: LokstraConsole, key: str = "a") -> RunModal:
    """Press ``key`` (a: apply, d: dry run), say Yes, and wait for the run to end."""
    await pilot.press(key)
    await confirm_yes(pilot, app)
    return await run_finished(pilot, app)


async def db_status(dsn: str, source: Path | None = None):
    return await MigrationRunner.from_dsn(dsn, source=source).status()


async def lokstra_auth_tables(dsn: str) -> set[str]:
    rows = await fetch(dsn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'lokstra_auth'")
    return {row["table_name"] for row in rows}


# ----- PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
async def test_a_fresh_database_is_not_initialised_and_is_applied_from_the_screen(fresh_db: str) -> None:
    app = LokstraConsole(pg_settings(fresh_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "not initialised: 3 pending")
        assert states(screen) == [("001", "pending"), ("002", "pending"), ("003", "pending")]
        text = screen_text(app)
        assert "lokstra_auth_schema" in text and "keyset_indexes" in text and "Apply pending" in footer(app)

        # Enter on the confirmation as it opens answers No: nothing happens.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert "Apply 3 pending migration(s)?" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen, "the screen back")
        assert not await schema_exists(fresh_db, "lokstra_console")

        # A dry run applies and rolls back; y answers Yes, as in every other confirmation (issue 16 item 12).
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the dry run's confirmation")
        await pilot.press("y")
        modal = await run_finished(pilot, app)
        assert "Dry run: everything was rolled back." in screen_text(app) and modal.end.ok
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen, "the screen back")
        assert "last run: dry run: 3 migration(s) would apply (001, 002, 003)" in screen_text(app)
        assert not await schema_exists(fresh_db, "lokstra_console") and not await lokstra_auth_tables(fresh_db)

        modal = await run_confirmed(pilot, app)
        text = screen_text(app)
        assert "[1/3] apply 001_lokstra_auth_schema  ok" in text
        assert "[2/3] apply 002_keyset_indexes  ok" in text
        assert "Applied 3 migration(s)." in text and "Schema: current at version 003" in text
        assert modal.end.ok
        await pilot.press("enter")  # Close has the focus
        await until(pilot, lambda: app.screen is screen and "current at version 003" in summary(app), "the new status")
        assert states(screen) == [("001", "applied"), ("002", "applied"), ("003", "applied")]
        assert "last run: applied 3 migration(s) (001, 002, 003)" in screen_text(app)
        assert "Traceback" not in screen_text(app)
        await until(pilot, lambda: app.stores is not None and app.health == "ok", "the console to open the migrated database")

    assert (await db_status(fresh_db)).overall is Overall.CURRENT
    assert await lokstra_auth_tables(fresh_db) == APP_TABLES


@pytest.mark.postgres
async def test_a_migrated_database_is_current_and_there_is_nothing_to_apply(migrated_db: str) -> None:
    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "current at version 003")
        assert states(screen) == [("001", "applied"), ("002", "applied"), ("003", "applied")]
        assert {"migrations.apply", "migrations.dry_run", "migrations.refresh"} <= binding_ids(app)
        assert "Apply pending" in footer(app)
        assert [title for title, _, _ in screen.palette_commands()] == [
            "Migrations: Refresh", "Migrations: Apply pending", "Migrations: Dry run"]
        # Every line fits 80 columns and the checksum column is on screen.
        assert all(len(line.rstrip()) <= 80 for line in screen_lines(app))
        checksum = (await db_status(migrated_db)).migrations[0].short_checksum
        assert checksum and checksum in screen_text(app)
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.screen is screen, "no confirmation when there is nothing to apply"
        await pilot.press("r")
        await until(pilot, lambda: "current at version 003" in summary(app), "the reload")


@pytest.mark.postgres
async def test_a_held_lock_names_its_holder_give_up_changes_nothing_and_wait_goes_on(fresh_db: str) -> None:
    holder = await asyncpg.connect(fresh_db, server_settings={"application_name": "someone-else"})
    try:
        database = await holder.fetchval("SELECT current_database()")
        assert await holder.fetchval("SELECT pg_try_advisory_lock($1)", lock_key(database))
        pid = holder.get_server_pid()
        app = LokstraConsole(pg_settings(fresh_db), config=ConsoleConfig())
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_migrations(pilot, app, "not initialised")
            await pilot.press("a")
            await confirm_yes(pilot, app)
            await until(pilot, lambda: isinstance(app.screen, RunModal) and app.screen.phase == "lock", "the lock question")
            text = screen_text(app)
            assert f"pid {pid} (someone-else" in text and "connected since" in text
            assert "Wait" in text and "Give up" in text
            assert app.focused is not None and app.focused.id == "give-up"
            await pilot.press("enter")
            modal = await run_finished(pilot, app)
            assert "Gave up waiting for the lock" in screen_text(app) and "Nothing was applied" in screen_text(app)
            assert not modal.end.ok
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is screen and "not initialised" in summary(app), "the screen back")
            assert f"gave up waiting for the migration lock held by pid {pid}" in screen_text(app)

            # The given-up runner closed its connection: no session of it is left waiting.
            async def runner_sessions() -> int:
                rows = await fetch(fresh_db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                             "'lokstra-console migrate' AND datname = current_database()")
                return rows[0][0]

            for _ in range(40):
                if await runner_sessions() == 0:
                    break
                await pilot.pause(0.05)
            assert await runner_sessions() == 0
            assert not await schema_exists(fresh_db, "lokstra_console")
            assert (await db_status(fresh_db)).overall is Overall.NOT_INITIALISED

            # Wait, then the holder lets go: the run goes ahead.
            await pilot.press("a")
            await confirm_yes(pilot, app)
            await until(pilot, lambda: isinstance(app.screen, RunModal) and app.screen.phase == "lock", "the lock question")
            await pilot.press("left", "enter")  # Wait
            await until(pilot, lambda: "Waiting …" in screen_text(app), "the waiting line")
            await holder.execute("SELECT pg_advisory_unlock_all()")
            modal = await run_finished(pilot, app)
            assert modal.end.ok and "Applied 3 migration(s)." in screen_text(app)
    finally:
        await holder.close()
    assert (await db_status(fresh_db)).overall is Overall.CURRENT


@pytest.mark.postgres
async def test_a_changed_file_is_refused_then_accepted_after_a_second_confirmation(
        fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = copy_migrations(tmp_path / "sql")
    await MigrationRunner.from_dsn(fresh_db, source=source).up()
    first = next(source.glob("001_*.up.sql"))
    first.write_text(first.read_text() + "\n-- edited after it was applied\n")
    monkeypatch.setattr(MigrationsScreen, "SOURCE", source)

    app = LokstraConsole(pg_settings(fresh_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "drift: 1 changed (001)")
        assert states(screen)[0] == ("001", "changed")
        modal = await run_confirmed(pilot, app)
        text = screen_text(app)
        assert "Refused:" in text and "001_lokstra_auth_schema changed since it was applied" in text
        assert modal.query_one("#accept", Button).display
        await pilot.press("right", "enter")  # Accept and apply…
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the second confirmation")
        assert "recorded in the history" in screen_text(app)
        await confirm_yes(pilot, app)
        modal = await run_finished(pilot, app)
        assert "accepted the drift of 001" in screen_text(app) and modal.end.ok
        await pilot.press("enter")
        await until(pilot, lambda: "current at version 003" in summary(app), "the status after the accept")
    assert (await db_status(fresh_db, source)).overall is Overall.CURRENT


@pytest.mark.postgres
async def test_a_failing_migration_shows_the_database_message_and_line(
        fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = copy_migrations(tmp_path / "sql", versions=(1,))
    write_migration(source, 2, "broken", "SELECT 1;\nSELECT * FROM no_such_table;\n", "SELECT 1;")
    monkeypatch.setattr(MigrationsScreen, "SOURCE", source)

    app = LokstraConsole(pg_settings(fresh_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "not initialised: 2 pending")
        modal = await run_confirmed(pilot, app)
        text = screen_text(app)
        assert "[2/2] apply 002_broken  FAILED" in text
        assert 'relation "no_such_table" does not exist' in text and "line 2 of 002_broken.up.sql" in text
        assert not modal.end.ok and "Traceback" not in text
        await pilot.press("enter")
        await until(pilot, lambda: "failed" in summary(app), "the failed status")
        assert states(screen) == [("001", "applied"), ("002", "failed")]
        screen.query_one("#migrations", DataTable).move_cursor(row=1)
        await pilot.pause(0.05)
        assert "no_such_table" in str(screen.query_one("#detail").render())
    assert (await db_status(fresh_db, source)).overall is Overall.FAILED


@pytest.mark.postgres
async def test_read_only_mode_has_no_apply_anywhere(migrated_db: str) -> None:
    app = LokstraConsole(pg_settings(migrated_db, read_only=True), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "current at version 003")
        ids = binding_ids(app)
        assert "migrations.refresh" in ids
        assert not ids & {"migrations.apply", "migrations.dry_run"}
        assert not any(binding.action in ("apply", "dry_run") for _, binding, _, _ in app.active_bindings.values())
        assert "Refresh" in footer(app) and "Apply" not in footer(app) and "Dry run" not in footer(app)
        assert [title for title, _, _ in screen.palette_commands()] == ["Migrations: Refresh"]
        await pilot.press("a", "d")
        await pilot.pause(0.1)
        assert app.screen is screen
        await pilot.press("f1")
        assert "migrations.refresh" in screen_text(app) and "migrations.apply" not in screen_text(app)


# ----- the memory backend ----------------------------------------------------------------------

@pytest.fixture
def no_pg_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No DB_* / DATABASE_URL / .env / config file: nothing points at PostgreSQL."""
    for name in ("USE_POSTGRES", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOKSTRA_CONSOLE_CONFIG", str(tmp_path / "none.toml"))


async def test_memory_backend_explains_and_says_how_to_configure_a_target(no_pg_environment: None) -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "no PostgreSQL target")
        text = screen_text(app)
        assert "Migrations concern PostgreSQL" in text and "in-memory backend" in text
        assert "USE_POSTGRES=true" in text and "Connection screen (1)" in text
        assert "Apply" not in footer(app) and "Refresh" in footer(app)
        assert not screen.query_one("#migrations", DataTable).display
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.screen is screen


@pytest.mark.postgres
async def test_memory_backend_shows_the_configured_profiles_state(no_pg_environment: None, migrated_db: str) -> None:
    parts = urlsplit(migrated_db)
    profile = Profile(host=parts.hostname or "localhost", port=parts.port or 5432, user=unquote(parts.username or ""),
                      database=parts.path.lstrip("/"),
                      password=SecretStr(unquote(parts.password)) if parts.password else None)
    app = LokstraConsole(Settings(), config=ConsoleConfig(profiles={"local": profile}, active_profile="local"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_migrations(pilot, app, "current at version 003")
        text = screen_text(app)
        assert "Migrations concern PostgreSQL" in text and "profile local" in text and profile.display() in text
        assert states(screen) == [("001", "applied"), ("002", "applied"), ("003", "applied")]
        assert "Apply" not in footer(app)
        assert not {"migrations.apply", "migrations.dry_run"} & binding_ids(app)
        if parts.password:
            assert unquote(parts.password) not in text
