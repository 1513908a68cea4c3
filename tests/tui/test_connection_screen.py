"""The Connection screen (1) at 80x24 against the real throwaway cluster: Test results (a good
server, refused, a bad password), Connect, Save profile, field checks, read-only mode, F1."""
from __future__ import annotations

import os
import socket
import stat
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg
import pytest
from pydantic import SecretStr
from textual.widgets import Checkbox, DataTable, Input, Select

from console.app import LokstraConsole
from console.config import CONFIG_ENV, ConsoleConfig, Profile
from console.screens.browse import BrowseScreen
from console.screens.connection import ConnectionScreen
from console.screens.help import HelpScreen
from console.widgets.header import ConsoleHeader
from stores import Settings, open_stores
from tests.support.databases import pg_settings, truncate_all
from tests.support.factories import tenant
from tests.support.server import PgServer
from tests.support.tui import notifications, screen_lines, screen_text
from tests.support.tui import until

SIZE = (80, 24)
TYPED_SECRET = "Wrongpw7731xq"  # letters and digits: typed key by key
PASSWORD_ROLE = "lokstra_screen_pw"


# ----- helpers -------------------------------------------------------------------------------

async def open_connection(pilot, app: LokstraConsole) -> ConnectionScreen:
    await pilot.press("1")
    await until(pilot, lambda: isinstance(app.screen, ConnectionScreen), "the Connection screen")
    screen = app.screen
    assert isinstance(screen, ConnectionScreen)
    return screen


def panel(app: LokstraConsole) -> str:
    """The right-hand column (result and note) as one line of words: wrapping does not matter."""
    parts = [line.split("▏", 1)[1] for line in screen_lines(app)[1:-1] if "▏" in line]
    return " ".join(" ".join(parts).split())


def header(app: LokstraConsole) -> str:
    return str(app.screen.query_one(ConsoleHeader).render())


def fill(screen: ConnectionScreen, **values: str) -> None:
    """Set fields by id (underscores for dashes); sslmode and environment are selects."""
    for name, value in values.items():
        field_id = name.replace("_", "-")
        if field_id in ("sslmode", "environment"):
            screen.query_one(f"#{field_id}", Select).value = value
        else:
            screen.query_one(f"#{field_id}", Input).value = value


def fill_dsn(screen: ConnectionScreen, dsn: str, **extra: str) -> None:
    parts = urlsplit(dsn)
    fill(screen, host=parts.hostname or "127.0.0.1", port=str(parts.port or 5432),
         user=unquote(parts.username or "postgres"), password=unquote(parts.password or ""),
         database=parts.path.lstrip("/"), **extra)


async def whole_panel(pilot, app: LokstraConsole) -> str:
    """The panel as shown, then scrolled to its end with the keyboard (a long result scrolls)."""
    top = panel(app)
    app.screen.query_one("#result-scroll").focus()
    await pilot.press("end")
    await pilot.pause(0.05)
    return f"{top} {panel(app)}"


async def run_test_key(pilot, screen: ConnectionScreen) -> None:
    screen.last_result = None
    screen.query_one("#host", Input).focus()
    await pilot.press("enter")
    await until(pilot, lambda: screen.last_result is not None, "the test result")
    await pilot.pause(0.05)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----- Test ----------------------------------------------------------------------------------

async def test_a_good_server_shows_version_ssl_role_and_schema_state(migrated_db: str) -> None:
    conn = await asyncpg.connect(migrated_db)
    version = (await conn.fetchval("SHOW server_version")).split(" ")[0]
    await conn.close()
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        assert app.focused is screen.query_one("#host", Input), "the form starts on Host"
        fill_dsn(screen, migrated_db)
        await run_test_key(pilot, screen)
        text = panel(app)
        assert f"PostgreSQL {version}" in text
        assert "SSL not in use" in text and "(superuser)" in text
        assert "lokstra_auth: current at version 003" in text
        assert "RTT" in text and " ms" in text
        assert "Traceback" not in screen_text(app)
        assert "plain reconnect: no data moves" in text and "Backend screen, 5" in text


async def test_an_unmigrated_database_says_to_migrate(fresh_db: str) -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        fill_dsn(screen, fresh_db)
        await run_test_key(pilot, screen)
        text = await whole_panel(pilot, app)
        assert "lokstra_auth absent: not initialised" in text
        assert "has not been migrated" in text and "migrate up" in text and "Migrations screen (2)" in text
        assert "CREATE EXTENSION pg_stat_statements" in text


