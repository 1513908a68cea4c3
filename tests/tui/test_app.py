"""Drive the console at 80x24 on both backends and read what the screen shows."""
from __future__ import annotations

import asyncpg
import pytest
from textual.widgets import DataTable, Static

from console.app import LokstraConsole
from console.config import ConsoleConfig
from console.screens.browse import BrowseScreen
from console.screens.help import HelpScreen
from console.widgets.header import ConsoleHeader
from stores import Settings, open_stores
from stores.demo import DemoSpec, copy_to_postgres
from stores.postgres.engine import init_connection
from tests.support.databases import pg_settings, truncate_all
from tests.support.tui import screen_text, until

SIZE = (80, 24)


async def _wait_for_tenants(pilot, app: LokstraConsole) -> DataTable:
    for _ in range(100):
        await pilot.pause(0.05)
        screen = app.screen
        if isinstance(screen, BrowseScreen):
            table = screen.query_one("#list", DataTable)
            if table.row_count or screen.query_one("#problem", Static).display:
                return table
    raise AssertionError("the tenants never showed")


def _header(app: LokstraConsole) -> str:
    return str(app.screen.query_one(ConsoleHeader).render())


async def test_starts_on_memory_demo_data() -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        table = await _wait_for_tenants(pilot, app)
        assert "MEMORY" in _header(app) and "demo data" in _header(app)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["acme-corp", "globex", "initech"]
        assert str(table.get_row_at(0)[4]) == "400"
        assert app.animation_level == "none"
        await pilot.press("ctrl+q")
    assert not app.is_running


async def test_number_keys_switch_screens_and_f1_helps() -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for_tenants(pilot, app)
        await pilot.press("4")
        assert app.current_mode == "monitor" and "monitor" in _header(app)
        await pilot.press("3")
        assert app.current_mode == "browse"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        help_text = " ".join(" ".join(row) for row in app.screen.keys)  # the browser has more keys than 24 rows show
        assert "app.quit" in help_text and "Reload" in help_text and "Cursor up" not in help_text
        await pilot.press("escape")
        assert isinstance(app.screen, BrowseScreen)


async def test_keymap_from_settings_rebinds_by_id() -> None:
    app = LokstraConsole(Settings(), config=ConsoleConfig(keymap={"app.quit": "ctrl+x"}))
    async with app.run_test(size=SIZE) as pilot:
        await _wait_for_tenants(pilot, app)
        await pilot.press("ctrl+q")
        assert app.is_running, "ctrl+q no longer quits once app.quit is rebound"
        await pilot.press("ctrl+x")
    assert not app.is_running


async def test_shows_postgres_data_and_never_the_dsn_password(migrated_db: str) -> None:
    stores = await open_stores(pg_settings(migrated_db))
    await truncate_all(stores)
    await stores.close()
    conn = await asyncpg.connect(migrated_db)
    await init_connection(conn)
    await copy_to_postgres(conn, DemoSpec(users=50))
    await conn.close()

    app = LokstraConsole(pg_settings(migrated_db), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        table = await _wait_for_tenants(pilot, app)
        assert "POSTGRES" in _header(app) and "postgres@127.0.0.1" in _header(app)
        assert table.row_count == 3 and str(table.get_row_at(0)[4]) == "50"
        assert "acme-corp" in screen_text(app)
        assert "demo-acme-corp-pw" not in screen_text(app), "tenant DSN passwords stay off screen"


async def test_a_refused_backend_shows_the_diagnosis_not_a_traceback() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(use_postgres=True, db_host="127.0.0.1", db_port=port, db_user="x", db_password="pw-xyz")
    app = LokstraConsole(settings, config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.health == "down":
                break
        assert app.health == "down" and "down" in _header(app)
        assert app.problem is not None and "Connection refused" in app.problem
        screen = screen_text(app)
        assert "down" in screen and "Traceback" not in screen and "pw-xyz" not in screen


async def test_a_crash_keeps_one_scrubbed_line_and_logs_no_local_variables(capsys: pytest.CaptureFixture[str],
                                                                           tmp_path) -> None:  # noqa: ANN001
    """Textual's crash output shows every frame's locals; ours must not (a local may hold a
    password typed into a form): the app keeps one scrubbed line for the terminal (cli.py
    prints it, tests/terminal/test_crash.py runs that for real) and the log file gets the
    traceback, scrubbed, without locals. Fails if Textual stops calling ``_fatal_error``."""
    from console.logs import setup_logging, teardown_logging

    log_file = tmp_path / "console.log"
    setup_logging(path=log_file)
    app = LokstraConsole(Settings(use_postgres=False, demo_data=False))
    secret = "Crash-Local-Pw-9"

    def crash() -> None:
        typed_password = secret  # noqa: F841 - a local Textual would have printed
        raise RuntimeError(f"boom with postgres://app:{secret}@db/x")

    try:
        with pytest.raises(RuntimeError):
            async with app.run_test(size=(80, 24)) as pilot:
                app.call_later(crash)
                await pilot.pause(0.2)
    finally:
        teardown_logging()
    captured = capsys.readouterr()
    assert app.stop_line is not None and app.stop_line.startswith(
        "lokstra-console stopped: RuntimeError: boom with postgres://app:****@db/x (the details are in the log: ")
    assert "\n" not in app.stop_line
    logged = log_file.read_text()
    assert "Traceback (most recent call last)" in logged and "in crash" in logged
    for text in (captured.out + captured.err, app.stop_line, logged):
        assert secret not in text and "typed_password" not in text


async def test_an_error_that_renders_itself_is_no_exception_to_the_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Textual hands an exception with ``__rich__`` to ``panic`` instead of ``_fatal_error``
    and prints what it renders: ours goes the same way as any other."""
    class Fancy(RuntimeError):
        def __rich__(self) -> str:
            return "[bold]rendered with postgres://app:Fancy-Pw-1@db/x[/bold]"

    app = LokstraConsole(Settings(use_postgres=False, demo_data=False))

    def crash() -> None:
        raise Fancy("fancy failure with postgres://app:Fancy-Pw-1@db/x")

    with pytest.raises(Fancy):
        async with app.run_test(size=(80, 24)) as pilot:
            app.call_later(crash)
            await pilot.pause(0.2)
    captured = capsys.readouterr()
    assert app.stop_line is not None and "Fancy: fancy failure with postgres://app:****@db/x" in app.stop_line
    assert "Fancy-Pw-1" not in captured.out + captured.err + app.stop_line


async def test_a_health_answer_arriving_after_the_screens_are_gone_is_ignored() -> None:
    """Under load a health check's answer (HealthChecked -> refresh_header) was processed after
    the screen stack had emptied on exit: ScreenStackError, and the console "stopped on an
    unexpected error" (tests/monitor/test_screen.py, two suites at once)."""
    app = LokstraConsole(Settings(), config=ConsoleConfig())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.stores is not None, "the stores to open")
    assert not app.screen_stack
    app.refresh_header()
    assert app.console_screen is None