async def test_a_refused_port_shows_the_diagnosis_and_fix_on_test_and_on_connect() -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        fill(screen, host="127.0.0.1", port=str(closed_port()), user="nobody", database="nowhere",
             password=TYPED_SECRET)
        await run_test_key(pilot, screen)
        text = panel(app)
        assert "✖ Cannot use nobody@127.0.0.1" in text
        assert "Connection refused" in text and "Start PostgreSQL" in text
        screen_now = screen_text(app)
        assert "Traceback" not in screen_now and TYPED_SECRET not in screen_now

        screen.query_one("#connect").focus()
        await pilot.press("enter")  # the Connect button
        await until(pilot, lambda: "stays on its previous backend" in panel(app), "the failed connect on the panel")
        assert "Cannot use nobody@127.0.0.1" in panel(app) and "Connection refused" in panel(app)
        assert app.health == "ok" and "MEMORY" in header(app), "a failed connect leaves the console where it was"
        assert app.stores is not None and app.stores.backend == "memory"
        assert TYPED_SECRET not in screen_text(app) and TYPED_SECRET not in notifications(app)


async def test_a_bad_password_is_diagnosed_and_never_shown(pg_server: PgServer) -> None:
    cluster = pg_server.cluster
    if cluster is None:
        pytest.skip("needs the throwaway cluster to require a password for one role")
    pg_server.execute(f"DO $$ BEGIN CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD 'the-right-one'; "
                      "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    before = (cluster.datadir / "pg_hba.conf").read_text()
    cluster.set_hba("local all all trust\n"
                    f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
                    "host all all 127.0.0.1/32 trust\n")
    try:
        app = LokstraConsole(Settings(), config=ConsoleConfig())
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_connection(pilot, app)
            fill(screen, host=cluster.host, port=str(cluster.port), user=PASSWORD_ROLE, database="postgres",
                 password="")
            screen.query_one("#password", Input).focus()
            await pilot.press(*TYPED_SECRET)
            assert screen.query_one("#password", Input).value == TYPED_SECRET
            await pilot.press("enter")  # Enter in any connection field tests
            await until(pilot, lambda: screen.last_result is not None, "the test result")
            await pilot.pause(0.05)
            text = panel(app)
            assert "Password authentication failed" in text and "DB_PASSWORD" in text
            shown = screen_text(app)
            assert TYPED_SECRET not in shown and TYPED_SECRET not in notifications(app)
            assert "•" * len(TYPED_SECRET) in shown, "the password field shows bullets"
            assert TYPED_SECRET not in repr(screen.last_result)
    finally:
        cluster.set_hba(before)


# ----- Connect -------------------------------------------------------------------------------

async def test_connect_switches_the_console_and_browse_shows_that_database(migrated_db: str) -> None:
    stores = await open_stores(pg_settings(migrated_db))
    await truncate_all(stores)
    await stores.tenants.create(tenant("connect-screen-co"))
    await stores.close()
    database = urlsplit(migrated_db).path.lstrip("/")

    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        assert "MEMORY" in header(app)
        fill_dsn(screen, migrated_db, environment="staging")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.health == "ok" and "POSTGRES" in header(app), "the reconnect")
        assert f"@127.0.0.1/{database}" in header(app) and "STAGING" in header(app)
        await until(pilot, lambda: "The console now uses" in panel(app), "the connected message")
        await pilot.press("escape", "3")  # leave the form, then the number keys switch screens
        await until(pilot, lambda: isinstance(app.screen, BrowseScreen)
                    and app.screen.query_one("#list", DataTable).row_count > 0, "the tenants")
        table = app.screen.query_one("#list", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["connect-screen-co"]


# ----- Save profile --------------------------------------------------------------------------

async def test_save_profile_writes_0600_and_the_password_only_when_ticked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "console" / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    ConsoleConfig(profiles={"old": Profile(host="old.example", password=SecretStr("old-saved-pw"))}).save(
        keep_passwords=frozenset({"old"}))
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    assert "old" in app.config.profiles
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        fill(screen, host="db.internal", port="6543", user="ops", database="lokstra", password=TYPED_SECRET,
             pool_min="2", pool_max="8", environment="production")
        screen.query_one("#profile-name", Input).value = "prod"
        screen.query_one("#profile-name", Input).focus()
        await pilot.press("enter")  # Enter in the name saves
        await until(pilot, lambda: path.exists() and "prod" in path.read_text(), "the saved file")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        saved = tomllib.loads(path.read_text())
        assert saved["profiles"]["prod"]["host"] == "db.internal" and saved["profiles"]["prod"]["port"] == 6543
        assert saved["profiles"]["prod"]["environment"] == "production"
        assert saved["profiles"]["prod"]["pool_max_size"] == 8 and saved["profiles"]["prod"]["read_only"] is False
        assert "password" not in saved["profiles"]["prod"] and TYPED_SECRET not in path.read_text()
        assert saved["profiles"]["old"]["password"] == "old-saved-pw", "other profiles keep their saved password"
        assert app.config.profiles["prod"].password is None

        checkbox = screen.query_one("#save-password", Checkbox)
        assert checkbox.value is False and "Save password: no" in screen_text(app)
        checkbox.focus()
        await pilot.press("space")
        assert checkbox.value is True and "Save password: yes" in screen_text(app)
        screen.query_one("#profile-name", Input).value = "prod-pw"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "prod-pw" in path.read_text(), "the second profile")
        saved = tomllib.loads(path.read_text())
        assert saved["profiles"]["prod-pw"]["password"] == TYPED_SECRET
        assert "password" not in saved["profiles"]["prod"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert TYPED_SECRET not in screen_text(app) and TYPED_SECRET not in notifications(app)
        assert "saved with the password" in notifications(app) and "saved without the password" in notifications(app)


async def test_read_only_marks_the_profile_read_only_and_still_saves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    app = LokstraConsole(Settings(read_only=True), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        assert screen.query_one("#read-only", Checkbox).value is True
        assert "Read-only: yes" in screen_text(app)
        ids = {b.id for _, b, enabled, _ in app.active_bindings.values() if enabled}
        assert {"connection.test", "connection.connect", "connection.save"} <= ids
        screen.query_one("#profile-name", Input).value = "audit"
        await pilot.press("ctrl+s")
        await until(pilot, path.exists, "the saved file")
        assert tomllib.loads(path.read_text())["profiles"]["audit"]["read_only"] is True


async def test_save_needs_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.setenv(CONFIG_ENV, str(path))
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        await pilot.press("ctrl+s")
        await pilot.pause(0.05)
        assert "a name to save under" in screen_text(app) and not path.exists()
        assert app.focused is screen.query_one("#profile-name", Input)
        await pilot.press(*"bad name")
        assert "letters, digits" in screen_text(app)


# ----- field checks, help, the prefill -------------------------------------------------------

async def test_fields_are_checked_as_typed_with_the_message_next_to_the_field() -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        await pilot.press("tab")  # to Port: its value is selected, typing replaces it
        assert app.focused is screen.query_one("#port", Input)
        await pilot.press(*"70000")
        lines = screen_lines(app)
        port_row = next(i for i, line in enumerate(lines) if line.startswith("Port"))
        assert "a port from 1 to 65535" in lines[port_row + 1], "the message sits under the field"
        fill(screen, pool_min="5", pool_max="2", connect_timeout="0")
        await pilot.pause(0.05)
        assert "at least pool min (5)" in screen_text(app)
        lines = screen_lines(app)
        connect_row = next(i for i, line in enumerate(lines) if line.startswith("Connect s"))
        assert "seconds: above 0, ≤ 3600" in lines[connect_row + 1]
        screen.query_one("#host", Input).focus()
        await pilot.press("enter")
        await pilot.pause(0.05)
        assert "Fix the marked fields first" in panel(app) and screen.last_result is None
        assert app.focused is screen.query_one("#port", Input), "the first bad field takes the focus"
        fill(screen, port="5432", pool_min="1", pool_max="4", connect_timeout="2.5")
        await pilot.pause(0.05)
        shown = screen_text(app)
        assert not any(message in shown for message in ("a port from", "at least pool min", "above 0"))
        fill(screen, command_timeout="1e9")
        await pilot.pause(0.05)
        assert "seconds: above 0, ≤ 3600" in screen_text(app)


async def test_prefill_f1_and_no_password_on_screen() -> None:
    settings = Settings(use_postgres=False, db_host="db.example", db_port=6000, db_user="ops",
                        db_name="lokstra", db_password=SecretStr("prefilled-Secret9"), db_ssl_mode="require")
    app = LokstraConsole(settings, config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_connection(pilot, app)
        values = {i: screen.query_one(f"#{i}", Input).value for i in ("host", "port", "user", "database")}
        assert values == {"host": "db.example", "port": "6000", "user": "ops", "database": "lokstra"}
        assert screen.query_one("#sslmode", Select).value == "require"
        assert screen.query_one("#password", Input).password is True
        assert "prefilled-Secret9" not in screen_text(app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "Save password" in screen_text(app) and "plain reconnect" in screen_text(app)
        await pilot.press("end")
        await pilot.pause(0.05)
        help_text = screen_text(app)
        assert all(f"connection.{name}" in help_text for name in ("test", "connect", "save"))
        await pilot.press("escape")
        assert isinstance(app.screen, ConnectionScreen)
